"""ScheduledComputation end to end in the embedded AWS: synthesize a program, deploy its data plane, fire the
schedule the way EventBridge Scheduler does, and run daily_stats from the deployed zip of handlers/."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ops.backfill import backfill, main
from sandbox.deploy import Deployment
from sandbox.events import invoke_schedule
from synth.graph import Graph
from tests.support.lambda_context import LambdaContext
from tests.support.layers import cold_starts
from tests.support.programs import deployed, synth_program

KOLKATA_1600 = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
ARTIFACTS = ["data.csv", "manifest.json", "plot.png", "result.json", "stats.json"]
pytestmark = pytest.mark.xdist_group("scheduled-computation-e2e")
STACK = "sandbox"  # the stack name synth gives a program run without a stack file


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("scheduled_e2e", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    """One deployment for the module (deploying is the slow part); every test uses its own dates."""
    with deployed(graph, isolated=True) as deployment:
        yield deployment


def bucket(stack: Deployment, name: str = "daily-stats") -> str:
    return stack.bucket(f"{name}-artifacts-bucket").physical_name


def table(stack: Deployment, name: str = "daily-stats") -> str:
    return stack.table(f"{name}-ledger-table").physical_name


def keys(stack: Deployment, name: str = "daily-stats", prefix: str = "") -> list[str]:
    s3 = stack.client("s3")
    response = s3.list_objects_v2(Bucket=bucket(stack, name), Prefix=prefix)
    return sorted(obj["Key"] for obj in response.get("Contents", []))


def versions(stack: Deployment, name: str = "daily-stats") -> int:
    return len(stack.client("s3").list_object_versions(Bucket=bucket(stack, name)).get("Versions", []))


def ledger(stack: Deployment, day: str, name: str = "daily-stats") -> dict[str, Any]:
    item = stack.client("dynamodb").get_item(TableName=table(stack, name), Key={
        "date": {"S": day}, "computation": {"S": name}}).get("Item")
    assert item is not None, f"no ledger row for {name} {day}"
    return item


def folder(day: str, name: str = "daily-stats") -> list[str]:
    prefix = "daily-stats/" if name == "daily-stats" else f"{name}/"
    return [f"{prefix}date={day}/{artifact}" for artifact in ARTIFACTS]


# --------------------------------------------------------------------------- the scheduled path
def test_scheduled_event_at_1600_kolkata_writes_the_date_folder_and_success(stack: Deployment) -> None:
    result = invoke_schedule(stack, "daily-stats-schedule", KOLKATA_1600)
    assert result.succeeded, result.payload
    assert json.loads(result.input)["scheduledTime"] == "2026-03-01T10:30:00Z"
    assert keys(stack, prefix="daily-stats/date=2026-03-01/") == folder("2026-03-01")
    row = ledger(stack, "2026-03-01")
    assert (row["status"]["S"], row["attempts"]["N"]) == ("SUCCESS", "1")
    assert json.loads(row["summary"]["S"])["anomalies"] == 3


def test_the_handler_runs_in_a_worker_on_the_dev_layers_alone(stack: Deployment) -> None:
    """The deployment is isolated: daily_stats imports pandas and matplotlib from the dev stack's layers in a worker
    process (its cold start reports the init phase), nothing from this venv shadows them."""
    result = invoke_schedule(stack, "daily-stats-schedule", datetime(2026, 3, 4, 10, 30, tzinfo=UTC))
    assert result.succeeded, result.payload
    assert cold_starts(stack, stack.function("daily-stats-fn").physical_name) >= 1
    assert stack.aws.shadowed_layer_packages == {}


def test_run_logs_start_and_finish_with_duration_and_peak_memory_as_json(stack: Deployment) -> None:
    result = invoke_schedule(stack, "daily-stats-schedule", datetime(2026, 3, 3, 10, 30, tzinfo=UTC))
    assert result.invocation is not None
    records = [json.loads(line) for line in result.invocation.log_lines if line.startswith("{")]
    by_message = {record["message"]: record for record in records if record.get("service") == "daily-stats"}
    assert by_message["run started"]["scheduled_time"] == "2026-03-03T10:30:00Z"
    finished = by_message["run finished"]
    assert (finished["date"], finished["status"], finished["run_id"]) == (
        "2026-03-03", "SUCCESS", result.invocation.request_id)
    assert finished["duration_ms"] > 0 and finished["peak_memory_mb"] > 0


def test_artifacts_match_the_manifest_checksums(stack: Deployment) -> None:
    import hashlib

    invoke_schedule(stack, "daily-stats-schedule", KOLKATA_1600)
    s3 = stack.client("s3")
    manifest = json.loads(s3.get_object(Bucket=bucket(stack), Key=folder("2026-03-01")[1])["Body"].read())
    for entry in manifest["artifacts"]:
        body = s3.get_object(Bucket=bucket(stack), Key=entry["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert manifest["code_hash"] == stack.function("daily-stats-fn").resource.inputs["sourceCodeHash"]


def test_same_event_again_writes_nothing_new(stack: Deployment) -> None:
    invoke_schedule(stack, "daily-stats-schedule", KOLKATA_1600)
    before = versions(stack)
    again = invoke_schedule(stack, "daily-stats-schedule", KOLKATA_1600, attempt=2)
    assert (again.payload["outcome"], versions(stack)) == ("already_done", before)
    assert ledger(stack, "2026-03-01")["attempts"]["N"] == "1"


def test_near_midnight_utc_maps_to_the_kolkata_date(stack: Deployment) -> None:
    invoke_schedule(stack, "daily-stats-schedule", datetime(2026, 3, 5, 23, 30, tzinfo=UTC))
    assert keys(stack, prefix="daily-stats/date=2026-03-06/") == folder("2026-03-06")
    assert keys(stack, prefix="daily-stats/date=2026-03-05/") == []
    assert ledger(stack, "2026-03-06")["scheduled_time"]["S"] == "2026-03-05T23:30:00Z"


def test_eight_concurrent_identical_invocations_compute_once(stack: Deployment) -> None:
    from handlers.computations.daily_stats import handler

    function_name = stack.function("daily-stats-fn").physical_name
    config = stack.client("lambda").get_function_configuration(FunctionName=function_name)
    event = {"scheduledTime": "2026-03-10T10:30:00Z", "executionId": "same-execution", "attemptNumber": "1"}
    before = versions(stack)
    barrier = threading.Barrier(8)
    responses: list[dict[str, Any]] = []
    with pytest.MonkeyPatch.context() as env:
        for key, value in config["Environment"]["Variables"].items():
            env.setenv(key, value)

        def invoke() -> None:
            barrier.wait()
            responses.append(handler(event, LambdaContext()))

        threads = [threading.Thread(target=invoke) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r["outcome"] for r in responses).count("computed") == 1
    assert len(responses) == 8 and all(r["outcome"] in ("computed", "in_progress", "already_done") for r in responses)
    assert keys(stack, prefix="daily-stats/date=2026-03-10/") == folder("2026-03-10")
    assert versions(stack) == before + len(ARTIFACTS)
    assert ledger(stack, "2026-03-10")["attempts"]["N"] == "1"


# --------------------------------------------------------------------------- failure paths
def test_failure_leaves_failed_without_artifacts_then_retry_succeeds(stack: Deployment) -> None:
    failed = invoke_schedule(stack, "from-input-schedule", KOLKATA_1600)
    assert failed.function_error and failed.invocation is not None
    assert failed.invocation.error_type == "ComputationFailed"
    row = ledger(stack, "2026-03-01", "from-input")
    assert (row["status"]["S"], row["error_code"]["S"]) == ("FAILED", "InputNotFound")
    assert keys(stack, "from-input", "from-input/date=2026-03-01/") == []
    assert len(failed.invocations) == 3  # the first attempt and Lambda's two async retries
    sqs = stack.client("sqs")
    dead = sqs.receive_message(QueueUrl=stack.queue("from-input-dlq-queue").outputs["url"], MaxNumberOfMessages=10)
    records = [json.loads(message["Body"]) for message in dead.get("Messages", [])]
    assert [r["requestPayload"]["scheduledTime"] for r in records] == ["2026-03-01T10:30:00Z"]
    assert records[0]["requestContext"]["condition"] == "RetriesExhausted"

    readings = "value\n" + "\n".join(str(v) for v in (10.0, 10.4, 9.8, 10.9, 10.2, 11.1, 10.7, 30.0, 11.3)) + "\n"
    stack.client("s3").put_object(Bucket=bucket(stack, "from-input"), Key="from-input/readings/2026-03-01.csv",
                                  Body=readings.encode())
    retried = invoke_schedule(stack, "from-input-schedule", KOLKATA_1600, attempt=2)
    assert retried.succeeded, retried.payload
    row = ledger(stack, "2026-03-01", "from-input")
    assert (row["status"]["S"], "error" in row) == ("SUCCESS", False)
    assert int(row["attempts"]["N"]) > 1
    assert json.loads(row["summary"]["S"])["source"].endswith("from-input/readings/2026-03-01.csv")
    assert keys(stack, "from-input", "from-input/date=") == folder("2026-03-01", "from-input")


def test_malformed_event_gets_a_clear_error(stack: Deployment) -> None:
    rows = stack.client("dynamodb").scan(TableName=table(stack))["Count"]
    response = stack.client("lambda").invoke(FunctionName=stack.function("daily-stats-fn").physical_name,
                                             Payload=json.dumps({"time": "2026-03-01"}).encode())
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "EventError"
    assert payload["errorMessage"].startswith("InvalidEvent: field 'scheduledTime' is required")
    assert stack.client("dynamodb").scan(TableName=table(stack))["Count"] == rows


def test_timeout_path_records_failed_timeout(stack: Deployment) -> None:
    result = invoke_schedule(stack, "tight-schedule", KOLKATA_1600)
    assert result.invocation is not None and result.invocation.error_type == "TimeBudgetExceeded"
    row = ledger(stack, "2026-03-01", "tight")
    assert (row["status"]["S"], row["error_code"]["S"]) == ("FAILED", "timeout")
    assert keys(stack, "tight", "tight/date=2026-03-01/") == []


# --------------------------------------------------------------------------- backfill
def test_backfill_runs_only_the_dates_without_success(stack: Deployment) -> None:
    invoke_schedule(stack, "daily-stats-schedule", datetime(2026, 2, 21, 10, 30, tzinfo=UTC))
    report = backfill("daily-stats", date(2026, 2, 20), date(2026, 2, 22), stack=STACK,
                      lambda_client=stack.client("lambda"), dynamodb_client=stack.client("dynamodb"))
    assert report.already_done == ["2026-02-21"]
    assert [(r.date, r.scheduled_time, r.status) for r in report.runs] == [
        ("2026-02-20", "2026-02-20T10:30:00Z", "SUCCESS"), ("2026-02-22", "2026-02-22T10:30:00Z", "SUCCESS")]
    for day in ("2026-02-20", "2026-02-22"):
        assert keys(stack, prefix=f"daily-stats/date={day}/") == folder(day)


def test_backfill_rejects_a_reversed_range() -> None:
    from ops.backfill import BackfillError, date_range

    with pytest.raises(BackfillError, match=r"--to 2026-03-01 is before --from 2026-03-02"):
        date_range(date(2026, 3, 2), date(2026, 3, 1))


def test_backfill_event_uses_the_schedule_time_of_day_in_its_timezone() -> None:
    from ops.backfill import Target, scheduled_event_for

    target = Target("fn", "daily-stats", "ledger", "America/Los_Angeles", "cron(30 23 * * ? *)")
    event = scheduled_event_for(target, date(2026, 3, 1))
    assert event["scheduledTime"] == "2026-03-02T07:30:00Z"
    from handlers.runtime.scheduled import business_date, parse_event

    assert business_date(parse_event(event).scheduled_time, target.timezone) == date(2026, 3, 1)


def test_backfill_cli_reversed_range_exits_2_before_calling_aws(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["daily-stats", "--from", "2026-03-02", "--to", "2026-03-01"]) == 2
    assert capsys.readouterr().err == "error: --to 2026-03-01 is before --from 2026-03-02\n"


def test_backfill_region_comes_from_the_stack_file(tmp_path: Path) -> None:
    from ops.backfill import stack_region

    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: ap-south-1\n")
    assert (stack_region("dev", tmp_path), stack_region("prod", tmp_path)) == ("ap-south-1", None)


def test_backfill_records_a_refused_invoke_and_continues() -> None:
    from botocore.exceptions import ClientError

    from ops.backfill import Target, invoke_date

    class Throttled:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}},
                              "Invoke")

    run = invoke_date(Throttled(), Target("fn", "daily-stats", "t", "UTC", "rate(1 day)"), date(2026, 3, 1))
    assert (run.status, run.error) == ("FAILED", "TooManyRequestsException: Rate Exceeded.")


def test_backfill_cli_dry_run_lists_missing_dates(stack: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    invoke_schedule(stack, "daily-stats-schedule", datetime(2026, 1, 31, 10, 30, tzinfo=UTC))
    status = main(["daily-stats", "--from", "2026-01-30", "--to", "2026-01-31", "--stack", STACK,
                   "--region", stack.region, "--dry-run", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(r["date"], r["status"]) for r in report["runs"]] == [("2026-01-30", "MISSING")]
    assert keys(stack, prefix="daily-stats/date=2026-01-30/") == []


def test_backfill_cli_reports_failures_with_exit_1(stack: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["from-input", "--from", "2026-04-01", "--to", "2026-04-01", "--stack", STACK,
                   "--region", stack.region])
    assert status == 1
    assert "FAILED" in capsys.readouterr().out


def test_backfill_cli_unknown_computation_exits_2(stack: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["nope", "--from", "2026-03-01", "--to", "2026-03-01", "--stack", STACK, "--region", stack.region])
    assert status == 2
    assert f"no Lambda function has tag sciflow:computation=nope and sciflow:stack={STACK}" in capsys.readouterr().err
