"""ETL benchmark: the *whole* sciflow run (every step, output, report and manifest included, staged through a
local S3) against pandas (pyarrow engine), polars (lazy) and DuckDB (SQL) on the same file, in one run.

``python -m bench.etl --json`` generates a ``sensor_readings`` CSV (1,000,000 rows by default, 0.5 % bad rows,
0.5 % exact duplicates), starts an S3/DynamoDB stand-in (moto's server, its own process: its memory is S3's,
not ours) and runs the pipeline's handlers in the order the state machine does: ingest, then validate and
transform per partition, then output. Each step kind runs in its own process (a warm Lambda of that function),
so ``peak_rss_bytes`` is the maximum over the steps of ``VmHWM`` minus the step's resident set right after
its imports; ``seconds`` and ``cpu_seconds`` add up the steps' own time (partitions one after another, as
with ``MaxConcurrency`` 1; S3's own work is not counted, the client side of every request is). A step's
imports (boto3 and the SDK clients' module-level setup included: a Lambda's init phase) are not in
``cpu_seconds``, as the peers' imports are not in theirs; ``init_cpu_seconds`` reports them, summed over the steps.

The peers (``bench/etl_peers.py``, installed by ``make bench-etl`` from ``requirements-bench.txt`` into
``.venv-bench``) read the same file from local disk and write their outputs locally; each must report the same
published / rejected / duplicate counts as ours, else the benchmark fails. ``--sweep`` repeats ours at other
sizes (no peers) to show how time and memory grow. The last stdout line is one JSON object.

Example
-------
>>> python -m bench.etl --json --rows 200000 --sweep 200000,400000     # doctest: +SKIP
{"rows": 200000, "input_bytes": ..., "seconds": ..., "cpu_seconds": ..., "peak_rss_bytes": ..., "peers": ...}
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROWS = 1_000_000
STEPS = ("ingest", "validate", "transform", "output")
PEERS = ("pandas", "polars", "duckdb")
REGION = "us-east-1"
RAW, PROCESSED, QUARANTINE, TABLE = "bench-raw", "bench-processed", "bench-quarantine", "bench-runs"
COUNTED = ("published", "rejected", "duplicates")
GENERATE_CHUNK = 500_000


# --------------------------------------------------------------------------- input
def write_input(path: Path, rows: int, seed: int = 0) -> int:
    """Write the benchmark CSV in chunks (constant memory); return its size in bytes."""
    from handlers.etl.datasets.sensor_readings import generate_frame

    with open(path, "wb") as fh:
        for start in range(0, rows, GENERATE_CHUNK):
            frame = generate_frame(min(GENERATE_CHUNK, rows - start), seed=seed, start=start, bad_fraction=0.005,
                                   duplicate_fraction=0.005)
            fh.write(frame.to_csv(index=False, header=start == 0, lineterminator="\n").encode())
    return path.stat().st_size


# --------------------------------------------------------------------------- the S3 stand-in
@contextlib.contextmanager
def s3_standin(timeout_s: float = 60.0) -> Iterator[str]:
    """moto's server in a child process; yields its endpoint URL and stops it afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the S3 stand-in did not start on {url} within {timeout_s:.0f} s") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _aws_env(endpoint: str, partition_rows: int) -> dict[str, str]:
    from handlers.runtime import env

    return {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, env.LOG_LEVEL: "WARNING",
            env.ETL_PIPELINE: "bench", env.ETL_DATASET: "sensor_readings", env.ETL_PROCESSED_BUCKET: PROCESSED,
            env.ETL_QUARANTINE_BUCKET: QUARANTINE, env.LEDGER_TABLE: TABLE,
            env.ETL_PARTITION_ROWS: str(partition_rows), env.ETL_DISTRIBUTED_THRESHOLD: str(10**9),
            env.ETL_WORKER_MEMORY_MB: "1024"}  # the dev pipeline's memory: ingest checks partitions fit


def _prepare(environ: dict[str, str], path: Path) -> dict[str, Any]:
    """Buckets, the ledger table and the raw object; returns the ingest event."""
    import boto3

    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
    s3 = session.client("s3", endpoint_url=environ["AWS_ENDPOINT_URL"])
    for bucket in (RAW, PROCESSED, QUARANTINE):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
    session.client("dynamodb", endpoint_url=environ["AWS_ENDPOINT_URL"]).create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "object_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "object_id", "AttributeType": "S"}])
    key = f"incoming/{path.name}"
    s3.upload_file(str(path), RAW, key)
    head = s3.head_object(Bucket=RAW, Key=key)
    detail = {"bucket": {"name": RAW}, "object": {"key": key, "size": head["ContentLength"],
                                                  "version-id": head["VersionId"], "etag": head["ETag"].strip('"')}}
    return {"detail": detail, "execution_id": "arn:aws:states:us-east-1:123456789012:execution:bench:run"}


# --------------------------------------------------------------------------- step workers
class StepWorker:
    """One step kind in its own process (a warm Lambda): JSON lines in, JSON lines out."""

    def __init__(self, step: str, environ: dict[str, str]) -> None:
        self.step = step
        self.process = subprocess.Popen([sys.executable, "-m", "bench.etl", "--step-worker", step], cwd=REPO,
                                        env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self._read()
        self.seconds = self.cpu_seconds = 0.0
        self.calls = 0

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench step worker {self.step!r} exited (code {self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.step}: {reply['error']}")
        return reply

    def __call__(self, event: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        reply = self._read()
        self.seconds += reply["seconds"]
        self.cpu_seconds += reply["cpu_seconds"]
        self.calls += 1
        return reply["result"]

    def close(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        final = self._read()
        self.process.wait(timeout=60)
        return {"seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3), "calls": self.calls,
                "init_cpu_seconds": round(self.ready["init_cpu_seconds"], 3), "peak_rss_bytes": final["peak_rss_bytes"]}


def step_worker(step: str) -> None:
    """The worker loop: import the step, report readiness, then run one event per input line."""
    import importlib

    from bench.etl_peers import rss_bytes

    cpu = time.process_time()
    handler = importlib.import_module(f"handlers.etl.{step}").handler
    init = time.process_time() - cpu
    gc.collect()
    baseline = rss_bytes("VmRSS")
    print(json.dumps({"ready": step, "baseline_rss_bytes": baseline, "init_cpu_seconds": init}), flush=True)
    for line in sys.stdin:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            result = handler(json.loads(line), None)
        except Exception as exc:  # reported to the parent, which fails the benchmark with it
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
            return
        print(json.dumps({"result": result, "seconds": time.perf_counter() - started,
                          "cpu_seconds": time.process_time() - cpu}), flush=True)
    print(json.dumps({"peak_rss_bytes": max(rss_bytes("VmHWM") - baseline, 0)}), flush=True)


def run_ours(path: Path, partition_rows: int) -> dict[str, Any]:
    """The whole pipeline on ``path`` through the S3 stand-in; figures per step and in total."""
    with s3_standin() as endpoint:
        environ = _aws_env(endpoint, partition_rows)
        event = _prepare(environ, path)
        workers = {step: StepWorker(step, environ) for step in STEPS}
        try:
            plan = workers["ingest"](event)
            for partition in plan["partitions"]:
                workers["transform"](workers["validate"]({"run": plan["run"], "partition": partition}))
            result = workers["output"]({"run": plan["run"]})
        finally:
            steps = {step: worker.close() for step, worker in workers.items()}
    return {**result["counts"], "status": result["status"], "partitions": len(plan["partitions"]),
            "seconds": round(sum(s["seconds"] for s in steps.values()), 3),
            "cpu_seconds": round(sum(s["cpu_seconds"] for s in steps.values()), 3),
            "init_cpu_seconds": round(sum(s["init_cpu_seconds"] for s in steps.values()), 3),
            "peak_rss_bytes": max(s["peak_rss_bytes"] for s in steps.values()), "steps": steps}


# --------------------------------------------------------------------------- peers
def run_peer(kind: str, path: Path, python: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-etl-{kind}-") as out:
        done = subprocess.run([python, "-m", "bench.etl_peers", kind, str(path), out], cwd=REPO,
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"peer {kind} failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def benchmark(rows: int = DEFAULT_ROWS, *, partition_rows: int | None = None, sweep: tuple[int, ...] = (),
              peers: tuple[str, ...] = PEERS, peers_python: str | None = None, seed: int = 0) -> dict[str, Any]:
    """Generate the inputs, run ours (and the peers at ``rows``), check the counts agree, return the figures."""
    per_partition = partition_rows or _pipeline_default("partition_rows")
    out: dict[str, Any] = {"rows": rows, "partition_rows": per_partition}
    with tempfile.TemporaryDirectory(prefix="bench-etl-input-") as tmp:
        for n in dict.fromkeys((rows, *sweep)):
            path = Path(tmp) / f"sensor_readings-{n}.csv"
            size = write_input(path, n, seed)
            ours = run_ours(path, per_partition)
            if ours["published"] + ours["rejected"] + ours["duplicates"] != n:
                raise RuntimeError(f"{n} rows: counts {ours} do not account for every row")
            if n == rows:
                out.update(input_bytes=size, **{k: ours[k] for k in ("seconds", "cpu_seconds", "init_cpu_seconds",
                                                                      "peak_rss_bytes",
                                                                      "partitions", "status", "steps", *COUNTED)})
                out["peers"] = {}
                for kind in peers:
                    theirs = run_peer(kind, path, peers_python or sys.executable)
                    differ = {k: (ours[k], theirs[k]) for k in COUNTED if ours[k] != theirs[k]}
                    if differ:
                        raise RuntimeError(f"peer {kind} disagrees with ours (ours, theirs): {differ}")
                    out["peers"][kind] = {k: theirs[k] for k in ("seconds", "cpu_seconds", "peak_rss_bytes")}
            if sweep:
                out.setdefault("sweep", []).append({"rows": n, "input_bytes": size, "seconds": ours["seconds"],
                                                    "cpu_seconds": ours["cpu_seconds"],
                                                    "peak_rss_bytes": ours["peak_rss_bytes"]})
            path.unlink()
    return out


def _pipeline_default(name: str) -> int:
    """A default of ``EtlPipelineArgs`` (what a pipeline runs with unless configured)."""
    import dataclasses

    from components.etl_pipeline import EtlPipelineArgs

    field = next(f for f in dataclasses.fields(EtlPipelineArgs) if f.name == name)
    return int(field.default)  # type: ignore[arg-type]


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(float(part)) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.etl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the file ours and the peers run")
    parser.add_argument("--sweep", type=_sizes, default=(), help="comma-separated row counts ours also runs")
    parser.add_argument("--partition-rows", type=int, help="rows per partition (default: the pipeline's)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers ('' for none)")
    parser.add_argument("--peers-python", help="interpreter with requirements-bench.txt (default: this one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step-worker", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step_worker:
        step_worker(args.step_worker)
        return 0
    peers = tuple(p for p in args.peers.split(",") if p)
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer {unknown[0]!r} (peers: {', '.join(PEERS)})")
    try:
        result = benchmark(args.rows, partition_rows=args.partition_rows, sweep=args.sweep, peers=peers,
                           peers_python=args.peers_python, seed=args.seed)
    except RuntimeError as exc:
        print(f"bench.etl: {exc}", file=sys.stderr)
        return 1
    if not args.json:
        mib = 2**20
        print(f"{result['rows']:,} rows, {result['input_bytes'] / mib:.1f} MiB, {result['partitions']} partitions")
        print(f"{'sciflow':8} {result['seconds']:7.2f} s {result['cpu_seconds']:7.2f} CPU s "
              f"{result['peak_rss_bytes'] / mib:7.1f} MiB")
        for kind, figures in result["peers"].items():
            print(f"{kind:8} {figures['seconds']:7.2f} s {figures['cpu_seconds']:7.2f} CPU s "
                  f"{figures['peak_rss_bytes'] / mib:7.1f} MiB")
        for row in result.get("sweep", []):
            print(f"sweep {row['rows']:>11,} rows {row['seconds']:7.2f} s {row['cpu_seconds']:7.2f} CPU s "
                  f"{row['peak_rss_bytes'] / mib:7.1f} MiB")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
