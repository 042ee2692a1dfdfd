"""Scheduled batch runs: the batch machine (statelint, shape), its role's and the schedule's exact statements,
the schedule's settings, and config errors naming the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.etl_batch import BatchArgs, batch_statements
from components.etl_state_machine import BatchDefinitionSpec, batch_definition
from policy.check import evaluate
from synth.graph import Graph
from tests.components.test_etl_state_machine import lint
from tests.support.programs import synth_program

POLICY = "aws:iam/rolePolicy:RolePolicy"
MACHINE = "arn:aws:states:ap-south-1:123456789012:stateMachine:p-sfn"


def spec(**changes: Any) -> BatchDefinitionSpec:
    values: dict[str, Any] = {"file_machine_arn": MACHINE, "raw_bucket": "raw", "prefix": "incoming/",
                              "suffix": ".csv", "schedule": "p-batch", "results_bucket": "processed",
                              "results_prefix": "p/staging/batch-results/"}
    return BatchDefinitionSpec(**{**values, **changes})


@pytest.mark.parametrize("changes", [{}, {"suffix": ""}, {"max_concurrency": 1000, "retry_max_attempts": 0}])
def test_batch_definition_passes_statelint(changes: dict[str, Any]) -> None:
    assert lint(batch_definition(spec(**changes))) == []


def test_batch_lists_the_prefix_and_runs_each_input_as_its_upload_would() -> None:
    sweep = batch_definition(spec())["States"]["Sweep"]
    assert sweep["ItemReader"] == {"Resource": "arn:aws:states:::s3:listObjectsV2",
                                   "Parameters": {"Bucket": "raw", "Prefix": "incoming/"}}
    assert sweep["ItemSelector"] == {"detail": {
        "bucket": {"name": "raw"}, "sciflow-schedule": "p-batch",
        "object": {"key.$": "$$.Map.Item.Value.Key", "etag.$": "$$.Map.Item.Value.ETag",
                   "size.$": "$$.Map.Item.Value.Size"}}}
    assert sweep["ResultWriter"]["Parameters"] == {"Bucket": "processed", "Prefix": "p/staging/batch-results/"}
    assert sweep["ResultPath"] is None and "ToleratedFailurePercentage" not in sweep
    processor = sweep["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert processor["StartAt"] == "IsInput"
    run = processor["States"]["RunFile"]
    assert run["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert run["Parameters"]["StateMachineArn"] == MACHINE
    assert run["Parameters"]["Input"] == {"detail.$": "$.detail",
                                          "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}
    assert [c["ErrorEquals"] for c in run["Catch"]] == [["States.TaskFailed"],
                                                         ["StepFunctions.ExecutionAlreadyExistsException"]]
    assert "States.ALL" not in json.dumps(run["Retry"])


def test_no_suffix_runs_every_key() -> None:
    processor = batch_definition(spec(suffix=""))["States"]["Sweep"]["ItemProcessor"]
    assert processor["StartAt"] == "RunFile" and "IsInput" not in processor["States"]


def test_batch_statements_are_exact() -> None:
    statements = {s.sid: s.to_dict() for s in batch_statements(
        file_machine_arn=MACHINE, raw_arn="arn:aws:s3:::raw", prefix="incoming/nightly/",
        processed_arn="arn:aws:s3:::processed", pipeline="p", kms_key_arn="arn:k")}
    assert statements["ListBatchPrefix"] == {
        "Sid": "ListBatchPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::raw",
        "Condition": {"StringLike": {"s3:prefix": "incoming/nightly/*"}}}
    assert statements["StartFileRuns"]["Resource"] == MACHINE
    assert statements["ManageFileRuns"] == {
        "Sid": "ManageFileRuns", "Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
        "Resource": "arn:aws:states:ap-south-1:123456789012:execution:p-sfn:*"}
    assert statements["LearnFileRunsEnded"]["Resource"] == (
        "arn:aws:events:ap-south-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
    assert statements["DistributedMapWriteResults"]["Resource"] == "arn:aws:s3:::processed/p/staging/batch-results/*"
    assert statements["UseKey"]["Resource"] == "arn:k"
    wide = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wide == {"DeliverLogs", "XRayTracing"}  # AWS grants these only on "*"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("etl_batch")


def test_schedule_starts_only_the_batch_machine(graph: Graph) -> None:
    machine = graph.find("batch-etl-batch-sfn", "aws:sfn/stateMachine:StateMachine").outputs["arn"]
    schedule = graph.find("batch-etl-batch-schedule").inputs
    assert (schedule["scheduleExpression"], schedule["scheduleExpressionTimezone"]) == ("cron(0 2 * * ? *)",
                                                                                        "Europe/Berlin")
    assert schedule["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 15}
    assert schedule["target"]["arn"] == machine
    assert schedule["target"]["deadLetterConfig"]["arn"] == graph.find("batch-etl-dlq-queue").outputs["arn"]
    doc = json.loads(graph.find("batch-etl-batch-scheduler-policy", POLICY).inputs["policy"])
    statements = {s["Sid"]: s for s in doc["Statement"]}
    assert statements["StartBatchRun"] == {"Sid": "StartBatchRun", "Effect": "Allow",
                                           "Action": "states:StartExecution", "Resource": machine}
    assert set(statements) == {"StartBatchRun", "SendToDeadLetterQueue", "EncryptDeadLetters"}


def test_batch_machine_is_the_builders_and_its_role_is_exact(graph: Graph) -> None:
    machine = graph.find("batch-etl-batch-sfn", "aws:sfn/stateMachine:StateMachine")
    definition = json.loads(machine.inputs["definition"])
    assert definition["States"]["Sweep"]["ItemReader"]["Parameters"] == {
        "Bucket": graph.find("batch-etl-raw-bucket").outputs["bucket"], "Prefix": "incoming/"}
    assert machine.inputs["type"] == "STANDARD" and machine.inputs["tracingConfiguration"] == {"enabled": True}
    doc = json.loads(graph.find("batch-etl-batch-sfn-policy", POLICY).inputs["policy"])
    assert [s["Sid"] for s in doc["Statement"]] == [
        "ListBatchPrefix", "StartFileRuns", "ManageFileRuns", "LearnFileRunsEnded", "DistributedMapWriteResults",
        "UseKey", "DeliverLogs", "XRayTracing"]
    children = json.loads(graph.find("batch-etl-batch-sfn-distributed-map-policy", POLICY).inputs["policy"])
    assert [s["Resource"] for s in children["Statement"]] == [
        machine.outputs["arn"], machine.outputs["arn"].replace(":stateMachine:", ":execution:") + "/*"]


def test_batch_program_passes_the_pack(graph: Graph, tmp_path: Path) -> None:
    assert evaluate(graph, program_dir=tmp_path).mandatory == []


@pytest.mark.parametrize(("batch", "extra", "message"), [
    ({"schedule": "rate(1 day)", "prefix": "other/"}, {},
     r"^sciflow:pipelines\[0\]\.batch\.prefix: 'other/' is outside inputPrefix 'incoming/'"),
    ({"schedule": "rate(1 day)"}, {"stateMachineType": "EXPRESS"},
     r"^sciflow:pipelines\[0\]\.batch: a batch run needs stateMachineType STANDARD"),
    ({"schedule": "cron(0 25 * * ? *)"}, {}, r"^sciflow:pipelines\[0\]\.batch\.schedule: "),
    ({"schedule": "rate(1 day)", "timezone": "Europe/Berlinn"}, {}, r"^sciflow:pipelines\[0\]\.batch\.timezone: "),
    ({"schedule": "rate(1 day)", "maxConcurrency": 0}, {}, r"^sciflow:pipelines\[0\]\.batch\.maxConcurrency: "),
    ({"prefix": "incoming/"}, {}, r"^sciflow:pipelines\[0\]\.batch\.schedule: "),
])
def test_bad_batch_config_names_the_key(batch: dict[str, Any], extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_stack_config({"pipelines": [{"name": "pp", "dataset": "sensor_readings", "batch": batch, **extra}]},
                           region="ap-south-1")


def test_batch_config_parses() -> None:
    cfg = parse_stack_config({"pipelines": [{"name": "pp", "dataset": "sensor_readings", "batch": {
        "schedule": "cron(0 2 * * ? *)", "timezone": "Europe/Berlin", "flexibleWindowMinutes": 30,
        "prefix": "incoming/nightly/"}}]}, region="ap-south-1")
    assert cfg.pipelines[0].args.batch == BatchArgs(schedule="cron(0 2 * * ? *)", timezone="Europe/Berlin",
                                                    flexible_window_minutes=30, prefix="incoming/nightly/")
