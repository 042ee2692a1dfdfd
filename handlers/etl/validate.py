"""ETL step 2, validate one partition: parse its byte range, check the schema, quarantine invalid rows.

Input :class:`~handlers.etl.contract.ValidateInput`, output :class:`~handlers.etl.contract.ValidateOutput`.
Valid rows go to
``staging/<run>/part-NNNNN.valid.npz`` (typed); invalid rows, with a reason each, to the quarantine bucket.
A file-level problem (missing columns, bad encoding, malformed CSV/JSON) raises ``FileRejected`` and fails
the run before anything is published.

Example
-------
>>> validate_partition({"run": run, "partition": part}, settings=settings, s3=s3)["rejected"]  # doctest: +SKIP
3
"""

from __future__ import annotations

from typing import Any

from handlers.etl.contract import ValidateInput, ValidateOutput
from handlers.etl.csvout import render
from handlers.etl.datasets import Dataset, load_dataset
from handlers.etl.errors import FileRejected
from handlers.etl.formats import CSV, parse_partition
from handlers.etl.schema import validate
from handlers.etl.settings import EtlSettings, part_name
from handlers.etl.staging import put, read_object, s3_client, staged_bytes
from handlers.runtime.log import get_logger
from handlers.runtime.objects import get_object_or_none


def validate_partition(event: ValidateInput, *, settings: EtlSettings, s3: Any = None,
                       dataset: Dataset | None = None) -> ValidateOutput:
    """Validate one partition and stage its valid rows.

    Returns
    -------
    ValidateOutput
        counts and keys, not data.

    Example
    -------
    >>> validate_partition(event, settings=settings, s3=s3)["valid_key"]  # doctest: +SKIP
    'sensor-etl/staging/<run>/part-00000.valid.npz'
    """
    s3 = s3_client(s3)
    dataset = dataset or load_dataset(settings.dataset)
    run, part = event["run"], event["partition"]
    source = f"s3://{run['bucket']}/{run['key']}"
    header = b""
    if run.get("staged_input"):  # decompressed by ingest
        staged = settings.processed_bucket
        if run["format"] == CSV:
            header = read_object(s3, staged, settings.staging_key(run["run_id"], "header.input"))
        body = read_object(s3, staged, settings.staging_key(run["run_id"], part_name(part["index"], "input")))
    else:
        if run["format"] == CSV:
            header = source_range(s3, run, run["header_start"], run["header_end"], source)
        body = source_range(s3, run, part["start"], part["end"], source)
    raw = parse_partition(body, fmt=run["format"], header=header, source=source, first_row=part["first_row"])
    dataset.schema.check_columns(list(raw.columns), source)
    result = validate(raw, dataset.schema, first_row=part["first_row"])
    rid, index = run["run_id"], part["index"]
    valid_key = put(s3, settings.processed_bucket, settings.staging_key(rid, part_name(index, "valid.npz")),
                    staged_bytes(result.valid), "application/octet-stream")
    rejects_key = None
    if len(result.rejects):
        rejects_key = put(s3, settings.quarantine_bucket, settings.rejects_key(rid, part_name(index, "csv")),
                          render(result.rejects, header=True, numbers=dataset.schema.numeric), "text/csv")
    get_logger().info("validated", extra={"run_id": rid, "partition": index, "rows": len(raw),
                                          "rejected": len(result.rejects)})
    return {"run": run, "partition": part, "rows": len(raw), "valid": len(result.valid),
            "rejected": len(result.rejects), "valid_key": valid_key, "rejects_key": rejects_key}


def source_range(s3: Any, run: Any, start: int, end: int, source: str) -> bytes:
    """Bytes ``[start, end)`` of the run's input version; an input deleted since ingest planned the run (S3
    answers 403 or 404, see :mod:`handlers.runtime.objects`) is ``FileRejected("SOURCE_MISSING")``, as in ingest.

    Example
    -------
    >>> source_range(s3, {"bucket": "raw", "key": "in/a.csv", "version_id": "v1"}, 0, 4, "s3://raw/in/a.csv")
    ... # doctest: +SKIP
    b'time'
    """
    if end <= start:
        return b""
    version = run.get("version_id")
    found = get_object_or_none(s3, run["bucket"], run["key"], Range=f"bytes={start}-{end - 1}",
                               **({"VersionId": version} if version else {}))
    if found is None:
        raise FileRejected("SOURCE_MISSING", f"{source}{f' version {version}' if version else ''} no longer exists "
                                             "(deleted during the run); nothing was published")
    return bytes(found["Body"].read())


def handler(event: ValidateInput, context: Any) -> ValidateOutput:
    """Lambda entry point (``handlers.etl.validate.handler``)."""
    return validate_partition(event, settings=EtlSettings.from_env())
