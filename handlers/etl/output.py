"""ETL step 4, output: de-duplicate across partitions, publish (manifest last), close the ledger item — in memory
bounded by one partition (or one key window), whatever the file size.

Input :class:`~handlers.etl.contract.OutputInput`, output :class:`~handlers.etl.contract.OutputOutput`.
Every planned partition must have a ``result.json`` in staging (else ``IncompleteRun`` and nothing is
published). Then:

1. the partitions' key indexes are merged one hash window at a time (:mod:`handlers.etl.dedupe`): rows
   identical to an earlier row are dropped, rows whose key repeats an earlier row with different values are
   quarantined (``part-NNNNN.duplicates.csv``);
2. ``rows.csv`` is streamed to S3 as a multipart upload, partition after partition, from the parts the
   transform step rendered (a partition that lost rows in step 1 is transformed again from its validated rows
   and re-rendered);
3. the partial aggregates are merged exactly into ``aggregates.csv``, the ``report.xlsx`` and the dataset's own
   report files (``Dataset.reports``); then ``summary.json`` and, last, ``manifest.json`` (all write-once).

Status ``COMPLETED``, or ``COMPLETED_WITH_REJECTS`` when any row was quarantined. Every row of the file is
counted once: ``rows == published + rejected + duplicates``.

Example
-------
>>> publish({"run": run}, settings=settings, s3=s3, ledger=ledger)["status"]  # doctest: +SKIP
'COMPLETED_WITH_REJECTS'
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from handlers.etl.contract import Counts, OutputInput, OutputOutput, PartitionResult, Run
from handlers.etl.csvout import header_line, render
from handlers.etl.datasets import Dataset, load_dataset
from handlers.etl.dedupe import ENTRY, HEADER_BYTES, Duplicates, entry_range, plan_windows, window_duplicates
from handlers.etl.errors import IncompleteRun
from handlers.etl.heap import single_arena, trim
from handlers.etl.ledger import COMPLETED, COMPLETED_WITH_REJECTS, RunLedger, utc_now
from handlers.etl.report import extra_outputs, workbook_bytes
from handlers.etl.schema import REASON, ROW
from handlers.etl.settings import EtlSettings, part_name, published_prefix
from handlers.etl.staging import put, read_object, read_range, read_staged, s3_client
from handlers.etl.transform import transform_frame
from handlers.runtime.artifacts import ArtifactStore
from handlers.runtime.log import get_logger
from handlers.runtime.objects import get_object_or_none

WINDOW_PARTITIONS = 4
"""A key window holds at most this many partitions' worth of index entries (24 bytes a row)."""
_READERS = 8


def load_results(s3: Any, settings: EtlSettings, run: Run) -> list[PartitionResult]:
    """Read every partition's ``result.json``; raise :class:`IncompleteRun` naming any missing partition."""
    results, missing = [], []
    for index in range(int(run.get("partition_count", 0))):
        key = settings.staging_key(run["run_id"], part_name(index, "result.json"))
        found = get_object_or_none(s3, settings.processed_bucket, key)  # S3 may say 403 for a missing key
        if found is None:
            missing.append(index)
        else:
            results.append(json.loads(found["Body"].read()))
    if missing:
        raise IncompleteRun(f"s3://{run['bucket']}/{run['key']}: partition(s) "
                            f"{', '.join(map(str, missing[:10]))} of {run.get('partition_count')} have no result; "
                            "nothing was published")
    return results


def cross_duplicates(s3: Any, bucket: str, results: Sequence[PartitionResult], window_rows: int) -> Duplicates:
    """Duplicates across (and within) partitions from their key indexes, one hash window at a time."""
    single_arena()  # the readers share one arena, trimmed after each window (:mod:`handlers.etl.heap`)
    with ThreadPoolExecutor(_READERS) as pool:
        headers = list(pool.map(lambda r: read_range(s3, bucket, r["keys_key"], 0, HEADER_BYTES), results))
        offsets = np.stack([np.frombuffer(h, dtype="<u8").astype("int64") for h in headers]) if headers else \
            np.zeros((0, 2), dtype="int64")
        found = []
        for lo, hi in plan_windows(offsets, window_rows) if len(results) else []:
            def fetch(p: int, lo: int = lo, hi: int = hi) -> bytes:
                start, end = entry_range(int(offsets[p, lo]), int(offsets[p, hi]))
                return read_range(s3, bucket, results[p]["keys_key"], start, end)

            slices = [s for s in pool.map(fetch, range(len(results))) if s]
            if sum(len(s) for s in slices) > ENTRY.itemsize:
                found.append(window_duplicates(np.concatenate([np.frombuffer(s, dtype=ENTRY) for s in slices])))
            del slices
            trim()  # the readers' arenas keep the window's buffers otherwise (:mod:`handlers.etl.heap`)
    return Duplicates.concat(found)


class _Partitions:
    """Walks the partitions in row order: yields their ``rows.csv`` bytes, keeps partials, counts and
    quarantines conflicts; a partition hit by a cross-partition duplicate is rebuilt from its typed rows."""

    def __init__(self, s3: Any, settings: EtlSettings, dataset: Dataset, run: Run,
                 results: Sequence[PartitionResult], found: Duplicates) -> None:
        self.s3, self.settings, self.dataset, self.run, self.results = s3, settings, dataset, run, results
        starts = np.array([r["first_row"] for r in results], dtype="int64")
        self.drop_at = np.searchsorted(starts, found.dropped, side="right") - 1
        self.conflict_at = np.searchsorted(starts, found.conflicts, side="right") - 1
        self.found = found
        self.partials: list[pd.DataFrame] = []
        self.rejects_keys = [r["rejects_key"] for r in results if r["rejects_key"]]
        self.published = 0

    def chunks(self) -> Iterator[bytes]:
        yield header_line(self.dataset.output_columns)
        bucket = self.settings.processed_bucket
        for n, result in enumerate(self.results):
            trim()  # the previous partition's bytes are gone: give them back (:mod:`handlers.etl.heap`)
            drop = self.found.dropped[self.drop_at == n]
            hit = self.conflict_at == n
            if not len(drop) and not hit.any():
                self.partials.append(read_staged(read_object(self.s3, bucket, result["partial_key"])))
                self.published += result["published"]
                yield read_object(self.s3, bucket, result["rows_key"])
                continue
            yield self._rebuild(result, drop, self.found.conflicts[hit], self.found.first[hit])

    def _rebuild(self, result: PartitionResult, drop: np.ndarray, conflicts: np.ndarray,
                 first: np.ndarray) -> bytes:
        valid = read_staged(read_object(self.s3, self.settings.processed_bucket, result["valid_key"]))
        frame, _ = transform_frame(valid, self.dataset)  # the same rows the transform step rendered
        rows = frame[ROW].to_numpy()
        clash = np.isin(rows, conflicts)
        schema = self.dataset.schema
        if clash.any():
            rejects = frame.loc[clash, [*schema.names, ROW]].reset_index(drop=True)
            first_of = dict(zip(conflicts.tolist(), first.tolist(), strict=True))
            rejects[REASON] = [f"{', '.join(schema.unique)}: duplicate of row {first_of[r]} with different values"
                               for r in rejects[ROW].tolist()]
            key = self.settings.rejects_key(self.run["run_id"], part_name(result["index"], "duplicates.csv"))
            self.rejects_keys.append(put(self.s3, self.settings.quarantine_bucket, key, render(rejects, header=True),
                                         "text/csv"))
        kept = frame.loc[~(clash | np.isin(rows, drop))]
        self.partials.append(self.dataset.aggregate.partial(kept))
        self.published += len(kept)
        return render(kept, columns=self.dataset.output_columns)


def publish(event: OutputInput, *, settings: EtlSettings, s3: Any = None, ledger: RunLedger | None = None,
            dataset: Dataset | None = None) -> OutputOutput:
    """Publish one run's processed objects and mark the ledger item completed.

    Example
    -------
    >>> publish({"run": run}, settings=settings, s3=s3)["manifest_key"]  # doctest: +SKIP
    'sensor-etl/published/sensor_readings/a/<run>/manifest.json'
    """
    s3 = s3_client(s3)
    ledger = ledger or RunLedger(settings.ledger_table)
    dataset = dataset or load_dataset(settings.dataset)
    run = event["run"]
    rid = run["run_id"]
    results = load_results(s3, settings, run)
    found = cross_duplicates(s3, settings.processed_bucket, results, WINDOW_PARTITIONS * settings.partition_rows)
    walk = _Partitions(s3, settings, dataset, run, results, found)
    store = ArtifactStore(settings.processed_bucket, published_prefix(settings.pipeline), client=s3)
    folder = settings.published_folder(run["key"], rid)
    rows_ref = store.put_stream(store.key(folder, "rows.csv"), walk.chunks(), content_type="text/csv",
                                metadata={"run-id": rid}, name="rows.csv")
    aggregates = dataset.aggregate.finish(dataset.aggregate.merge(walk.partials))
    counts: Counts = {"rows": sum(int(r["rows"]) for r in results), "published": walk.published,
                      "rejected": sum(int(r["rejected"]) for r in results) + len(found.conflicts),
                      "duplicates": sum(int(r["duplicates"]) for r in results) + len(found.dropped)}
    if counts["published"] + counts["rejected"] + counts["duplicates"] != counts["rows"]:
        raise IncompleteRun(f"s3://{run['bucket']}/{run['key']}: {counts} do not add up; nothing was published")
    status = COMPLETED_WITH_REJECTS if counts["rejected"] else COMPLETED
    source = {"bucket": run["bucket"], "key": run["key"], "version_id": run.get("version_id"),
              "object_id": run["object_id"]}
    groups = int(aggregates[dataset.group_column].nunique()) if len(aggregates) else 0
    summary = {"dataset": dataset.name, "run_id": rid, "status": status, "source": source, "counts": counts,
               "partitions": len(results), "rejects": walk.rejects_keys, "groups": groups}
    headline = {"dataset": dataset.name, "source": f"s3://{run['bucket']}/{run['key']}", "status": status, **counts,
                "partitions": len(results)}
    report = workbook_bytes(headline, aggregates, group_column=dataset.group_column)
    extra = extra_outputs(dataset.reports, aggregates, headline)  # the dataset's own report files
    refs, manifest_key = store.write_set(
        folder, {**extra, "aggregates.csv": render(aggregates, header=True), "summary.json": summary,
                 "report.xlsx": report},
        metadata={"run-id": rid}, written=[rows_ref],
        manifest_extra={"run_id": rid, "status": status, "counts": counts, "source": source})
    output_keys = [ref.key for ref in refs] + [manifest_key]
    ledger.update(run["object_id"], status, {**{f"rows_{k}": v for k, v in counts.items()},
                                            "output_keys": output_keys, "manifest_key": manifest_key,
                                            "rejects_keys": walk.rejects_keys, "finished_at": utc_now()})
    get_logger().info("published", extra={"run_id": rid, "status": status, **counts})
    return {"status": status, "manifest_key": manifest_key, "counts": counts}


def handler(event: OutputInput, context: Any) -> OutputOutput:
    """Lambda entry point (``handlers.etl.output.handler``)."""
    return publish(event, settings=EtlSettings.from_env())
