"""``sensor_stats``: statistics over everything the ``sensor-etl`` pipeline has published (a computation reading
another component's output through ``inputs: [{pipeline: sensor-etl}]``).

For each input location (:attr:`RunContext.inputs`) it lists the published runs (their ``manifest.json``; a run
whose manifest is missing never finished publishing and is not read), then streams each run's ``rows.csv`` in
chunks through the ETL's exact, mergeable aggregates (:mod:`handlers.etl.aggregates`: Chan et al.'s pairwise
mean/variance), so memory is bounded by the number of sensors and days, never by rows. Results:

* per sensor: ``count, mean_c, std_c, min_c, max_c`` and a robust z-score of the sensor's mean against the other
  sensors (median / 1.4826·MAD), ``outlier`` beyond :data:`Z_THRESHOLD`;
* per day: the same statistics over every sensor;
* overall figures, and the runs read (source file, run id, status, rows).

Artifacts: ``sensors.csv``, ``daily.csv``, ``stats.json`` (the framework adds ``result.json``); the run's ledger
records the ``s3://`` URIs read.

Example
-------
>>> frame = pd.DataFrame({"sensor_id": ["A-001"] * 3 + ["B-002"] * 3, "date": ["2026-03-01"] * 6,
...                       "value_c": [1.0, 2.0, 3.0, 10.0, 10.0, 10.0]})
>>> acc = Accumulator(); acc.add(frame)
>>> acc.sensors()[["sensor_id", "count", "mean_c"]].values.tolist()
[['A-001', 3, 2.0], ['B-002', 3, 10.0]]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from handlers.etl.aggregates import Aggregates
from handlers.runtime import clients
from handlers.runtime.errors import SciflowError
from handlers.runtime.objects import get_object_or_none
from handlers.runtime.scheduled import InputLocation, Result, RunContext, scheduled_handler

MANIFEST = "manifest.json"
ROWS = "rows.csv"
VALUE, SENSOR, DAY = "value_c", "sensor_id", "date"
CHUNK_ROWS = 200_000
MAX_RUNS = 1000
"""Published runs read per location (the newest by key order beyond this are left for the next run)."""
Z_THRESHOLD = 3.5
MAD_TO_SIGMA = 1.4826
_STATS = {"count": "count", "mean_c": "mean", "std_c": "std", "min_c": "min", "max_c": "max"}
BY_SENSOR = Aggregates(by=(SENSOR,), value=VALUE, columns=_STATS)
BY_DAY = Aggregates(by=(DAY,), value=VALUE, columns=_STATS)
OVERALL = Aggregates(by=("all",), value=VALUE, columns=_STATS)


class Accumulator:
    """Exact per-sensor, per-day and overall statistics, fed chunk by chunk (memory: one small table each)."""

    def __init__(self) -> None:
        self.partials: dict[str, pd.DataFrame] = {}

    def add(self, chunk: pd.DataFrame) -> None:
        """Fold one chunk (needs ``sensor_id``, ``date``, ``value_c``) into the running partials."""
        missing = [c for c in (SENSOR, DAY, VALUE) if c not in chunk.columns]
        if missing:
            raise SciflowError(f"published rows have no column(s) {', '.join(missing)} (columns: "
                               f"{', '.join(map(str, chunk.columns))})", code="InvalidInput")
        frame = chunk.assign(all="all")
        for name, agg in (("sensor", BY_SENSOR), ("day", BY_DAY), ("all", OVERALL)):
            parts = [p for p in (self.partials.get(name), agg.partial(frame)) if p is not None]
            self.partials[name] = agg.merge(parts)

    def _finished(self, name: str, agg: Aggregates) -> pd.DataFrame:
        partial = self.partials.get(name)
        return agg.finish(agg.merge([partial] if partial is not None else []))

    def sensors(self, z_threshold: float = Z_THRESHOLD) -> pd.DataFrame:
        """Per sensor statistics with the robust z-score of its mean and the ``outlier`` flag."""
        table = self._finished("sensor", BY_SENSOR)
        means = table["mean_c"].to_numpy(dtype="float64")
        median = float(np.median(means)) if len(means) else 0.0
        mad = float(np.median(np.abs(means - median))) * MAD_TO_SIGMA if len(means) else 0.0
        z = (means - median) / mad if mad > 0 else np.zeros(len(means))
        table["mean_z"] = np.round(z, 4)
        table["outlier"] = np.abs(z) > z_threshold
        return table

    def days(self) -> pd.DataFrame:
        return self._finished("day", BY_DAY)

    def overall(self) -> dict[str, Any]:
        table = self._finished("all", OVERALL)
        if table.empty:
            return {"count": 0}
        return {k: (int(v) if k == "count" else float(v)) for k, v in table.drop(columns="all").iloc[0].items()}


def published_runs(s3: Any, location: InputLocation, *, max_runs: int = MAX_RUNS) -> list[str]:
    """The folders (keys ending ``/``) under ``location`` holding a ``manifest.json``, in key order."""
    folders: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.prefix,
                                   PaginationConfig={"PageSize": 1000}):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/" + MANIFEST):
                folders.append(item["Key"][: -len(MANIFEST)])
                if len(folders) >= max_runs:
                    return folders
    return folders


def read_json(s3: Any, bucket: str, key: str) -> Any:
    found = get_object_or_none(s3, bucket, key)
    if found is None:
        raise SciflowError(f"s3://{bucket}/{key} was listed but cannot be read", code="InputNotFound")
    try:
        return json.loads(found["Body"].read())
    except ValueError:
        raise SciflowError(f"s3://{bucket}/{key} is not JSON", code="InvalidInput") from None


def row_chunks(s3: Any, bucket: str, key: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """``rows.csv`` streamed from S3 in frames of ``chunk_rows`` rows (only the columns the statistics use)."""
    found = get_object_or_none(s3, bucket, key)
    if found is None:
        raise SciflowError(f"s3://{bucket}/{key} is listed in its manifest but missing", code="InputNotFound")
    try:
        yield from pd.read_csv(found["Body"], usecols=lambda c: c in (SENSOR, DAY, VALUE),
                               dtype={SENSOR: str, DAY: str}, chunksize=chunk_rows)
    except ValueError as exc:
        raise SciflowError(f"s3://{bucket}/{key}: {exc}", code="InvalidInput") from None


def compute(ctx: RunContext) -> Result:
    """Read every published run of every input location and compute the statistics."""
    if not ctx.inputs:
        raise SciflowError("sensor_stats needs an input (inputs: [{pipeline: sensor-etl}])", code="InvalidSettings")
    s3 = ctx.s3_client
    if s3 is None:
        s3 = clients.client("s3")
    acc, runs = Accumulator(), []
    for location in ctx.inputs:
        for folder in published_runs(s3, location):
            ctx.budget.check(f"sensor_stats reading s3://{location.bucket}/{folder}")
            manifest = read_json(s3, location.bucket, folder + MANIFEST)
            names = {a.get("name") for a in manifest.get("artifacts", [])}
            if ROWS not in names:
                continue
            rows = 0
            for chunk in row_chunks(s3, location.bucket, folder + ROWS):
                acc.add(chunk)
                rows += len(chunk)
            source = manifest.get("source") or {}
            runs.append({"run_id": manifest.get("run_id"), "status": manifest.get("status"), "rows": rows,
                         "source": f"s3://{source.get('bucket')}/{source.get('key')}" if source else None,
                         "uri": f"s3://{location.bucket}/{folder}"})
    sensors, days, overall = acc.sensors(), acc.days(), acc.overall()
    outliers = sensors.loc[sensors["outlier"], SENSOR].tolist()
    summary = {"runs": len(runs), "rows": overall["count"], "sensors": len(sensors), "days": len(days),
               "mean_c": overall.get("mean_c"), "outlier_sensors": outliers}
    return Result(summary=summary, artifacts={
        "sensors.csv": sensors, "daily.csv": days,
        "stats.json": {"overall": overall, "runs": runs, "outliers": outliers, "z_threshold": Z_THRESHOLD}})


handler = scheduled_handler(compute)
