"""``python -m sandbox demo`` (``make demo``): the whole stack, end to end, on the embedded AWS.

1. builds the layers (cached after the first run) while synthesizing the stack, and prints the resource tree
   and the policy pack's summary;
2. deploys the data plane into the embedded AWS (moto, with Lambda code and state machines really executed);
3. drops the sample files of every pipeline's dataset into its raw bucket (one clean, one with bad rows, one
   broken) and waits for the executions the S3 events start;
4. fires every scheduled computation as Scheduler would, for yesterday and today in its time zone, in the
   stack's dependency order, shows the run ledger (with the ``s3://`` URIs each run read), and delivers the
   S3 events of what the computations wrote: objects written into a pipeline's inbox start it (``source:
   computation:<name>``), and the demo waits for those runs;
5. for every pipeline with a ``batch``: drops one more sample whose event never arrives, then fires the batch
   schedule; the batch runs it (``source: schedule:<pipeline>-batch``) and finds the others already done;
6. prints a summary table and copies every artifact to ``out/`` with ``out/summary.json``.

Running it again starts from an empty embedded AWS and replaces ``out/``: the result is the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from handlers.runtime.validators import LAMBDA_RUNTIMES
from synth.graph import Graph

REPO = Path(__file__).resolve().parent.parent
EXECUTION_TIMEOUT_S = 600.0


@dataclass
class ComputationRun:
    name: str
    date: str
    status: str
    artifacts: list[str] = field(default_factory=list)
    error: str = ""
    attempts: int = 0
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "date": self.date, "status": self.status, "artifacts": self.artifacts,
                "inputs": self.inputs, "outputs": self.outputs}


@dataclass
class PipelineRun:
    name: str
    input: str
    status: str
    expected: str = ""
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "input": self.input, "status": self.status, "source": self.source,
                "rows_in": self.rows_in, "rows_out": self.rows_out, "rows_quarantined": self.rows_quarantined,
                "outputs": self.outputs}


@dataclass
class BatchRun:
    pipeline: str
    schedule: str
    status: str
    started: int = 0
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "schedule": self.schedule, "status": self.status,
                "files_started": self.started}


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------


class _ProgressHandler(logging.Handler):
    """Shows the LayerBundle build messages (``layer <name>: ...``) the program logs during synth."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith("layer "):
            return
        name, _, text = message[len("layer "):].partition(": ")
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(f"layer {name}", total=None, detail="")
        done = " in " in text and ("cached" in text or "built" in text or "bytes unzipped" in text)
        self.progress.update(self.tasks[name], detail=text[:110], completed=1 if done else 0,
                             total=1 if done else None)


def synthesize(stack: str, console: Console, config: dict[str, str] | None = None) -> Graph:
    """Synthesize the stack (``config`` laid over its file); layer builds show as progress lines."""
    from sandbox.services import synth_for_sandbox as synth

    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
               TextColumn("{task.fields[detail]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        handler = _ProgressHandler(progress)
        root = logging.getLogger()
        previous = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            return synth(REPO / "__main__.py", stack=stack, config=config)
        finally:
            root.removeHandler(handler)
            root.setLevel(previous)


def policy_summary(graph: Graph) -> tuple[int, int, list[Any]]:
    from policy.check import evaluate

    report = evaluate(graph, program_dir=REPO)
    mandatory = report.mandatory
    return len(mandatory), len(report.violations) - len(mandatory), report.violations


def run_computation(deployment: Any, name: str, schedule: str, timezone: str, day: date) -> ComputationRun:
    """Fire the computation's schedule for local ``day`` and read its ledger row back."""
    from components.schedules import scheduled_time_for
    from handlers.runtime.ledger import Ledger
    from sandbox.events import invoke_schedule

    result = invoke_schedule(deployment, f"{name}-schedule", scheduled_time_for(schedule, timezone, day))
    table = deployment.output(f"{name}_table_name")
    record = Ledger(table, name, client=deployment.client("dynamodb")).get(day.isoformat())
    if record is None:
        return ComputationRun(name, day.isoformat(), "MISSING", error=str(result.payload))
    return ComputationRun(name, day.isoformat(), record.status, artifacts=list(record.artifacts),
                          error=record.error, attempts=record.attempts, inputs=list(record.inputs),
                          outputs=list(record.outputs))


def dataset_samples(dataset: str, dest: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """The dataset's sample files and their expected outcomes, made in a subprocess: importing pandas here
    would make the in-process Lambdas use this interpreter's pandas instead of the layer's."""
    script = ("import json, pathlib, sys\n"
              f"from handlers.etl.datasets.{dataset} import SAMPLE_OUTCOMES, sample_files\n"
              "dest = pathlib.Path(sys.argv[1])\n"
              "for name, body in sample_files().items():\n"
              "    (dest / name).write_bytes(body)\n"
              "print(json.dumps(SAMPLE_OUTCOMES))\n")
    proc = subprocess.run([sys.executable, "-c", script, str(dest)], cwd=REPO, capture_output=True, text=True,
                          check=True)
    expected: dict[str, str] = json.loads(proc.stdout)
    return {name: (dest / name).read_bytes() for name in expected}, expected


def run_pipeline_samples(deployment: Any, name: str, dataset: str, prefix: str) -> list[PipelineRun]:
    """Drop the dataset's sample files into the raw bucket and wait for every execution they start."""
    from sandbox.events import put_object_created, wait_execution

    with tempfile.TemporaryDirectory() as tmp:
        samples, expected = dataset_samples(dataset, Path(tmp))
    raw = deployment.output(f"{name}_raw_bucket_name")
    executions = {file: put_object_created(deployment, raw, f"{prefix}{file}", body)
                  for file, body in samples.items()}
    for arns in executions.values():
        for arn in arns:
            wait_execution(arn, EXECUTION_TIMEOUT_S, aws=deployment.aws)
    items = {str(i.get("key")): i for i in ledger_items(deployment, name)}
    runs = []
    for file in samples:
        key = f"{prefix}{file}"
        if key not in items:
            runs.append(PipelineRun(name, key, "NOT_STARTED" if not executions[file] else "MISSING",
                                    expected=expected.get(file, "")))
            continue
        runs.append(pipeline_run(name, items[key], expected.get(file, "")))
    return runs


def ledger_items(deployment: Any, pipeline: str) -> list[dict[str, Any]]:
    """Every run item of ``pipeline``'s ledger."""
    return scan_table(deployment.client("dynamodb"), deployment.output(f"{pipeline}_table_name"))


def pipeline_run(name: str, item: dict[str, Any], expected: str) -> PipelineRun:
    """One ledger item as a :class:`PipelineRun`."""
    return PipelineRun(name, str(item.get("key")), str(item.get("status")), expected=expected,
                       rows_in=int(item.get("rows_rows", 0)), rows_out=int(item.get("rows_published", 0)),
                       rows_quarantined=int(item.get("rows_rejected", 0)),
                       error=str(item.get("error_code") or item.get("error") or ""),
                       outputs=list(item.get("output_keys", [])), source=str(item.get("source", "")))


def wait_chained_runs(deployment: Any) -> int:
    """Deliver the S3 events of what handler code wrote (a computation's outputs into a pipeline's inbox) and
    wait for the executions they start; returns how many started."""
    from sandbox.events import deliver_s3_notices, wait_execution

    started = [d.execution_arn for d in deliver_s3_notices(deployment) if d.execution_arn]
    for arn in started:
        wait_execution(arn, EXECUTION_TIMEOUT_S, aws=deployment.aws)
    return len(started)


def run_batch(deployment: Any, name: str, dataset: str, prefix: str, when: datetime) -> BatchRun:
    """Drop one sample whose event never arrives (an EventBridge outage), then fire the batch schedule as
    Scheduler would and wait for the batch run."""
    from components.etl_batch import schedule_name
    from sandbox.events import invoke_schedule, wait_execution

    with tempfile.TemporaryDirectory() as tmp:
        samples, expected = dataset_samples(dataset, Path(tmp))
    file = next(f for f, outcome in expected.items() if outcome == "COMPLETED")
    raw = deployment.bucket(deployment.output(f"{name}_raw_bucket_name")).physical_name
    before = len(deployment.aws.s3_notices)
    deployment.client("s3").put_object(Bucket=raw, Key=f"{prefix}late-{file}", Body=samples[file])
    del deployment.aws.s3_notices[before:]  # the event that never arrived
    runs_before = file_runs(deployment, name)
    result = invoke_schedule(deployment, f"{name}-batch-schedule", when)
    if result.execution_arn is None:
        return BatchRun(name, schedule_name(name), "NOT_STARTED")
    described = wait_execution(result.execution_arn, EXECUTION_TIMEOUT_S, aws=deployment.aws)
    return BatchRun(name, schedule_name(name), str(described["status"]),
                    started=len(file_runs(deployment, name) - runs_before), error=str(described.get("error") or ""))


def file_runs(deployment: Any, pipeline: str) -> set[str]:
    """The ARNs of every execution of the pipeline's per-file state machine."""
    sfn = deployment.client("stepfunctions")
    arn = deployment.rewrite(deployment.output(f"{pipeline}_state_machine_arn"))
    return {e["executionArn"] for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
            for e in page["executions"]}


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, decoded to Python values (consistent reads, every page)."""
    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += [{k: de.deserialize(v) for k, v in item.items()} for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def queue_depth(deployment: Any, url: str) -> int:
    attrs = deployment.client("sqs").get_queue_attributes(
        QueueUrl=deployment.rewrite(url), AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def copy_bucket(deployment: Any, bucket: str, dest: Path, *, skip: str | None = None) -> list[str]:
    """Copy every object (latest versions) of ``bucket`` under ``dest``, except keys starting with ``skip``
    (intermediate files); returns the keys copied."""
    s3 = deployment.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if skip and obj["Key"].startswith(skip):
                continue
            target = dest / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            keys.append(obj["Key"])
    return keys


@contextmanager
def replaced_dir(final: Path) -> Iterator[Path]:
    """Write into a fresh directory that replaces ``final`` only when the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _error_paths(deployment: Any, cfg: Any, today: date | None, console: Console) -> list[Any]:
    from sandbox.scenarios import run_error_paths

    console.rule("[bold]4b. Error paths: replays, dead letters, deleted and large inputs")

    def show(outcome: Any) -> None:
        mark = "" if outcome.ok else f" [bold red](expected {outcome.expected})[/]"
        console.print(f"  {outcome.scenario} {outcome.component}: [bold]{outcome.actual}[/]{mark}")

    return run_error_paths(
        deployment, cfg, report=show,
        today=lambda comp: today or datetime.now(ZoneInfo(comp.args.timezone)).date())


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack config Pulumi.STACK.yaml (default dev)")
    parser.add_argument("--runtime", default=None, choices=LAMBDA_RUNTIMES,
                        help="run every layer and function on this runtime (sets sciflow:runtime over the stack "
                             "file; needs a local interpreter of it and locks/*-RUNTIME-*.txt from make lock)")
    parser.add_argument("--out", default=str(REPO / "out"), help="where artifacts and summary.json go")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the 'today' of the computations (default: today in each computation's time zone)")
    parser.add_argument("--error-paths", action="store_true",
                        help="then run the error-path scenarios (sandbox.scenarios: replays, DLQs, deleted and "
                             "large inputs); python -m sandbox access turns this on")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    started = time.perf_counter()

    from components.config import build_sequence, parse_stack_config
    from components.schedules import scheduled_time_for
    from synth import engine_config

    console.rule(f"[bold]1. Synthesize stack {args.stack} (layers build on first run)")
    graph = synthesize(args.stack, console, {"sciflow:runtime": args.runtime} if args.runtime else None)
    from synth.preview import render_summary, render_tree

    console.print(render_tree(graph), markup=False)
    console.print(render_summary(graph), markup=False)
    mandatory, advisory, violations = policy_summary(graph)
    console.print(f"\n[bold]Policy pack:[/] {mandatory} mandatory, {advisory} advisory violations")
    for v in violations:
        console.print(f"  {v.enforcement:<9} {v.policy:<34} {v.urn.split('::')[-1]}", markup=False)
    raw_config = {k.split(":", 1)[1]: json.loads(v) if v[:1] in "[{" else v
                  for k, v in engine_config(graph.config, graph.project).items() if k.startswith("sciflow:")}
    cfg = parse_stack_config(raw_config, region=graph.region)

    from sandbox.aws import embedded_aws
    from sandbox.deploy import deploy

    computations: list[ComputationRun] = []
    pipelines: list[PipelineRun] = []
    batches: list[BatchRun] = []
    dlq: dict[str, int] = {}
    with embedded_aws(graph.region, iam=True, isolated=True) as aws, replaced_dir(Path(args.out)) as out:
        console.rule("[bold]2. Deploy into the embedded AWS")
        deployment = deploy(graph, aws)
        console.print(deployment.summary(), markup=False)

        console.rule("[bold]3. ETL pipelines: sample files")
        sample_keys: set[tuple[str, str]] = set()
        for pipe in cfg.pipelines:
            runs = run_pipeline_samples(deployment, pipe.name, pipe.args.dataset, pipe.args.input_prefix)
            pipelines.extend(runs)
            sample_keys |= {(pipe.name, r.input) for r in runs}
            for prun in runs:
                console.print(f"  {pipe.name} {prun.input}: [bold]{prun.status}[/] rows in/out/quarantined "
                              f"{prun.rows_in}/{prun.rows_out}/{prun.rows_quarantined} {prun.error}")

        console.rule("[bold]4. Scheduled computations: yesterday and today (and the runs they start)")
        entries = {comp.name: comp for comp in cfg.computations}
        for kind, name in build_sequence(cfg):
            if kind != "computation":
                continue
            comp = entries[name]
            today = args.today or datetime.now(ZoneInfo(comp.args.timezone)).date()
            for day in (today - timedelta(days=1), today):
                run = run_computation(deployment, comp.name, comp.args.schedule, comp.args.timezone, day)
                computations.append(run)
                console.print(f"  {comp.name} {run.date} ({comp.args.timezone}): [bold]{run.status}[/] "
                              f"attempts={run.attempts} artifacts={len(run.artifacts)} read={run.inputs} "
                              f"wrote={run.outputs} {run.error}")
                chained = wait_chained_runs(deployment)
                if chained:
                    console.print(f"    started {chained} pipeline run(s) with what it wrote")
            dlq[comp.name] = queue_depth(deployment, deployment.output(f"{comp.name}_dlq_url"))
            # artifact keys start with the computation's prefix (daily-stats/date=.../)
            copy_bucket(deployment, deployment.output(f"{comp.name}_bucket_name"), out)

        console.rule("[bold]5. Scheduled batch runs")
        for pipe in cfg.pipelines:
            if pipe.args.batch is None:
                continue
            today = args.today or datetime.now(ZoneInfo(pipe.args.batch.timezone)).date()
            when = scheduled_time_for(pipe.args.batch.schedule, pipe.args.batch.timezone, today)
            batch = run_batch(deployment, pipe.name, pipe.args.dataset,
                              pipe.args.batch.prefix or pipe.args.input_prefix, when)
            batches.append(batch)
            console.print(f"  {batch.schedule}: [bold]{batch.status}[/] per-file runs started {batch.started} "
                          f"{batch.error}")
        for pipe in cfg.pipelines:
            for item in ledger_items(deployment, pipe.name):
                if (pipe.name, str(item.get("key"))) not in sample_keys:
                    prun = pipeline_run(pipe.name, item, "")  # chained or batch: COMPLETED[_WITH_REJECTS]
                    pipelines.append(prun)
                    console.print(f"  {pipe.name} {prun.input} (source {prun.source}): [bold]{prun.status}[/] "
                                  f"rows in/out {prun.rows_in}/{prun.rows_out} {prun.error}")
            dlq[pipe.name] = queue_depth(deployment, deployment.output(f"{pipe.name}_dlq_url"))
            # processed and quarantined keys start with the pipeline's name (sensor-etl/published/...)
            copy_bucket(deployment, deployment.output(f"{pipe.name}_raw_bucket_name"), out / pipe.name / "raw")
            for kind in ("processed", "quarantine"):
                copy_bucket(deployment, deployment.output(f"{pipe.name}_{kind}_bucket_name"), out,
                            skip=f"{pipe.name}/staging/")

        error_paths = _error_paths(deployment, cfg, args.today, console) if args.error_paths else []

        summary = {
            "computations": [r.to_json() for r in computations],
            "pipelines": [r.to_json() for r in pipelines],
            "batches": [b.to_json() for b in batches],
            "policy": {"mandatory": mandatory, "advisory": advisory},
            "cost_estimate_usd_month": float(graph.outputs.get("cost_estimate_usd_month", 0.0)),
            "dlq_messages": dlq,
            "iam_enforced": bool(aws.enforcer and aws.enforcer.enforce),
            "lambda_isolated": aws.isolated,
            "access_denied": len(aws.enforcer.denied()) if aws.enforcer else 0,
            "shadowed_packages": sorted(aws.shadowed_layer_packages),
        }
        denials = [r.message for r in aws.enforcer.denied()] if aws.enforcer else []
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        access = deployment.access_report()
        if access is not None:
            access["scenarios"] = [outcome.to_json() for outcome in error_paths]
            (out / "access.json").write_text(json.dumps(access, indent=2) + "\n")

    console.rule("[bold]6. Summary")
    table = Table(show_lines=False)
    for column in ("kind", "name", "input / date", "source / reads", "status", "rows in", "rows out",
                   "quarantined", "artifacts"):
        table.add_column(column)
    for c in computations:
        table.add_row("computation", c.name, c.date, " ".join(c.inputs), c.status, "", "", "", str(len(c.artifacts)))
    for p in pipelines:
        table.add_row("pipeline", p.name, p.input, p.source, p.status, str(p.rows_in), str(p.rows_out),
                      str(p.rows_quarantined), str(len(p.outputs)))
    for b in batches:
        table.add_row("batch", b.pipeline, "", f"schedule:{b.schedule}", b.status, "", "", "", "")
    console.print(table)
    console.print(f"DLQ messages: {dlq}   policy: {mandatory} mandatory / {advisory} advisory   "
                  f"cost estimate: ${summary['cost_estimate_usd_month']:.2f}/month")
    console.print(f"Artifacts and summary.json in {args.out} ({time.perf_counter() - started:.1f}s)")
    problems = [f"{c.name} {c.date}: {c.status} {c.error}" for c in computations if c.status != "SUCCESS"]
    problems += [f"{p.name} {p.input}: {p.status}, expected {p.expected}" for p in pipelines
                 if ((p.status != p.expected) if p.expected else not p.status.startswith("COMPLETED"))]
    problems += [f"batch {b.schedule}: {b.status} {b.error}" for b in batches if b.status != "SUCCEEDED"]
    problems += [f"{mandatory} mandatory policy violations"] if mandatory else []
    problems += [f"AccessDenied: {message}" for message in denials]
    problems += [f"error path {o.scenario} of {o.component}: {o.actual}, expected {o.expected}"
                 for o in error_paths if not o.ok]
    for problem in problems:
        console.print(f"[bold red]unexpected:[/] {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
