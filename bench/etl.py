"""ETL benchmark: our validate + transform steps versus a naive pandas baseline on the same sensor CSV.

``python -m bench.etl --json`` generates a ``sensor_readings`` CSV (1,000,000 rows by default, 0.5 % bad rows,
0.5 % exact duplicates) and runs, each in a fresh subprocess:

* **ours** — what the Lambda steps do, partition after partition: plan byte-range partitions (one streamed
  pass), then per partition read the range, parse, :func:`handlers.etl.schema.validate`, stage the valid rows
  as CSV, read them back, drop exact duplicates, derive ``value_c``/``date`` and stage the result (staging
  goes to a temp directory, standing in for S3);
* **naive** — ``pd.read_csv(path)`` with default inference, row-wise ``DataFrame.apply`` validation, then
  ``drop_duplicates`` and row-wise ``apply`` for the derived columns.

``peak_rss_bytes`` is the worker's peak resident set (``VmHWM``) at the end minus its *current* resident
set right after the worker imported numpy, pandas and the handlers and ran ``gc.collect()``: the interpreter
and libraries are the baseline, and any transient peak during imports counts against us (conservative). Each
implementation runs in its own process, so neither inherits the other's high-water mark. ``seconds`` is wall
time, ``cpu_seconds`` process CPU time (steadier on a shared machine). The last stdout line is one JSON object.

Example
-------
>>> python -m bench.etl --json --rows 100000                             # doctest: +SKIP
{"rows": 100000, "input_bytes": ..., "seconds": ..., "naive_seconds": ..., "peak_rss_bytes": ...}
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_ROWS = 1_000_000
DEFAULT_PARTITION_ROWS = 100_000
TARGET_SPEEDUP = 10.0
TARGET_RSS_RATIO = 2.0


def _peak_rss_bytes() -> int:
    """This process's high-water resident set size.

    ``VmHWM`` from ``/proc/self/status`` where available: unlike ``ru_maxrss``, which Linux carries over
    ``execve`` (a worker spawned by a parent that generated the input would inherit the parent's peak), it
    belongs to this process image only. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _current_rss_bytes() -> int:
    """The resident set size right now (``/proc/self/statm``); the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _peak_rss_bytes()


def run_ours(path: Path, partition_rows: int, staging: Path) -> dict[str, Any]:
    """Validate + transform ``path`` partition by partition, exactly as the validate/transform steps do."""
    from handlers.etl.datasets import load_dataset
    from handlers.etl.formats import parse_partition, plan_partitions
    from handlers.etl.schema import validate
    from handlers.etl.staging import read_staged, staged_bytes
    from handlers.etl.transform import transform_frame

    dataset = load_dataset("sensor_readings")
    with open(path, "rb") as fh:
        plan = plan_partitions(iter(lambda: fh.read(8 << 20), b""), partition_rows=partition_rows,
                               source=str(path))
    counts = {"valid": 0, "rejected": 0, "duplicates": 0, "published": 0}
    with open(path, "rb") as fh:
        fh.seek(plan.header_start)
        header = fh.read(plan.header_end - plan.header_start)
        for part in plan.partitions:
            fh.seek(part.start)
            body = fh.read(part.end - part.start)
            raw = parse_partition(body, fmt=plan.format, header=header, source=str(path), first_row=part.first_row)
            del body
            checked = validate(raw, dataset.schema, first_row=part.first_row)
            del raw
            valid_staged = staged_bytes(checked.valid)
            (staging / f"part-{part.index:05d}.valid.npz").write_bytes(valid_staged)
            (staging / f"part-{part.index:05d}.rejects.csv").write_bytes(
                checked.rejects.to_csv(index=False).encode())
            counts["valid"] += len(checked.valid)
            counts["rejected"] += len(checked.rejects)
            del checked
            frame, dropped = transform_frame(read_staged(valid_staged), dataset)
            del valid_staged
            (staging / f"part-{part.index:05d}.transformed.npz").write_bytes(staged_bytes(frame))
            counts["duplicates"] += dropped
            counts["published"] += len(frame)
            del frame
    return {**counts, "partitions": len(plan.partitions)}


def run_naive(path: Path) -> dict[str, Any]:
    """The way this is usually written first: default ``read_csv`` and row-wise ``apply``."""
    import re
    from datetime import datetime

    import pandas as pd

    pattern = re.compile(r"[A-Z]{2,4}-\d{3,6}")

    def reason(row: Any) -> str:
        problems = []
        try:
            datetime.fromisoformat(str(row["timestamp"]).replace("Z", "+00:00"))
        except ValueError:
            problems.append("timestamp")
        if not pattern.fullmatch(str(row["sensor_id"])):
            problems.append("sensor_id")
        try:
            value = float(row["value"])
            if not -273.15 <= value <= 1000.0:
                problems.append("value range")
        except ValueError:
            problems.append("value")
        if row["unit"] not in ("C", "F", "K"):
            problems.append("unit")
        return "; ".join(problems)

    def celsius(row: Any) -> float:
        value = float(row["value"])
        return {"C": value, "F": (value - 32.0) * 5.0 / 9.0, "K": value - 273.15}[row["unit"]]

    frame = pd.read_csv(path)
    frame["reason"] = frame.apply(reason, axis=1)
    valid = frame[frame["reason"] == ""].drop(columns=["reason"]).drop_duplicates()
    valid["timestamp"] = valid["timestamp"].apply(lambda t: datetime.fromisoformat(str(t).replace("Z", "+00:00")))
    valid["value_c"] = valid.apply(celsius, axis=1)
    valid["date"] = valid["timestamp"].apply(lambda t: t.date().isoformat())
    return {"valid": int((frame["reason"] == "").sum()), "rejected": int((frame["reason"] != "").sum()),
            "published": len(valid)}


def worker(kind: str, path: Path, partition_rows: int) -> dict[str, Any]:
    """Run one implementation in this process; seconds and peak RSS above the post-import baseline."""
    import gc

    import numpy  # noqa: F401
    import pandas  # noqa: F401

    import handlers.etl.transform  # noqa: F401

    gc.collect()
    baseline = _current_rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    if kind == "ours":
        with tempfile.TemporaryDirectory(prefix="bench-etl-") as staging:
            result = run_ours(path, partition_rows, Path(staging))
    else:
        result = run_naive(path)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {**result, "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
            "peak_rss_bytes": max(_peak_rss_bytes() - baseline, 0),
            "baseline_rss_bytes": baseline}


def _spawn(kind: str, path: Path, partition_rows: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.etl", "--worker", kind, "--input", str(path),
               "--partition-rows", str(partition_rows)]
    done = subprocess.run(command, check=True, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def benchmark(rows: int = DEFAULT_ROWS, partition_rows: int = DEFAULT_PARTITION_ROWS, seed: int = 0,
              naive: bool = True) -> dict[str, Any]:
    """Generate the input, run both implementations in subprocesses, return the figures.

    Example
    -------
    >>> benchmark(rows=20_000)["rows"]                                   # doctest: +SKIP
    20000
    """
    from handlers.etl.datasets.sensor_readings import generate_csv

    with tempfile.TemporaryDirectory(prefix="bench-etl-input-") as tmp:
        path = Path(tmp) / "sensor_readings.csv"
        path.write_bytes(generate_csv(rows, seed=seed, bad_fraction=0.005, duplicate_fraction=0.005))
        input_bytes = path.stat().st_size
        ours = _spawn("ours", path, partition_rows)
        theirs = _spawn("naive", path, partition_rows) if naive else None
    out: dict[str, Any] = {
        "rows": rows,
        "input_bytes": input_bytes,
        "partition_rows": partition_rows,
        "partitions": ours["partitions"],
        "seconds": ours["seconds"],
        "naive_seconds": theirs["seconds"] if theirs else None,
        "cpu_seconds": ours["cpu_seconds"],
        "naive_cpu_seconds": theirs["cpu_seconds"] if theirs else None,
        "peak_rss_bytes": ours["peak_rss_bytes"],
        "naive_peak_rss_bytes": theirs["peak_rss_bytes"] if theirs else None,
        "rows_rejected": ours["rejected"],
        "rows_published": ours["published"],
    }
    if theirs:
        if theirs["rejected"] != ours["rejected"]:
            raise RuntimeError(f"naive and ours disagree on rejected rows: {theirs['rejected']} != {ours['rejected']}")
        out["speedup"] = round(theirs["seconds"] / ours["seconds"], 1)
        out["cpu_speedup"] = round(theirs["cpu_seconds"] / ours["cpu_seconds"], 1)
        out["speedup_target_met"] = out["speedup"] >= TARGET_SPEEDUP
    out["rss_to_input"] = round(ours["peak_rss_bytes"] / input_bytes, 2)
    out["rss_target_met"] = out["rss_to_input"] <= TARGET_RSS_RATIO
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.etl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the generated CSV")
    parser.add_argument("--partition-rows", type=int, default=DEFAULT_PARTITION_ROWS, help="rows per partition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-naive", action="store_true", help="skip the (slow) naive baseline")
    parser.add_argument("--worker", choices=("ours", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.input, args.partition_rows)))
        return 0
    result = benchmark(args.rows, args.partition_rows, args.seed, naive=not args.no_naive)
    if not args.json:
        print(f"{result['rows']:,} rows, {result['input_bytes'] / 2**20:.1f} MiB, {result['partitions']} partitions")
        print(f"ours  {result['seconds']:.2f} s ({result['cpu_seconds']:.2f} s CPU), "
              f"peak RSS +{result['peak_rss_bytes'] / 2**20:.1f} MiB "
              f"({result['rss_to_input']}x input)")
        if result["naive_seconds"] is not None:
            print(f"naive {result['naive_seconds']:.2f} s ({result['naive_cpu_seconds']:.2f} s CPU), peak RSS "
                  f"+{result['naive_peak_rss_bytes'] / 2**20:.1f} MiB -> {result['speedup']}x faster "
                  f"({result['cpu_speedup']}x in CPU time)")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    sys.exit(main())
