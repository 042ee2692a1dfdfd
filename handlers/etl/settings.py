"""ETL settings and the S3 key layout shared by the handlers and the EtlPipeline component.

Layout (``<p>`` is the pipeline name, so pipelines can share buckets)::

    processed bucket  <p>/staging/<run_id>/part-00000.valid.npz ...   intermediate, never published
                      <p>/published/<dataset>/<stem>/<run_id>/rows.csv, summary.json, report.xlsx, manifest.json
    quarantine bucket <p>/rejects/<dataset>/<run_id>/part-00000.csv, duplicates.csv   (rows + reason)

The component grants each function exactly these prefixes, from the same functions.

Example
-------
>>> staging_prefix("sensor-etl"), published_prefix("sensor-etl"), rejects_prefix("sensor-etl")
('sensor-etl/staging/', 'sensor-etl/published/', 'sensor-etl/rejects/')
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from handlers.runtime import env
from handlers.runtime.errors import SettingsError


def staging_prefix(pipeline: str) -> str:
    """Prefix of intermediate objects (read/written by ingest, validate, transform, output)."""
    return f"{pipeline}/staging/"


def published_prefix(pipeline: str) -> str:
    """Prefix of published objects (written by output only)."""
    return f"{pipeline}/published/"


def rejects_prefix(pipeline: str) -> str:
    """Prefix of quarantined rows (written by validate and output)."""
    return f"{pipeline}/rejects/"


def object_id(bucket: str, key: str, version: str) -> str:
    """The ledger key of one object version: ``s3://bucket/key#version``.

    Example
    -------
    >>> object_id("b", "in/a.csv", "v1")
    's3://b/in/a.csv#v1'
    """
    return f"s3://{bucket}/{key}#{version}"


def run_id(oid: str) -> str:
    """A short, deterministic id for the run of one object version (used in keys).

    Example
    -------
    >>> len(run_id("s3://b/k#v"))
    20
    """
    return hashlib.sha256(oid.encode()).hexdigest()[:20]


def stem(key: str) -> str:
    """A key's file name without extension, made safe for a key segment.

    Example
    -------
    >>> stem("incoming/2026/Sensors March.csv")
    'Sensors_March'
    """
    name = key.rsplit("/", 1)[-1]
    name = name.rsplit(".", 1)[0] if "." in name else name
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "object"


@dataclass(frozen=True)
class EtlSettings:
    """Everything an ETL handler needs; explicit arguments beat the environment.

    Example
    -------
    >>> s = EtlSettings("p", "sensor_readings", "proc", "quar", "ledger", partition_rows=1000, distributed_threshold=40)
    >>> s.staging_key("r1", "part-00000.valid.npz")
    'p/staging/r1/part-00000.valid.npz'
    """

    pipeline: str
    dataset: str
    processed_bucket: str
    quarantine_bucket: str
    ledger_table: str
    partition_rows: int
    distributed_threshold: int
    worker_memory_mb: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EtlSettings:
        """Read the ``SCIFLOW_ETL_*`` variables (and ``SCIFLOW_LEDGER_TABLE``); a missing one is an error (the
        component always sets all of them, so defaults live only in ``EtlPipelineArgs``).

        Example
        -------
        >>> EtlSettings.from_env({})
        Traceback (most recent call last):
        ...
        handlers.runtime.errors.SettingsError: InvalidSettings: SCIFLOW_ETL_PIPELINE is not set
        """
        source = os.environ if environ is None else environ

        def need(name: str) -> str:
            value = source.get(name, "")
            if not value:
                raise SettingsError(f"{name} is not set")
            return value

        def number(name: str) -> int:
            text = need(name)
            try:
                value = int(text)
            except ValueError:
                raise SettingsError(f"{name}={text!r} is not an integer") from None
            if value < 1:
                raise SettingsError(f"{name}={value} must be >= 1")
            return value

        def optional(name: str) -> int | None:
            return number(name) if source.get(name, "") else None

        return cls(pipeline=need(env.ETL_PIPELINE), dataset=need(env.ETL_DATASET),
                   processed_bucket=need(env.ETL_PROCESSED_BUCKET), quarantine_bucket=need(env.ETL_QUARANTINE_BUCKET),
                   ledger_table=need(env.LEDGER_TABLE), partition_rows=number(env.ETL_PARTITION_ROWS),
                   distributed_threshold=number(env.ETL_DISTRIBUTED_THRESHOLD),
                   worker_memory_mb=optional(env.ETL_WORKER_MEMORY_MB) or optional(env.LAMBDA_MEMORY_SIZE))

    def staging_key(self, rid: str, name: str) -> str:
        return f"{staging_prefix(self.pipeline)}{rid}/{name}"

    def rejects_key(self, rid: str, name: str) -> str:
        return f"{rejects_prefix(self.pipeline)}{self.dataset}/{rid}/{name}"

    def published_folder(self, source_key: str, rid: str) -> str:
        """Folder (below :func:`published_prefix`) of one run's published objects."""
        return f"{self.dataset}/{stem(source_key)}/{rid}/"


def part_name(index: int, suffix: str) -> str:
    """``part-00003.<suffix>``.

    Example
    -------
    >>> part_name(3, "valid.npz")
    'part-00003.valid.npz'
    """
    return f"part-{index:05d}.{suffix}"
