"""The peers of ``bench.etl``: the same job written the way a competent engineer would with pandas (pyarrow
engine), polars (lazy scan) and DuckDB (SQL), one function each, run in a fresh process by
``python -m bench.etl_peers KIND INPUT OUTDIR`` (the last stdout line is one JSON object).

The job is the ``sensor_readings`` contract: a row is valid when its timestamp is ISO 8601 with an offset,
``sensor_id`` matches ``[A-Z]{2,4}-[0-9]{3,6}``, ``value`` is a finite number in [-273.15, 1000] and ``unit``
is C, F or K; rows identical (typed) to an earlier valid row are dropped; a row whose (sensor_id, timestamp)
repeats an earlier kept row with different values is rejected; published rows get ``value_c`` and ``date``;
aggregates are count/mean/min/max/std of ``value_c`` per sensor and day. Each peer writes ``rows.csv``,
``rejects.csv`` (with the row number) and ``aggregates.csv`` to OUTDIR and returns its counts, which
``bench.etl`` requires to equal ours.

These modules import only their own library (the peers live in ``requirements-bench.txt``, never in a layer).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ID_PATTERN = "^[A-Z]{2,4}-[0-9]{3,6}$"
OFFSET_PATTERN = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
LOW, HIGH = -273.15, 1000.0


def run_pandas(path: Path, out: Path) -> dict[str, int]:
    import numpy as np
    import pandas as pd

    raw = pd.read_csv(path, engine="pyarrow", dtype="string[pyarrow]", keep_default_na=False)
    raw["_row"] = np.arange(1, len(raw) + 1)
    ts = pd.to_datetime(raw["timestamp"], format="ISO8601", utc=True, errors="coerce")
    value = pd.to_numeric(raw["value"], errors="coerce")
    ok = (ts.notna() & raw["timestamp"].str.contains(OFFSET_PATTERN, regex=True)
          & raw["sensor_id"].str.fullmatch(ID_PATTERN[1:-1]) & value.between(LOW, HIGH)
          & raw["unit"].isin(["C", "F", "K"])).fillna(False).to_numpy(dtype=bool)
    raw.loc[~ok].to_csv(out / "rejects.csv", index=False)
    valid = pd.DataFrame({"timestamp": ts[ok], "sensor_id": raw["sensor_id"][ok], "value": value[ok],
                          "unit": raw["unit"][ok], "_row": raw["_row"][ok]})
    kept = valid.drop_duplicates(["timestamp", "sensor_id", "value", "unit"])
    conflict = kept.duplicated(["sensor_id", "timestamp"])
    published = kept.loc[~conflict].copy()
    unit = published["unit"]
    published["value_c"] = np.round(np.select([unit == "C", unit == "F"], [published["value"], (published["value"]
                                              - 32.0) * 5.0 / 9.0], published["value"] - 273.15), 6)
    published["date"] = published["timestamp"].dt.strftime("%Y-%m-%d")
    published.drop(columns="_row").to_csv(out / "rows.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    agg = published.groupby(["sensor_id", "date"])["value_c"].agg(["count", "mean", "min", "max", "std"])
    agg.round(6).to_csv(out / "aggregates.csv")
    return {"published": len(published), "rejected": int((~ok).sum()) + int(conflict.sum()),
            "duplicates": len(valid) - len(kept)}


def run_polars(path: Path, out: Path) -> dict[str, int]:
    import polars as pl

    scan = pl.scan_csv(path, infer_schema=False).with_row_index("_row", offset=1)
    typed = scan.with_columns(
        ts=pl.col("timestamp").str.to_datetime(time_zone="UTC", strict=False),
        v=pl.col("value").cast(pl.Float64, strict=False),
    )
    ok = (pl.col("ts").is_not_null() & pl.col("timestamp").str.contains(OFFSET_PATTERN)
          & pl.col("sensor_id").str.contains(ID_PATTERN) & pl.col("v").is_between(LOW, HIGH)
          & pl.col("unit").is_in(["C", "F", "K"])).fill_null(False)
    typed = typed.with_columns(ok=ok).collect()
    typed.filter(~pl.col("ok")).select("timestamp", "sensor_id", "value", "unit", "_row").write_csv(
        out / "rejects.csv")
    valid = typed.lazy().filter(pl.col("ok"))
    kept = valid.unique(["ts", "sensor_id", "v", "unit"], keep="first", maintain_order=True)
    flagged = kept.with_columns(first=pl.struct("sensor_id", "ts").is_first_distinct()).collect()
    published = flagged.lazy().filter(pl.col("first")).with_columns(
        value_c=pl.when(pl.col("unit") == "C").then(pl.col("v"))
        .when(pl.col("unit") == "F").then((pl.col("v") - 32.0) * 5.0 / 9.0)
        .otherwise(pl.col("v") - 273.15).round(6),
        date=pl.col("ts").dt.strftime("%Y-%m-%d"),
    ).select("ts", "sensor_id", "v", "unit", "value_c", "date").collect()
    published.write_csv(out / "rows.csv")
    published.group_by("sensor_id", "date").agg(
        count=pl.len(), mean=pl.col("value_c").mean(), min=pl.col("value_c").min(), max=pl.col("value_c").max(),
        std=pl.col("value_c").std()).sort("sensor_id", "date").write_csv(out / "aggregates.csv")
    n_valid = typed.height - int((~typed["ok"]).sum())
    conflicts = int((~flagged["first"]).sum())
    return {"published": published.height, "rejected": typed.height - n_valid + conflicts,
            "duplicates": n_valid - flagged.height}


def run_duckdb(path: Path, out: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{out / 'duckdb-tmp'}'")
    con.execute("CREATE TABLE raw AS SELECT *, row_number() OVER () AS _row FROM read_csv(?, all_varchar = true, "
                "header = true)", [str(path)])
    con.execute("""
        CREATE TABLE typed AS SELECT *, try_cast(timestamp AS TIMESTAMPTZ) AS ts, try_cast(value AS DOUBLE) AS v
        FROM raw""")
    con.execute(f"""
        CREATE TABLE checked AS SELECT *, coalesce(ts IS NOT NULL AND regexp_matches(timestamp, '{OFFSET_PATTERN}')
            AND regexp_full_match(sensor_id, '{ID_PATTERN[1:-1]}') AND isfinite(v) AND v BETWEEN {LOW} AND {HIGH}
            AND unit IN ('C', 'F', 'K'), false) AS ok
        FROM typed""")
    con.execute(f"COPY (SELECT timestamp, sensor_id, value, unit, _row FROM checked WHERE NOT ok ORDER BY _row) "
                f"TO '{out / 'rejects.csv'}' (HEADER)")
    con.execute("""
        CREATE TABLE kept AS SELECT * FROM checked WHERE ok
        QUALIFY row_number() OVER (PARTITION BY ts, sensor_id, v, unit ORDER BY _row) = 1""")
    con.execute("""
        CREATE TABLE published AS SELECT ts, sensor_id, v AS value, unit,
            round(CASE unit WHEN 'C' THEN v WHEN 'F' THEN (v - 32.0) * 5.0 / 9.0 ELSE v - 273.15 END, 6) AS value_c,
            strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d') AS date, _row
        FROM kept QUALIFY row_number() OVER (PARTITION BY sensor_id, ts ORDER BY _row) = 1""")
    con.execute(f"COPY (SELECT * EXCLUDE (_row) FROM published ORDER BY _row) TO '{out / 'rows.csv'}' (HEADER)")
    con.execute(f"""COPY (SELECT sensor_id, date, count(*) AS count, round(avg(value_c), 6) AS mean,
        min(value_c) AS min, max(value_c) AS max, round(stddev_samp(value_c), 6) AS std FROM published
        GROUP BY ALL ORDER BY ALL) TO '{out / 'aggregates.csv'}' (HEADER)""")
    total, valid = con.execute("SELECT count(*), count(*) FILTER (WHERE ok) FROM checked").fetchone()
    kept = con.execute("SELECT count(*) FROM kept").fetchone()[0]
    published = con.execute("SELECT count(*) FROM published").fetchone()[0]
    return {"published": int(published), "rejected": int(total - valid + kept - published),
            "duplicates": int(valid - kept)}


PEERS = {"pandas": run_pandas, "polars": run_polars, "duckdb": run_duckdb}
IMPORTS = {"pandas": ("numpy", "pandas", "pyarrow"), "polars": ("polars",), "duckdb": ("duckdb",)}


def rss_bytes(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (current) of this process from ``/proc/self/status``, in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def measure(kind: str, path: Path, out: Path) -> dict[str, Any]:
    """Import the peer's library, then time its run: wall, CPU, peak RSS above the post-import RSS."""
    import importlib

    for name in IMPORTS[kind]:
        importlib.import_module(name)
    gc.collect()
    baseline = rss_bytes("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    counts = PEERS[kind](path, out)
    return {**counts, "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "peak_rss_bytes": max(rss_bytes("VmHWM") - baseline, 0)}


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 1))
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
