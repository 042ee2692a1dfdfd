"""The EtlPipeline state machine: passes statelint, has the agreed shape, and is built from the step contract."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from statelint.config import Config
from statelint.linter import Linter

from components.asl import AWS_SDK_TRANSIENT_ERRORS, LAMBDA_INVOKE, LAMBDA_TRANSIENT_ERRORS, S3_GET, SQS_SEND
from components.etl_state_machine import EtlDefinitionSpec, etl_definition
from handlers.etl import contract

FN = "arn:aws:lambda:ap-south-1:123456789012:function:"

def make_spec(**overrides: Any) -> EtlDefinitionSpec:
    values: dict[str, Any] = {
        "ingest_arn": FN + "ingest", "validate_arn": FN + "validate", "transform_arn": FN + "transform",
        "output_arn": FN + "output", "on_failure_arn": FN + "on-failure",
        "dlq_url": "https://sqs.ap-south-1.amazonaws.com/123456789012/etl-dlq",
        "results_bucket": "processed", "results_prefix": "sensor-etl/staging/map-results/",
    }
    values.update(overrides)
    return EtlDefinitionSpec(**values)


def lint(definition: dict[str, Any]) -> list[str]:
    """statelint's problems, after removing ``ItemReader.ReaderConfig.InputType`` (AWS accepts it for a
    Distributed Map reading a JSON object; statelint 3.1 does not know the field)."""
    checked = copy.deepcopy(definition)
    for state in checked["States"].values():
        reader = state.get("ItemReader", {}).get("ReaderConfig", {})
        reader.pop("InputType", None)
    return Linter.validate(json.dumps(checked), Config(None, False, False))


# --------------------------------------------------------------------------- statelint on every definition
@pytest.mark.parametrize("overrides", [
    {},
    {"distributed": False},
    {"tolerated_failure_percentage": 5, "max_concurrency": 1, "distributed_max_concurrency": 1000},
    {"retry_interval_s": 1, "retry_max_attempts": 0, "retry_backoff_rate": 1.0, "task_timeout_s": 300,
     "timeout_s": 3600},
], ids=["default", "express-inline-only", "tolerated-failures", "tuned-retries"])
def test_generated_definition_passes_statelint(overrides: dict[str, Any]) -> None:
    assert lint(etl_definition(make_spec(**overrides))) == []


def test_statelint_only_objects_to_reader_input_type() -> None:
    definition = etl_definition(make_spec())
    problems = Linter.validate(json.dumps(definition), Config(None, False, False))
    assert problems == ['Field "InputType" not allowed in State Machine.States.DistributedMap.ItemReader.ReaderConfig']


# --------------------------------------------------------------------------- the ETL machine
def test_flow_goes_ingest_duplicate_check_map_choice_output() -> None:
    states = etl_definition(make_spec())["States"]
    assert etl_definition(make_spec())["StartAt"] == "Ingest"
    assert states["Ingest"]["Next"] == "IsDuplicate"
    assert states["IsDuplicate"]["Choices"] == [
        {"Variable": "$.plan.duplicate", "BooleanEquals": True, "Next": "AlreadyProcessed"}]
    assert states["IsDuplicate"]["Default"] == "ChooseMap"
    assert states["ChooseMap"]["Choices"][0]["Next"] == "DistributedMap"
    assert states["ChooseMap"]["Default"] == "InlineMap"
    assert states["InlineMap"]["Next"] == states["DistributedMap"]["Next"] == "Output"
    assert states["Output"]["End"] is True


def test_every_lambda_task_retries_transient_errors_with_full_jitter() -> None:
    definition = etl_definition(make_spec(retry_interval_s=3, retry_max_attempts=5, retry_backoff_rate=1.5))
    tasks = [s for s in definition["States"].values() if s["Type"] == "Task" and s["Resource"] == LAMBDA_INVOKE]
    for m in ("InlineMap", "DistributedMap"):
        tasks += list(definition["States"][m]["ItemProcessor"]["States"].values())
    assert len(tasks) == 7  # Ingest, Output, RecordFailure + Validate/Transform in each Map
    for task in tasks:
        assert task["Retry"] == [{"ErrorEquals": list(errors), "IntervalSeconds": 3, "MaxAttempts": 5,
                                  "BackoffRate": 1.5, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}
                                 for errors in (LAMBDA_TRANSIENT_ERRORS, AWS_SDK_TRANSIENT_ERRORS)]


def test_data_errors_are_never_retried() -> None:
    states = etl_definition(make_spec())["States"]
    retried = {e for task in ("Ingest", "Output") for r in states[task]["Retry"] for e in r["ErrorEquals"]}
    assert not retried & {"FileRejected", "INCOMPLETE_RUN", "IncompleteRun", "States.ALL", "States.TaskFailed"}


def test_ingest_maps_and_output_catch_everything_into_record_failure() -> None:
    states = etl_definition(make_spec())["States"]
    for name in ("Ingest", "InlineMap", "DistributedMap", "Output"):
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "RecordFailure",
                                          "ResultPath": "$.error"}], name


def test_failure_path_records_then_sends_one_dlq_message_then_fails() -> None:
    states = etl_definition(make_spec())["States"]
    record = states["RecordFailure"]
    assert record["Parameters"]["Payload"] == {"detail.$": "$.detail", "execution_id.$": "$$.Execution.Id",
                                               "error.$": "$.error"}
    assert record["Next"] == "SendToDlq"
    assert record["Catch"][0]["Next"] == "SendToDlq"  # a ledger outage still dead-letters the run
    send = states["SendToDlq"]
    assert send["Resource"] == SQS_SEND
    assert send["Parameters"]["QueueUrl"] == make_spec().dlq_url
    assert send["Next"] == "Failed"
    assert send["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.dlq_error"}]
    assert states["Failed"] == {"Type": "Fail", "Error": "EtlRunFailed",
                                "Cause": "The run failed: see the ledger item and the DLQ message"}


def test_payloads_pass_paths_not_data() -> None:
    states = etl_definition(make_spec())["States"]
    assert states["Ingest"]["Parameters"]["Payload"] == {"detail.$": "$.detail", "execution_id.$": "$$.Execution.Id"}
    assert states["Output"]["Parameters"]["Payload"] == {"run.$": "$.plan.run"}
    assert states["InlineMap"]["ItemSelector"] == {"run.$": "$.plan.run", "partition.$": "$$.Map.Item.Value"}
    assert "ResultPath" in states["InlineMap"] and states["InlineMap"]["ResultPath"] is None


def test_inline_map_reads_partitions_from_the_plan_with_max_concurrency() -> None:
    inline = etl_definition(make_spec(max_concurrency=7))["States"]["InlineMap"]
    assert inline["ItemsPath"] == "$.plan.partitions"
    assert inline["MaxConcurrency"] == 7
    assert inline["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert inline["ItemProcessor"]["StartAt"] == "Validate"
    assert inline["ItemProcessor"]["States"]["Validate"]["Next"] == "Transform"


def test_distributed_map_reads_items_from_s3_and_writes_results() -> None:
    dist = etl_definition(make_spec(tolerated_failure_percentage=10))["States"]["DistributedMap"]
    assert dist["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert dist["ItemReader"] == {"Resource": S3_GET, "ReaderConfig": {"InputType": "JSON"},
                                  "Parameters": {"Bucket.$": "$.plan.items.bucket", "Key.$": "$.plan.items.key"}}
    assert dist["ResultWriter"]["Parameters"] == {"Bucket": "processed", "Prefix": "sensor-etl/staging/map-results/"}
    assert dist["ToleratedFailurePercentage"] == 10
    assert "ItemsPath" not in dist


def test_zero_tolerated_failures_is_left_to_the_aws_default() -> None:
    assert "ToleratedFailurePercentage" not in etl_definition(make_spec())["States"]["DistributedMap"]


def test_without_distributed_map_duplicate_check_goes_straight_to_inline_map() -> None:
    states = etl_definition(make_spec(distributed=False))["States"]
    assert "DistributedMap" not in states and "ChooseMap" not in states
    assert states["IsDuplicate"]["Default"] == "InlineMap"


def test_pulumi_outputs_pass_through_untouched() -> None:
    marker = object()
    definition = etl_definition(make_spec(ingest_arn=marker))
    assert definition["States"]["Ingest"]["Parameters"]["FunctionName"] is marker


# --------------------------------------------------------------------------- built from the contract
def _paths(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in ([v] if k.endswith(".$") or (k in ("Variable", "ItemsPath",
                "ResultPath", "OutputPath") and isinstance(v, str)) else _paths(v))]
    if isinstance(value, list):
        return [p for v in value for p in _paths(v)]
    return []


def test_every_state_path_is_a_field_of_the_contract() -> None:
    paths = _paths(etl_definition(make_spec()))
    assert len(paths) > 20
    for path in paths:
        if path.startswith("$$."):
            assert path in (contract.EXECUTION_ID, contract.MAP_ITEM)
        elif path.startswith(contract.LAMBDA_RESULT):
            assert path.split(".")[2:3] == [] or path.split(".")[2] in {
                f for t in (contract.IngestOutput, contract.OutputOutput, contract.FailureRecorded)
                for f in contract.fields(t)}, path
        else:
            contract.state_path(*path.split(".")[1:])  # raises on a key the contract does not declare


def test_step_inputs_and_selectors_carry_exactly_the_contract_fields() -> None:
    states = etl_definition(make_spec())["States"]
    assert [k[:-2] for k in states["Ingest"]["Parameters"]["Payload"]] == list(contract.fields(contract.IngestInput))
    assert [k[:-2] for k in states["Ingest"]["ResultSelector"]] == list(contract.fields(contract.IngestOutput))
    assert [k[:-2] for k in states["Output"]["ResultSelector"]] == list(contract.fields(contract.OutputOutput))
    assert [k[:-2] for k in states["InlineMap"]["ItemSelector"]] == list(contract.fields(contract.ValidateInput))
    body = states["SendToDlq"]["Parameters"]["MessageBody"]
    assert [k[:-2] for k in body] == list(contract.fields(contract.DlqMessage))


def test_a_path_outside_the_contract_is_refused() -> None:
    with pytest.raises(KeyError, match="'partitionz' is not a field of IngestOutput"):
        contract.state_path("plan", "partitionz")
    with pytest.raises(KeyError, match="ValidateInput: unknown field extra"):
        contract.parameters(contract.ValidateInput, {"run": "$.r", "partition": "$.p", "extra": "$.x"})
