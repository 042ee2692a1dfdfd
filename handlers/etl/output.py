"""ETL step 4, output: assemble the partition results and publish, manifest last; close the ledger item.

Input :class:`~handlers.etl.contract.OutputInput`, output :class:`~handlers.etl.contract.OutputOutput`.
Every planned partition must have a ``result.json`` in staging (else
``IncompleteRun`` and nothing is published). The step applies the uniqueness key across partitions
(exact duplicates dropped, conflicting rows quarantined to ``duplicates.csv``), computes the dataset's
aggregates on the whole file, and publishes ``rows.csv``, ``aggregates.csv``, ``summary.json``,
``report.xlsx`` and then ``manifest.json`` (write-once). Status: ``COMPLETED`` or
``COMPLETED_WITH_REJECTS`` when any row was quarantined.

Example
-------
>>> publish({"run": run}, settings=settings, s3=s3, ledger=ledger)["status"]  # doctest: +SKIP
'COMPLETED_WITH_REJECTS'
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from handlers.etl.contract import Counts, OutputInput, OutputOutput, PartitionResult, Run
from handlers.etl.datasets import Dataset, load_dataset
from handlers.etl.errors import IncompleteRun
from handlers.etl.ledger import COMPLETED, COMPLETED_WITH_REJECTS, RunLedger, utc_now
from handlers.etl.report import workbook_bytes
from handlers.etl.schema import resolve_duplicates
from handlers.etl.settings import EtlSettings, part_name, published_prefix
from handlers.etl.staging import put, read_object, read_staged, s3_client
from handlers.runtime.artifacts import ArtifactStore
from handlers.runtime.log import get_logger


def iso_utc(values: pd.Series) -> np.ndarray:
    """Format UTC timestamps as ISO 8601 with ``Z`` (seconds, or microseconds when needed), vectorized.

    Example
    -------
    >>> iso_utc(pd.Series(pd.to_datetime(["2026-03-01T10:00:00Z"]))).tolist()
    ['2026-03-01T10:00:00Z']
    """
    raw = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    whole = (raw.astype("int64") % 1_000_000_000 == 0).all()
    text = np.datetime_as_string(raw, unit="s" if whole else "us")
    return np.char.add(text.astype(str), "Z").astype(object)


def load_results(s3: Any, settings: EtlSettings, run: Run) -> list[PartitionResult]:
    """Read every partition's ``result.json``; raise :class:`IncompleteRun` naming any missing partition."""
    results, missing = [], []
    for index in range(int(run["partition_count"])):
        key = settings.staging_key(run["run_id"], part_name(index, "result.json"))
        try:
            results.append(json.loads(read_object(s3, settings.processed_bucket, key)))
        except s3.exceptions.NoSuchKey:
            missing.append(index)
    if missing:
        raise IncompleteRun(f"s3://{run['bucket']}/{run['key']}: partition(s) "
                            f"{', '.join(map(str, missing[:10]))} of {run['partition_count']} have no result; "
                            "nothing was published")
    return results


def assemble(frames: list[pd.DataFrame], dataset: Dataset) -> tuple[pd.DataFrame, pd.DataFrame, int, pd.DataFrame]:
    """Concatenate partitions (in row order), resolve duplicates across them, aggregate.

    Returns ``(rows, conflicts, exact_duplicates_dropped, aggregates)``; the same rows in one partition or
    many give the same result.

    Example
    -------
    >>> rows, conflicts, dropped, aggregates = assemble([frame], load_dataset("sensor_readings"))  # doctest: +SKIP
    """
    frame = pd.concat(frames, ignore_index=True) if len(frames) != 1 else frames[0]
    rows, conflicts, dropped = resolve_duplicates(frame, dataset.schema)
    return rows, conflicts, dropped, dataset.aggregate(rows)


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
    frames = [read_staged(read_object(s3, settings.processed_bucket, r["transformed_key"]))
              for r in results]
    rows, conflicts, dropped, aggregates = assemble(frames, dataset)
    rejects_keys = [r["rejects_key"] for r in results if r.get("rejects_key")]
    if len(conflicts):
        out = conflicts.copy()
        for column in dataset.schema.columns:
            if column.dtype == "datetime":
                out[column.name] = iso_utc(out[column.name])
        rejects_keys.append(put(s3, settings.quarantine_bucket, settings.rejects_key(rid, "duplicates.csv"),
                                out.to_csv(index=False, lineterminator="\n").encode(), "text/csv"))
    counts: Counts = {"rows": sum(int(r["rows"]) for r in results), "published": len(rows),
              "rejected": sum(int(r["rejected"]) for r in results) + len(conflicts),
              "duplicates": sum(int(r["duplicates"]) for r in results) + dropped}
    status = COMPLETED_WITH_REJECTS if counts["rejected"] else COMPLETED
    published = rows[list(dataset.output_columns)].copy()
    for column in dataset.schema.columns:
        if column.dtype == "datetime":
            published[column.name] = iso_utc(published[column.name])
    source = {"bucket": run["bucket"], "key": run["key"], "version_id": run.get("version_id"),
              "object_id": run["object_id"]}
    summary = {"dataset": dataset.name, "run_id": rid, "status": status, "source": source, "counts": counts,
               "partitions": len(results), "rejects": rejects_keys, "groups": int(aggregates[dataset.group_column]
                                                                              .nunique()) if len(aggregates) else 0}
    report = workbook_bytes({"dataset": dataset.name, "source": f"s3://{run['bucket']}/{run['key']}",
                             "status": status, **counts, "partitions": len(results)},
                            aggregates, group_column=dataset.group_column)
    store = ArtifactStore(settings.processed_bucket, published_prefix(settings.pipeline), client=s3)
    refs, manifest_key = store.write_set(
        settings.published_folder(run["key"], rid),
        {"rows.csv": published, "aggregates.csv": aggregates, "summary.json": summary, "report.xlsx": report},
        metadata={"run-id": rid}, manifest_extra={"run_id": rid, "status": status, "counts": counts,
                                                   "source": source})
    output_keys = [ref.key for ref in refs] + [manifest_key]
    ledger.update(run["object_id"], status, {**{f"rows_{k}": v for k, v in counts.items()},
                                            "output_keys": output_keys, "manifest_key": manifest_key,
                                            "rejects_keys": rejects_keys, "finished_at": utc_now()})
    get_logger().info("published", extra={"run_id": rid, "status": status, **counts})
    return {"status": status, "manifest_key": manifest_key, "counts": counts}


def handler(event: OutputInput, context: Any) -> OutputOutput:
    """Lambda entry point (``handlers.etl.output.handler``)."""
    return publish(event, settings=EtlSettings.from_env())
