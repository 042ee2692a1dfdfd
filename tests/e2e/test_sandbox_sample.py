"""Synth -> deploy -> events on the sample program (tests/fixtures/sample_program), in the embedded AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sandbox import events
from sandbox.aws import embedded_aws
from sandbox.deploy import Deployment, deploy
from synth.graph import Graph


@pytest.fixture(scope="module")
def graph(sample_graph: Graph) -> Graph:
    return sample_graph


@pytest.fixture
def deployment(graph: Graph) -> Iterator[Deployment]:
    with embedded_aws(graph.region) as aws:
        yield deploy(graph, aws)


def ledger(deployment: Deployment) -> dict[str, dict[str, str]]:
    items = deployment.client("dynamodb").scan(TableName=deployment.table("sample-ledger").physical_name)["Items"]
    return {item["pk"]["S"]: {k: next(iter(v.values())) for k, v in item.items()} for item in items}


def read_json(deployment: Deployment, key: str) -> dict[str, object]:
    bucket = deployment.bucket("sample-bucket").physical_name
    return json.loads(deployment.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_every_resource_of_the_sample_is_deployed_under_its_graph_name(deployment: Deployment,
                                                                       graph: Graph) -> None:
    assert deployment.skipped == []
    assert deployment.warnings == []
    custom = [r for r in graph.resources if r.custom and not r.type.startswith("pulumi:")]
    assert len(deployment.resources) == len(custom)
    fn = deployment.function("sample-fn")
    config = deployment.client("lambda").get_function(FunctionName=fn.physical_name)["Configuration"]
    assert config["FunctionArn"] == fn.arn == graph.find("sample-fn").outputs["arn"]
    assert config["Layers"][0]["Arn"] == deployment.layer("sample-layer").arn
    assert config["Timeout"] == 30 and config["MemorySize"] == 256
    # moto chose its own KMS key id: every reference was rewritten to it
    key_arn = deployment.key("sample-key").arn
    assert key_arn != graph.find("sample-key").outputs["arn"]
    assert config["Environment"]["Variables"]["KEY_ARN"] == key_arn
    encryption = deployment.client("s3").get_bucket_encryption(Bucket=deployment.bucket("sample-bucket").physical_name)
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert deployment.output("key_arn") == key_arn


def test_function_runs_from_its_zip_and_writes_to_s3_and_dynamodb(deployment: Deployment) -> None:
    name = deployment.function("sample-fn").physical_name
    response = deployment.client("lambda").invoke(FunctionName=name, Payload=b'{"mode": "ok", "id": "direct-1"}')
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result == {"id": "direct-1", "key": "results/direct-1.json", "function": name}
    assert read_json(deployment, "results/direct-1.json")["stats"] == {"n": 3, "sum": 6.0, "mean": 2.0}
    assert ledger(deployment)["direct-1"]["status"] == "done"
    invocation = deployment.aws.invocations[-1]
    assert "/var/task" not in invocation.log_lines[1]  # the handler's own print, not a trace
    assert invocation.log_lines[1] == "sample handler: mode=ok id=direct-1"


def test_runtime_environment_matches_the_declared_function(deployment: Deployment) -> None:
    name = deployment.function("sample-fn").physical_name
    response = deployment.client("lambda").invoke(FunctionName=name, Payload=b'{"mode": "env"}')
    env = json.loads(response["Payload"].read())
    assert env["bucket"] == deployment.output("bucket")
    assert env["table"] == deployment.output("table")
    assert env["region"] == "ap-south-1"
    assert env["memory"] == 256
    assert 0 < env["remaining_ms"] <= 30_000
    assert env["log_group"] == deployment.log_group("sample-fn-logs").physical_name
    assert env["layer"] == "samplelib-from-layer"


def test_state_machine_success_path(deployment: Deployment) -> None:
    arn = events.start_execution(deployment, "sample-machine", {"mode": "ok", "key": "k"}, name="ok-run")
    final = events.wait_execution(arn, timeout_s=120)
    assert final["status"] == "SUCCEEDED"
    assert json.loads(final["output"])["result"]["id"] == "ok-run"  # $$.Execution.Name reached the Lambda
    assert events.executed_states(arn) == ["Compute", "Done"]
    assert ledger(deployment)["ok-run"]["status"] == "done"


def test_state_machine_retries_a_transient_error_on_its_error_type(deployment: Deployment) -> None:
    arn = events.start_execution(deployment, "sample-machine", {"mode": "flaky", "key": "k"}, name="flaky-run")
    assert events.wait_execution(arn, timeout_s=120)["status"] == "SUCCEEDED"
    attempts = [inv.error_type for inv in deployment.aws.invocations_of(deployment.function("sample-fn").physical_name)]
    assert attempts == ["TransientError", None]
    assert ledger(deployment)["attempts#flaky-run"]["attempts"] == "2"


def test_state_machine_catches_a_failure_and_records_it(deployment: Deployment) -> None:
    arn = events.start_execution(deployment, "sample-machine", {"mode": "bad", "key": "k"}, name="bad-run")
    final = events.wait_execution(arn, timeout_s=120)
    assert final["status"] == "SUCCEEDED"
    assert events.executed_states(arn) == ["Compute", "RecordFailure", "Failed"]
    error = json.loads(final["output"])["error"]
    assert error["Error"] == "BadInput"
    cause = json.loads(error["Cause"])
    assert cause["errorMessage"] == "bad input: field 'reason' = None"
    assert cause["stackTrace"][0].startswith('  File "/var/task/handlers/sample.py"')
    assert ledger(deployment)["bad-run"] == {"pk": "bad-run", "status": "failed", "error": "BadInput"}


def test_object_created_under_incoming_starts_the_state_machine(deployment: Deployment) -> None:
    arns = events.put_object_created(deployment, "sample-bucket", "incoming/2026-03-01.csv", b"a,b\n1,2\n")
    assert len(arns) == 1
    machine_arn = str(deployment.state_machine("sample-machine").arn)
    assert arns[0].startswith(machine_arn.replace(":stateMachine:", ":execution:"))
    final = events.wait_execution(arns[0], timeout_s=120)
    assert final["status"] == "SUCCEEDED"
    # the target's input transformer shaped the execution input from the S3 event
    assert json.loads(final["input"]) == {"mode": "ingest", "bucket": deployment.output("bucket"),
                                          "key": "incoming/2026-03-01.csv"}
    assert ledger(deployment)[final["name"]]["mode"] == "ingest"


def test_objects_outside_the_rule_or_written_by_handlers_start_nothing_by_themselves(
        deployment: Deployment) -> None:
    assert events.put_object_created(deployment, "sample-bucket", "other/file.csv", b"x") == []
    # the direct invoke writes results/… — recorded as an S3 change, delivered only on request
    name = deployment.function("sample-fn").physical_name
    deployment.client("lambda").invoke(FunctionName=name, Payload=b'{"mode": "ok", "id": "w"}')
    assert [n.key for n in deployment.aws.s3_notices if n.key.startswith("results/")] == ["results/w.json"]
    deliveries = events.deliver_s3_notices(deployment)
    assert deliveries == []  # results/ does not match the incoming/ prefix
    assert deployment.aws.s3_notices == []


def test_schedule_invokes_the_function_with_the_rendered_input(deployment: Deployment) -> None:
    when = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    result = events.invoke_schedule(deployment, "sample-daily", when)
    assert result.succeeded
    rendered = json.loads(result.input)
    schedule_arn = deployment.schedule("sample-daily").arn
    assert rendered == {"mode": "scheduled", "scheduled_time": "2026-03-01T10:30:00Z",
                        "execution": result.execution_id, "attempt": "1", "schedule": schedule_arn}
    assert result.payload["key"] == "results/2026-03-01T10-30-00Z.json"
    assert read_json(deployment, "results/2026-03-01T10-30-00Z.json")["mode"] == "scheduled"
    assert result.invocations[0].invocation_type == "Event"


def test_schedule_of_a_failing_function_retries_and_dead_letters(deployment: Deployment, graph: Graph) -> None:
    # make the scheduled call fail: point the schedule's input at the "bad" mode
    scheduler = deployment.client("scheduler")
    sched = deployment.schedule("sample-daily")
    current = scheduler.get_schedule(Name=sched.physical_name, GroupName=sched["groupName"])
    target = dict(current["Target"], Input='{"mode": "bad", "reason": "<aws.scheduler.scheduled-time>"}')
    scheduler.update_schedule(Name=sched.physical_name, GroupName=sched["groupName"], Target=target,
                              ScheduleExpression=current["ScheduleExpression"],
                              FlexibleTimeWindow=current["FlexibleTimeWindow"])
    result = events.invoke_schedule(deployment, "sample-daily", datetime(2026, 3, 2, 10, 30, tzinfo=UTC))
    assert not result.succeeded
    assert [inv.attempt for inv in result.invocations] == [1, 2]  # maximum_retry_attempts=1
    queue_url = deployment.output("dlq")
    message = deployment.client("sqs").receive_message(QueueUrl=queue_url)["Messages"][0]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"mode": "bad", "reason": "2026-03-02T10:30:00Z"}
    assert record["responsePayload"]["errorType"] == "BadInput"


def test_deploying_twice_into_the_same_embedded_aws_is_idempotent(deployment: Deployment, graph: Graph) -> None:
    again = deploy(graph, deployment.aws)
    assert again.replacements == deployment.replacements  # same KMS key, same layer version
    assert len(deployment.client("kms").list_keys()["Keys"]) == 1
    arn = events.start_execution(again, "sample-machine", {"mode": "ok", "key": "k"}, name="after-redeploy")
    assert events.wait_execution(arn, timeout_s=120)["status"] == "SUCCEEDED"


def test_lookup_by_unknown_name_lists_what_is_deployed(deployment: Deployment) -> None:
    with pytest.raises(KeyError, match="sample-fn"):
        deployment.function("no-such-fn")


def test_event_driven_execution_names_repeat_from_run_to_run(graph: Graph) -> None:
    names = []
    for _ in range(2):
        with embedded_aws(graph.region) as aws:
            fresh = deploy(graph, aws)
            events.put_object_created(fresh, "sample-bucket", "incoming/x.csv", b"1")
            names.append(events.put_object_created(fresh, "sample-bucket", "incoming/x.csv", b"2"))
    assert names[0] == names[1]
    assert len(names[0]) == 1
