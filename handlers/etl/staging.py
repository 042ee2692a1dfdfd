"""S3 I/O shared by the ETL steps: ranged reads of the raw object and typed CSV for intermediate objects.

Intermediate (staging) CSVs store datetime columns as integer epoch nanoseconds: writing and reading them
costs no date formatting or parsing, and they never leave the staging prefix. Writes go through
:class:`handlers.runtime.artifacts.ArtifactStore`, so a retried step that produces the same bytes succeeds
and one that produces different bytes fails instead of overwriting.

Example
-------
>>> import pandas as pd
>>> from handlers.etl.datasets import load_dataset
>>> schema = load_dataset("sensor_readings").schema
>>> f = pd.DataFrame({"timestamp": pd.to_datetime(["2026-03-01T00:00:00Z"]), "sensor_id": ["TMP-001"],
...                   "value": [1.5], "unit": ["C"]})
>>> read_staged(staged_csv(f), schema).equals(f.astype({"timestamp": "datetime64[ns, UTC]"}))
True
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from handlers.etl.schema import Schema
from handlers.runtime.artifacts import ArtifactStore


def s3_client(client: Any = None) -> Any:
    """``client`` or a new boto3 S3 client."""
    if client is not None:
        return client
    import boto3

    return boto3.client("s3")


def read_range(s3: Any, bucket: str, key: str, start: int, end: int, *, version: str | None = None) -> bytes:
    """Bytes ``[start, end)`` of an object (``b""`` for an empty range).

    Example
    -------
    >>> read_range(s3, "raw", "incoming/a.csv", 0, 4, version="v1")  # doctest: +SKIP
    b'time'
    """
    if end <= start:
        return b""
    extra = {"VersionId": version} if version else {}
    response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", **extra)
    return response["Body"].read()  # type: ignore[no-any-return]


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    """A whole object's bytes."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]


def staged_csv(frame: pd.DataFrame) -> bytes:
    """Serialize a typed frame for staging (datetime columns as epoch nanoseconds).

    Example
    -------
    >>> staged_csv(pd.DataFrame({"a": [1]}))
    b'a\\n1\\n'
    """
    out = frame.copy(deep=False)
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(out[name]):
            out[name] = out[name].astype("datetime64[ns, UTC]").astype("int64")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def read_staged(body: bytes, schema: Schema) -> pd.DataFrame:
    """Read a staging CSV back with the schema's types (other columns are inferred, strings kept as text).

    Example
    -------
    >>> from handlers.etl.datasets import load_dataset
    >>> read_staged(b"timestamp,sensor_id,value,unit\\n0,A-001,1.0,C\\n",
    ...             load_dataset("sensor_readings").schema).dtypes["timestamp"]
    datetime64[ns, UTC]
    """
    dtypes: dict[str, Any] = {c.name: str for c in schema.columns if c.dtype == "string"}
    dtypes.update({c.name: "float64" for c in schema.columns if c.dtype in ("float", "int")})
    dtypes.update({c.name: "int64" for c in schema.columns if c.dtype == "datetime"})
    frame = pd.read_csv(io.BytesIO(body), dtype=dtypes, keep_default_na=False, na_values={
        c.name: [""] for c in schema.columns if c.dtype != "string"})
    for column in schema.columns:
        if column.dtype == "datetime":
            frame[column.name] = pd.to_datetime(frame[column.name], unit="ns", utc=True)
    return frame


def put(s3: Any, bucket: str, key: str, body: bytes, content_type: str) -> str:
    """Write-once put of ``body`` (identical content already there is accepted); returns ``key``."""
    ArtifactStore(bucket, client=s3).put_once(key, body, content_type=content_type)
    return key
