"""ETL step 1, ingest: register the run (once per object version) and plan partitions.

Input :class:`~handlers.etl.contract.IngestInput`, output :class:`~handlers.etl.contract.IngestOutput`.

The ledger claim is a conditional put keyed by ``s3://bucket/key#version`` (the ETag when the bucket is not
versioned). A second event for the same version returns ``{"duplicate": true}`` and the state machine ends
without work. Otherwise the object is streamed once to plan byte-range partitions; with more partitions than
the Distributed Map threshold, the partition list goes to S3 (``ItemReader``) instead of the state payload.
A gzip object (``.gz`` or gzip magic) is decompressed as a stream and its partitions are staged
(:mod:`handlers.etl.gzipped`). A plan whose biggest partition would not fit in the workers' memory fails
here, before any work (``PARTITION_TOO_LARGE``, naming ``partitionRows`` and ``memoryMb``).

Example
-------
>>> ingest(event, settings=settings, s3=s3, ledger=ledger)["run"]["partition_count"]  # doctest: +SKIP
4
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from handlers.etl.contract import BATCH_SCHEDULE, IngestOutput, Items, PartitionSpec, Run
from handlers.etl.errors import FileRejected
from handlers.etl.formats import JSON_ARRAY, Plan, plan_partitions
from handlers.etl.gzipped import MAGIC as GZIP_MAGIC
from handlers.etl.gzipped import gunzip, is_gzip, split
from handlers.etl.ledger import RUNNING, RunLedger
from handlers.etl.settings import EtlSettings, object_id, run_id
from handlers.etl.staging import put, s3_client
from handlers.runtime.errors import EventError
from handlers.runtime.log import get_logger
from handlers.runtime.objects import get_object_or_none
from handlers.runtime.outputs import SOURCE_METADATA

CHUNK_BYTES = 8 << 20
BASE_MB = 256
"""What a partition worker needs before any data: the interpreter, numpy, pandas, boto3 (measured ~180 MB)."""
BYTES_FACTOR = 16
"""Peak memory of a partition worker per byte of its partition (measured 9-13x by ``bench.etl``)."""
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


def check_memory(plan: Plan, memory_mb: int | None, *, partition_rows: int, source: str) -> None:
    """Refuse a plan whose biggest partition would not fit in the partition workers' memory.

    Example
    -------
    >>> from handlers.etl.formats import Partition
    >>> plan = Plan("csv", partitions=[Partition(0, 10, 200 << 20, 1, 5)])
    >>> try:
    ...     check_memory(plan, 1024, partition_rows=5, source="s3://b/k.csv")
    ... except FileRejected as err:
    ...     print(err.code, err.message[-75:])
    PARTITION_TOO_LARGE at most 48 MiB per partition: lower partitionRows (now 5) or raise memoryMb
    """
    if not memory_mb or not plan.partitions:
        return
    biggest = max(plan.partitions, key=lambda p: p.end - p.start)
    size_mib = (biggest.end - biggest.start) / 2**20
    fits_mib = max(memory_mb - BASE_MB, 0) / BYTES_FACTOR
    if size_mib > fits_mib:
        hint = " (a JSON array is one partition: send JSON Lines instead)" if plan.format == JSON_ARRAY else ""
        raise FileRejected("PARTITION_TOO_LARGE", f"{source}: partition {biggest.index} (rows {biggest.first_row}.."
                           f"{biggest.first_row + biggest.rows - 1}) is {size_mib:.0f} MiB; a {memory_mb} MB function "
                           f"holds at most {fits_mib:.0f} MiB per partition: lower partitionRows (now "
                           f"{partition_rows}) or raise memoryMb{hint}")


def parse_detail(event: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
    """``(bucket, key, version_id, version)`` from the event; ``version`` falls back to the ETag.

    Example
    -------
    >>> parse_detail({"detail": {"bucket": {"name": "b"}, "object": {"key": "k", "etag": "e"}}})
    ('b', 'k', None, 'e')
    """
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("detail", "is required (an S3 Object Created event detail)")
    bucket = (detail.get("bucket") or {}).get("name")
    obj = detail.get("object") or {}
    key = obj.get("key")
    if not bucket:
        raise EventError("detail.bucket.name", "is required")
    if not key:
        raise EventError("detail.object.key", "is required")
    version_id = obj.get("version-id") or None
    version = version_id or obj.get("etag") or obj.get("sequencer")
    if not version:
        raise EventError("detail.object.version-id", "is required (or etag) to identify the object version")
    return bucket, key, version_id, version


def run_source(detail: Mapping[str, Any], metadata: Mapping[str, str]) -> tuple[str, str | None]:
    """Where a run's input came from, for the ledger: ``(source, note)``.

    ``schedule:<name>`` when a batch run started it (``detail["sciflow-schedule"]``, set by the batch state
    machine), ``computation:<name>`` when the object's ``sciflow-source`` metadata says so (written by
    :func:`handlers.runtime.outputs.write_output`), else ``upload``. Anything else is not trusted: ``upload`` with
    a note naming the ignored value.

    Example
    -------
    >>> run_source({}, {"sciflow-source": "computation:region-fetcher"})
    ('computation:region-fetcher', None)
    >>> run_source({"sciflow-schedule": "sensor-etl-batch"}, {})
    ('schedule:sensor-etl-batch', None)
    >>> run_source({}, {"sciflow-source": "=HYPERLINK(0)"})
    ('upload', 'ignored sciflow-source metadata "=HYPERLINK(0)" (expected computation:<name>)')
    """
    schedule = detail.get(BATCH_SCHEDULE)
    if schedule is not None:
        if isinstance(schedule, str) and _SOURCE_NAME.match(schedule):
            return f"schedule:{schedule}", None
        return "upload", f"ignored batch schedule name {str(schedule)[:80]!r}"
    claimed = metadata.get(SOURCE_METADATA)
    if claimed is None:
        return "upload", None
    kind, _, name = claimed.partition(":")
    if kind == "computation" and _SOURCE_NAME.match(name):
        return claimed, None
    return "upload", f"ignored {SOURCE_METADATA} metadata {json.dumps(claimed[:80])} (expected computation:<name>)"


def object_version(head: Mapping[str, Any], detail_version: str | None) -> tuple[str | None, str]:
    """``(version_id, version)`` of the object read: the event's version id, else the one S3 returned (a batch
    item has none), else the ETag without quotes (unversioned bucket), so every trigger of one object version
    claims the same ledger item.

    Example
    -------
    >>> object_version({"VersionId": "v2", "ETag": '"e"'}, None)
    ('v2', 'v2')
    >>> object_version({"VersionId": "null", "ETag": '"e"'}, None)
    (None, 'e')
    """
    version_id = detail_version or head.get("VersionId")
    if version_id == "null":
        version_id = None
    return version_id, version_id or str(head.get("ETag") or "").strip('"')


def ingest(event: Mapping[str, Any], *, settings: EtlSettings, s3: Any = None,
           ledger: RunLedger | None = None) -> IngestOutput:
    """Claim the object version in the ledger and plan its partitions.

    Returns
    -------
    IngestOutput
        only keys and byte ranges, never data.

    Example
    -------
    >>> ingest({"detail": {...}, "execution_id": "arn:..."}, settings=settings)  # doctest: +SKIP
    """
    s3 = s3_client(s3)
    ledger = ledger or RunLedger(settings.ledger_table)
    bucket, key, event_version_id, _ = parse_detail(event)
    detail = event.get("detail") or {}
    source = f"s3://{bucket}/{key}"
    version_args = {"VersionId": event_version_id} if event_version_id else {}
    head = get_object_or_none(s3, bucket, key, Range=f"bytes=0-{len(GZIP_MAGIC) - 1}", **version_args)
    if head is None:  # deleted after the event (S3 says 403 or 404; see handlers.runtime.objects)
        raise FileRejected("SOURCE_MISSING", f"{source}{f' version {event_version_id}' if event_version_id else ''} "
                                             "no longer exists (deleted after the event); nothing to process")
    version_id, version = object_version(head, event_version_id)
    oid = object_id(bucket, key, version)
    rid = run_id(oid)
    execution = str(event.get("execution_id") or "")
    origin, note = run_source(detail, head.get("Metadata") or {})
    run: Run = {"object_id": oid, "run_id": rid, "bucket": bucket, "key": key, "version_id": version_id,
                "dataset": settings.dataset}
    existing = ledger.claim(oid, {"run_id": rid, "execution_id": execution, "bucket": bucket, "key": key,
                                  "version": version, "dataset": settings.dataset, "source": origin,
                                  "source_note": note, "size": (detail.get("object") or {}).get("size")},
                            reclaim_failed=not origin.startswith("schedule:"))
    if existing is not None and existing.get("execution_id") != execution:
        get_logger().info("duplicate event: object version already handled",
                          extra={"object_id": oid, "status": existing.get("status"), "source": origin,
                                 "first_execution": existing.get("execution_id")})
        head["Body"].close()
        return {"duplicate": True, "distributed": False, "run": run, "partitions": [], "items": {}}
    if note:
        get_logger().warning("untrusted source", extra={"object_id": oid, "note": note})
    compressed = is_gzip(bytes(head["Body"].read()), key)

    def chunks() -> Iterator[bytes]:
        """The object's bytes (decompressed when gzip), streamed in 8 MiB chunks."""
        body = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version_id} if version_id else {}))["Body"]
        try:
            raw = body.iter_chunks(CHUNK_BYTES)
            yield from (gunzip(raw, source) if compressed else raw)
        finally:
            body.close()

    def stage(name: str, data: bytes) -> None:
        put(s3, settings.processed_bucket, settings.staging_key(rid, f"{name}.input"), data,
            "application/octet-stream")

    plan = plan_partitions(chunks(), partition_rows=settings.partition_rows, source=source)
    if plan.columns:
        from handlers.etl.datasets import load_dataset

        load_dataset(settings.dataset).schema.check_columns(plan.columns, source)
    check_memory(plan, settings.worker_memory_mb, partition_rows=settings.partition_rows, source=source)
    if compressed:  # no byte ranges in a compressed object: stage each partition's bytes once
        split(chunks(), plan, stage)
        run["staged_input"] = True
    partitions: list[PartitionSpec] = [p.to_dict() for p in plan.partitions]
    run.update({"format": plan.format, "header_start": plan.header_start, "header_end": plan.header_end,
                "partition_count": len(partitions), "rows": plan.rows, "size": plan.size})
    distributed = len(partitions) > settings.distributed_threshold
    items: Items = {}
    if distributed:
        items_key = settings.staging_key(rid, "partitions.json")
        put(s3, settings.processed_bucket, items_key, json.dumps(partitions).encode(), "application/json")
        items = {"bucket": settings.processed_bucket, "key": items_key}
        partitions = []
    ledger.update(oid, RUNNING, {"rows_total": plan.rows, "partition_count": len(plan.partitions),
                                 "format": plan.format})
    get_logger().info("planned", extra={"object_id": oid, "rows": plan.rows, "partitions": len(plan.partitions),
                                        "distributed": distributed})
    return {"duplicate": False, "distributed": distributed, "run": run, "partitions": partitions,
            "items": items}


def handler(event: dict[str, Any], context: Any) -> IngestOutput:
    """Lambda entry point (``handlers.etl.ingest.handler``)."""
    return ingest(event, settings=EtlSettings.from_env())


__all__ = ["FileRejected", "handler", "ingest", "parse_detail"]
