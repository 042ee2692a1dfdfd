"""Error-path scenarios: the failures and replays a stack meets on AWS, provoked on the embedded AWS.

``python -m sandbox access`` (and ``python -m sandbox demo --error-paths``) runs them after the demo's happy
paths, with IAM enforced, so the grants only these paths use are proven by execution instead of listed with
a reason. Each scenario runs for every component of its kind in the stack config and checks its outcome:

* computation **replay** — a run recorded FAILED after it wrote its artifacts (a crash before the ledger
  write) is retried: its published manifest is read back and adopted (outcome ``recovered``), not recomputed;
* computation **dead letter** — an event the handler rejects fails every attempt and lands in the function's
  DLQ (sent with the function's role, through the queue's KMS key);
* ETL **deleted input** — the object is deleted between its event and the run: ingest lists the key (S3 says
  403 for a missing key) and the run ends FAILED with ``SOURCE_MISSING``;
* ETL **deleted mid-run** — the validate step of a planned run finds its input gone (byte-range read: S3 says
  403 without list rights): ``FileRejected`` ``SOURCE_MISSING``, not a generic AccessDenied;
* ETL **large input** — a gzip input of more rows than ``partitionRows``, with rejects and a conflicting
  duplicate across partitions: ingest stages the partitions, the output quarantines the conflict;
* ETL **redrive without staging** — the output step runs for a run whose partition results are gone
  (staging expired before a redrive): it lists the staging keys and fails ``IncompleteRun``, publishing nothing;
* schedule **target gone** (last: it deletes each computation's function) — Scheduler cannot invoke the target
  and sends the event to the schedule's dead-letter queue with the schedule's role.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """One scenario's result for one component."""

    scenario: str
    component: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "component": self.component, "expected": self.expected,
                "actual": self.actual, "ok": self.ok}


# ------------------------------------------------------------------------------------------------ computations


def computation_replay(deployment: Any, comp: Any, day: date) -> Outcome:
    """Mark ``day``'s SUCCESS row FAILED (as a crash after the artifact writes leaves it) and fire again."""
    from components.schedules import scheduled_time_for
    from handlers.runtime.ledger import Ledger
    from sandbox.demo import run_computation
    from sandbox.events import invoke_schedule

    table = deployment.output(f"{comp.name}_table_name")
    ledger = Ledger(table, comp.name, client=deployment.client("dynamodb"))
    first = run_computation(deployment, comp.name, comp.args.schedule, comp.args.timezone, day)
    if first.status != "SUCCESS":
        return Outcome("replay", comp.name, "SUCCESS", f"first run {first.status}")
    deployment.client("dynamodb").update_item(
        TableName=table, Key=ledger.key(day.isoformat()), UpdateExpression="SET #s = :failed",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":failed": {"S": "FAILED"}})
    invoke_schedule(deployment, f"{comp.name}-schedule",
                    scheduled_time_for(comp.args.schedule, comp.args.timezone, day), attempt=2)
    record = ledger.get(day.isoformat())
    return Outcome("replay", comp.name, "SUCCESS", record.status if record else "MISSING")


def computation_dead_letter(deployment: Any, comp: Any) -> Outcome:
    """An asynchronous event the handler rejects: every attempt fails, the event lands in the DLQ."""
    from sandbox.demo import queue_depth

    url = deployment.output(f"{comp.name}_dlq_url")
    before = queue_depth(deployment, url)
    function = deployment.function(f"{comp.name}-fn").physical_name
    deployment.client("lambda").invoke(FunctionName=function, InvocationType="Event",
                                       Payload=json.dumps({"scheduledTime": "not-a-time"}).encode())
    added = queue_depth(deployment, url) - before
    return Outcome("dead-letter", comp.name, "DLQ messages +1", f"DLQ messages +{added}")


def schedule_target_gone(deployment: Any, comp: Any, day: date) -> Outcome:
    """Delete the computation's function, fire its schedule: Scheduler dead-letters the event."""
    from components.schedules import scheduled_time_for
    from sandbox.events import invoke_schedule

    function = deployment.function(f"{comp.name}-fn").physical_name
    deployment.client("lambda").delete_function(FunctionName=function)
    result = invoke_schedule(deployment, f"{comp.name}-schedule",
                             scheduled_time_for(comp.args.schedule, comp.args.timezone, day))
    return Outcome("target-gone", comp.name, "dead-lettered ResourceNotFoundException",
                   f"dead-lettered {result.dead_letter_error}" if result.dead_letter_error else "not dead-lettered")


# ------------------------------------------------------------------------------------------------ pipelines


def dataset_samples(dataset: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """The dataset's sample files and their expected outcomes (as the demo makes them)."""
    from pathlib import Path

    from sandbox.demo import dataset_samples as make

    with tempfile.TemporaryDirectory() as tmp:
        return make(dataset, Path(tmp))


def _run_status(deployment: Any, pipe: Any, key: str) -> tuple[str, str]:
    from sandbox.demo import ledger_items

    items = ledger_items(deployment, pipe.name)
    item = next((i for i in items if i.get("key") == key), None)
    if item is None:
        return "MISSING", ""
    return str(item.get("status")), str(item.get("error_message") or item.get("error") or "")


def _wait_all(deployment: Any, arns: Iterable[str]) -> None:
    from sandbox.demo import EXECUTION_TIMEOUT_S
    from sandbox.events import wait_execution

    for arn in arns:
        wait_execution(arn, EXECUTION_TIMEOUT_S, aws=deployment.aws)


def pipeline_deleted_input(deployment: Any, pipe: Any) -> Outcome:
    """Put an input, delete it before its event is delivered, deliver the event."""
    from sandbox.events import deliver_s3_notices

    raw = deployment.output(f"{pipe.name}_raw_bucket_name")
    key = f"{pipe.args.input_prefix}deleted-before-its-run{pipe.args.input_suffix}"
    s3 = deployment.client("s3")
    version = s3.put_object(Bucket=raw, Key=key, Body=b"x")["VersionId"]
    s3.delete_object(Bucket=raw, Key=key, VersionId=version)
    _wait_all(deployment, [d.execution_arn for d in deliver_s3_notices(deployment) if d.execution_arn])
    status, message = _run_status(deployment, pipe, key)
    return Outcome("deleted-input", pipe.name, "FAILED SOURCE_MISSING",
                   f"{status} {'SOURCE_MISSING' if 'SOURCE_MISSING' in message else message[:80]}".strip())


def pipeline_deleted_mid_run(deployment: Any, pipe: Any) -> Outcome:
    """The validate step of a run whose input was deleted after ingest planned it (a redrive, or a delete
    racing the run): it reads the input by byte range, finds it gone, and rejects the file as SOURCE_MISSING."""
    from handlers.etl.settings import object_id, run_id

    raw = deployment.output(f"{pipe.name}_raw_bucket_name")
    key = f"{pipe.args.input_prefix}deleted-mid-run{pipe.args.input_suffix}"
    s3 = deployment.client("s3")
    version = s3.put_object(Bucket=raw, Key=key, Body=b"a,b\n1,2\n")["VersionId"]
    s3.delete_object(Bucket=raw, Key=key, VersionId=version)
    oid = object_id(raw, key, version)
    run = {"object_id": oid, "run_id": run_id(oid), "bucket": raw, "key": key, "version_id": version,
           "format": "csv", "header_start": 0, "header_end": 4, "partition_count": 1, "dataset": pipe.args.dataset}
    partition = {"index": 0, "start": 4, "end": 8, "first_row": 1}
    function = deployment.function(f"{pipe.name}-validate-fn").physical_name
    response = deployment.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"run": run, "partition": partition}).encode())
    payload = json.loads(response["Payload"].read())
    if not response.get("FunctionError"):
        return Outcome("deleted-mid-run", pipe.name, "FileRejected SOURCE_MISSING", "validated")
    code = "SOURCE_MISSING" if "no longer exists" in str(payload.get("errorMessage")) else \
        str(payload.get("errorMessage"))[:80]
    return Outcome("deleted-mid-run", pipe.name, "FileRejected SOURCE_MISSING", f"{payload.get('errorType')} {code}")


def large_input(samples: dict[str, bytes], outcomes: dict[str, str], unique: Sequence[str], rows: int) -> bytes:
    """A gzip input in the samples' format (CSV or JSON Lines): ``rows`` rows cycled from the clean sample (so more
    than one partition, and exact duplicates), then the sample rows with rejects, then a row with the key of the
    first row and the other values of the second: a conflicting duplicate across partitions."""
    by_outcome = {outcome: name for name, outcome in sorted(outcomes.items(), reverse=True)}
    clean_text = samples[by_outcome["COMPLETED"]].decode()
    rejects_text = samples[by_outcome["COMPLETED_WITH_REJECTS"]].decode()
    if clean_text.lstrip().startswith("{"):  # JSON Lines: one object a row
        body = [json.loads(line) for line in clean_text.splitlines() if line.strip()]
        rejected = [json.loads(line) for line in rejects_text.splitlines() if line.strip()]
        conflict = {k: body[0][k] if k in unique else body[1].get(k) for k in body[0]}
        records = [*(body[index % len(body)] for index in range(rows)), *rejected, conflict]
        return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode(), mtime=0)
    clean = list(csv.reader(io.StringIO(clean_text)))
    rejects = list(csv.reader(io.StringIO(rejects_text)))
    header, rows_in = clean[0], clean[1:]
    keys = {header.index(column) for column in unique}
    conflict_row = [rows_in[0][i] if i in keys else rows_in[1][i] for i in range(len(header))]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows_in[index % len(rows_in)] for index in range(rows))
    writer.writerows(rejects[1:])
    writer.writerow(conflict_row)
    return gzip.compress(out.getvalue().encode(), mtime=0)


def pipeline_large_input(deployment: Any, pipe: Any, samples: dict[str, bytes], outcomes: dict[str, str]) -> Outcome:
    """A gzip input larger than ``partitionRows``, with rejects and a conflicting duplicate across partitions:
    ingest stages the partitions, the output quarantines the conflict beside the partitions' rejects."""
    from handlers.etl.datasets import load_dataset
    from sandbox.events import put_object_created

    unique = load_dataset(pipe.args.dataset).schema.unique
    body = large_input(samples, outcomes, unique, int(pipe.args.partition_rows))
    key = f"{pipe.args.input_prefix}partitioned-with-rejects{pipe.args.input_suffix}"
    raw = deployment.output(f"{pipe.name}_raw_bucket_name")
    _wait_all(deployment, put_object_created(deployment, raw, key, body))
    return Outcome("large-input", pipe.name, "COMPLETED_WITH_REJECTS", _run_status(deployment, pipe, key)[0])


def pipeline_redrive_without_staging(deployment: Any, pipe: Any) -> Outcome:
    """The output step for a two-partition run whose staged results are gone."""
    from handlers.etl.settings import object_id, run_id

    raw = deployment.output(f"{pipe.name}_raw_bucket_name")
    key = f"{pipe.args.input_prefix}staging-expired{pipe.args.input_suffix}"
    oid = object_id(raw, key, "v-expired")
    run = {"object_id": oid, "run_id": run_id(oid), "bucket": raw, "key": key, "version_id": None,
           "partition_count": 2, "dataset": pipe.args.dataset}
    function = deployment.function(f"{pipe.name}-output-fn").physical_name
    response = deployment.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"run": run}).encode())
    payload = json.loads(response["Payload"].read())
    actual = str(payload.get("errorType")) if response.get("FunctionError") else "succeeded"
    return Outcome("redrive-without-staging", pipe.name, "IncompleteRun", actual)


# ------------------------------------------------------------------------------------------------ all


def run_error_paths(deployment: Any, cfg: Any, *, today: Callable[[Any], date],
                    report: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Every scenario for every computation and pipeline of ``cfg`` (``today(comp)`` is a computation's date)."""
    outcomes: list[Outcome] = []

    def record(outcome: Outcome) -> None:
        outcomes.append(outcome)
        report(outcome)

    for comp in cfg.computations:
        record(computation_replay(deployment, comp, today(comp)))
        record(computation_dead_letter(deployment, comp))
    for pipe in cfg.pipelines:
        samples, expected = dataset_samples(pipe.args.dataset)
        record(pipeline_deleted_input(deployment, pipe))
        record(pipeline_deleted_mid_run(deployment, pipe))
        record(pipeline_large_input(deployment, pipe, samples, expected))
        record(pipeline_redrive_without_staging(deployment, pipe))
    for comp in cfg.computations:  # last: deletes the function
        record(schedule_target_gone(deployment, comp, today(comp)))
    return outcomes
