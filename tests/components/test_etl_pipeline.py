"""EtlPipeline under the mocks: exact IAM per role, rule pattern and target, logging/X-Ray/encryption, alarms,
outputs, EXPRESS and shared-resource variants, Args validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.etl_pipeline import STEPS, TYPE_TOKEN, EtlPipelineArgs, event_pattern
from handlers.runtime import env
from synth.graph import Graph
from tests.support.programs import synth_program

LAYER = "arn:aws:lambda:ap-south-1:123456789012:layer:scientific:1"
@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("etl_pipeline", stack=None)


@pytest.fixture(scope="module")
def variant() -> Graph:
    return synth_program("etl_pipeline_shared", stack=None)


def out(graph: Graph, name: str, key: str = "arn") -> Any:
    return graph.find(name).outputs[key]


def statements(graph: Graph, policy_name: str) -> dict[str, dict[str, Any]]:
    doc = json.loads(graph.find(policy_name, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    return {s["Sid"]: s for s in doc["Statement"]}


def step_policy(graph: Graph, step: str, pipeline: str = "sensor-etl") -> dict[str, dict[str, Any]]:
    found = statements(graph, f"{pipeline}-{step.replace('_', '-')}-policy")
    for common in ("WriteOwnLogs", "XRayTracing", "UseKey"):
        assert common in found, (step, common)
        del found[common]
    return found


def grants(found: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    return {sid: (s["Action"], s["Resource"]) for sid, s in found.items()}


# --------------------------------------------------------------------------- tree and outputs
def test_every_resource_is_a_descendant_of_the_component(graph: Graph) -> None:
    comp = graph.find("sensor-etl", TYPE_TOKEN)
    descendants = {r.urn for r in graph.descendants(comp.urn)}
    assert [r.name for r in graph if r.custom and r.urn not in descendants] == []


def test_outputs_have_consistent_names(graph: Graph) -> None:
    outputs = graph.outputs["outputs"]
    assert outputs["state_machine_arn"] == out(graph, "sensor-etl-sfn")
    assert outputs["raw_bucket_name"] == out(graph, "sensor-etl-raw-bucket", "bucket")
    assert outputs["processed_bucket_name"] == out(graph, "sensor-etl-processed-bucket", "bucket")
    assert outputs["quarantine_bucket_name"] == out(graph, "sensor-etl-quarantine-bucket", "bucket")
    assert outputs["table_name"] == out(graph, "sensor-etl-runs-table", "name")
    assert outputs["dlq_url"] == out(graph, "sensor-etl-dlq-queue", "url")
    assert outputs["rule_arn"] == out(graph, "sensor-etl-rule")
    for step in STEPS:
        assert outputs[f"{step}_function_arn"] == out(graph, f"sensor-etl-{step.replace('_', '-')}-fn")


# --------------------------------------------------------------------------- exact IAM per role
def test_ingest_reads_raw_prefix_writes_staging_and_claims_runs(graph: Graph) -> None:
    raw, processed = out(graph, "sensor-etl-raw-bucket"), out(graph, "sensor-etl-processed-bucket")
    found = step_policy(graph, "ingest")
    # listing the input prefix tells a deleted input (S3: 403 without ListBucket) from a refused read
    assert found["ListRawInput"]["Condition"] == {"StringLike": {"s3:prefix": "incoming/*"}}
    assert grants(found) == {
        "ReadRawInput": (["s3:GetObject", "s3:GetObjectVersion"], f"{raw}/incoming/*"),
        "ReadWriteStaging": (["s3:GetObject", "s3:PutObject"], f"{processed}/sensor-etl/staging/*"),
        "ListRawInput": ("s3:ListBucket", raw),
        "ClaimRun": (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                     out(graph, "sensor-etl-runs-table")),
    }


def test_validate_reads_raw_prefix_and_writes_staging_and_quarantine_only(graph: Graph) -> None:
    raw, processed = out(graph, "sensor-etl-raw-bucket"), out(graph, "sensor-etl-processed-bucket")
    quarantine = out(graph, "sensor-etl-quarantine-bucket")
    assert grants(step_policy(graph, "validate")) == {
        "ReadRawInput": (["s3:GetObject", "s3:GetObjectVersion"], f"{raw}/incoming/*"),
        "ReadWriteStaging": (["s3:GetObject", "s3:PutObject"], f"{processed}/sensor-etl/staging/*"),
        "WriteQuarantine": (["s3:GetObject", "s3:PutObject"], f"{quarantine}/sensor-etl/rejects/*"),
        # tells an input deleted during the run (SOURCE_MISSING) from a refused read
        "ListRawInput": ("s3:ListBucket", raw),
    }


def test_transform_touches_staging_only(graph: Graph) -> None:
    processed = out(graph, "sensor-etl-processed-bucket")
    assert grants(step_policy(graph, "transform")) == {
        "ReadWriteStaging": (["s3:GetObject", "s3:PutObject"], f"{processed}/sensor-etl/staging/*")}


def test_output_publishes_under_its_prefix_and_completes_runs(graph: Graph) -> None:
    processed, quarantine = out(graph, "sensor-etl-processed-bucket"), out(graph, "sensor-etl-quarantine-bucket")
    found = step_policy(graph, "output")
    assert found["ListStaging"]["Condition"] == {"StringLike": {"s3:prefix": "sensor-etl/staging/*"}}
    assert found["ListPublished"]["Condition"] == {"StringLike": {"s3:prefix": "sensor-etl/published/*"}}
    assert grants(found) == {
        "ReadWriteStaging": (["s3:GetObject", "s3:PutObject"], f"{processed}/sensor-etl/staging/*"),
        "WriteQuarantine": (["s3:GetObject", "s3:PutObject"], f"{quarantine}/sensor-etl/rejects/*"),
        "ListStaging": ("s3:ListBucket", processed),
        "ListPublished": ("s3:ListBucket", processed),
        "PublishOnce": (["s3:GetObject", "s3:PutObject"], f"{processed}/sensor-etl/published/*"),
        "CompleteRun": ("dynamodb:UpdateItem", out(graph, "sensor-etl-runs-table")),
    }


def test_on_failure_may_only_update_the_ledger(graph: Graph) -> None:
    assert grants(step_policy(graph, "on_failure")) == {
        "RecordFailure": ("dynamodb:UpdateItem", out(graph, "sensor-etl-runs-table"))}


def test_state_machine_role_invokes_the_five_steps_and_sends_to_its_dlq(graph: Graph) -> None:
    found = statements(graph, "sensor-etl-sfn-policy")
    processed = out(graph, "sensor-etl-processed-bucket")
    assert sorted(found["InvokeSteps"]["Resource"]) == sorted(
        out(graph, f"sensor-etl-{s.replace('_', '-')}-fn") for s in STEPS)
    assert found["InvokeSteps"]["Action"] == "lambda:InvokeFunction"
    assert found["SendFailuresToDlq"]["Resource"] == out(graph, "sensor-etl-dlq-queue")
    assert found["DistributedMapReadItems"]["Resource"] == f"{processed}/sensor-etl/staging/*"
    assert found["DistributedMapWriteResults"]["Resource"] == f"{processed}/sensor-etl/staging/map-results/*"
    assert set(found) == {"InvokeSteps", "SendFailuresToDlq", "UseKey", "DistributedMapReadItems",
                          "DistributedMapWriteResults", "DeliverLogs", "XRayTracing"}
    trust = json.loads(graph.find("sensor-etl-sfn-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_distributed_map_may_start_and_manage_only_its_own_children(graph: Graph) -> None:
    machine = out(graph, "sensor-etl-sfn")
    found = statements(graph, "sensor-etl-sfn-distributed-map-policy")
    assert grants(found) == {
        "StartMapRunChildren": ("states:StartExecution", machine),
        "ManageMapRunChildren": (["states:DescribeExecution", "states:StopExecution"],
                                 machine.replace(":stateMachine:", ":execution:") + "/*"),
    }
    policy = graph.find("sensor-etl-sfn-distributed-map-policy").inputs
    assert policy["role"] == graph.find("sensor-etl-sfn-role").id


def test_events_role_may_start_this_state_machine_only(graph: Graph) -> None:
    assert grants(statements(graph, "sensor-etl-events-policy")) == {
        "StartThisStateMachine": ("states:StartExecution", out(graph, "sensor-etl-sfn"))}


def test_no_role_has_wildcard_actions_or_deletes(graph: Graph) -> None:
    for policy in graph.by_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith(":*") or a == "*" for a in actions), statement
            assert not any("Delete" in a for a in actions if not a.startswith("logs:")), statement


# --------------------------------------------------------------------------- trigger
def test_raw_bucket_sends_events_to_eventbridge(graph: Graph) -> None:
    notification = graph.find("sensor-etl-raw-notification").inputs
    assert notification["eventbridge"] is True
    assert notification["bucket"] == graph.find("sensor-etl-raw-bucket").id


def test_rule_matches_object_created_under_prefix_and_suffix(graph: Graph) -> None:
    pattern = json.loads(graph.find("sensor-etl-rule").inputs["eventPattern"])
    assert pattern == {"source": ["aws.s3"], "detail-type": ["Object Created"],
                       "detail": {"bucket": {"name": [out(graph, "sensor-etl-raw-bucket", "bucket")]},
                                  "object": {"key": [{"wildcard": "incoming/*.csv"}]}}}


def test_target_starts_the_machine_with_retry_policy_and_dlq(graph: Graph) -> None:
    target = graph.find("sensor-etl-target").inputs
    assert target["arn"] == out(graph, "sensor-etl-sfn")
    assert target["roleArn"] == out(graph, "sensor-etl-events-role")
    assert target["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 7200}
    assert target["deadLetterConfig"] == {"arn": out(graph, "sensor-etl-dlq-queue")}


def test_dlq_accepts_undeliverable_events_from_this_rule_only(graph: Graph) -> None:
    policy = json.loads(graph.find("sensor-etl-dlq-queue-policy").inputs["policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [{"Sid": "AllowEvents", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                      "Action": "sqs:SendMessage", "Resource": out(graph, "sensor-etl-dlq-queue"),
                      "Condition": {"ArnEquals": {"aws:SourceArn": [out(graph, "sensor-etl-rule")]}}}]


# --------------------------------------------------------------------------- state machine
def test_state_machine_logs_everything_to_its_log_group_with_xray(graph: Graph) -> None:
    machine = graph.find("sensor-etl-sfn").inputs
    assert machine["type"] == "STANDARD"
    assert machine["roleArn"] == out(graph, "sensor-etl-sfn-role")
    assert machine["loggingConfiguration"] == {"logDestination": out(graph, "sensor-etl-sfn-logs") + ":*",
                                               "includeExecutionData": True, "level": "ALL"}
    assert machine["tracingConfiguration"] == {"enabled": True}


def test_definition_wires_the_step_functions_and_dlq(graph: Graph) -> None:
    states = json.loads(graph.find("sensor-etl-sfn").inputs["definition"])["States"]
    assert states["Ingest"]["Parameters"]["FunctionName"] == out(graph, "sensor-etl-ingest-fn")
    assert states["Output"]["Parameters"]["FunctionName"] == out(graph, "sensor-etl-output-fn")
    assert states["SendToDlq"]["Parameters"]["QueueUrl"] == out(graph, "sensor-etl-dlq-queue", "url")
    inline = states["InlineMap"]
    assert inline["MaxConcurrency"] == 4
    assert inline["ItemProcessor"]["States"]["Validate"]["Parameters"]["FunctionName"] == out(
        graph, "sensor-etl-validate-fn")
    writer = states["DistributedMap"]["ResultWriter"]["Parameters"]
    assert writer == {"Bucket": out(graph, "sensor-etl-processed-bucket", "bucket"),
                      "Prefix": "sensor-etl/staging/map-results/"}


def test_state_machine_log_group_is_encrypted_with_retention(graph: Graph) -> None:
    logs = graph.find("sensor-etl-sfn-logs").inputs
    assert logs["retentionInDays"] == 90
    assert logs["kmsKeyId"] == out(graph, "sensor-etl-key")


@pytest.mark.parametrize("bucket", ["raw", "processed", "quarantine"])
def test_buckets_are_kms_encrypted_versioned_and_private(graph: Graph, bucket: str) -> None:
    encryption = graph.find(f"sensor-etl-{bucket}-encryption").inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms",
                                                                "kmsMasterKeyId": out(graph, "sensor-etl-key")}
    assert graph.find(f"sensor-etl-{bucket}-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert graph.find(f"sensor-etl-{bucket}-public-access-block").inputs["restrictPublicBuckets"] is True


def test_staging_objects_expire_and_nothing_else_does(graph: Graph) -> None:
    """Current objects expire only under the staging prefix; every bucket's old versions and incomplete uploads
    expire (one lifecycle configuration per bucket, so the staging rule joins the processed bucket's)."""
    lifecycle = graph.find("sensor-etl-processed-lifecycle").inputs
    assert lifecycle["bucket"] == out(graph, "sensor-etl-processed-bucket", "bucket")
    old_versions = {"id": "expire-old-versions", "status": "Enabled", "filter": {"prefix": ""},
                    "noncurrentVersionExpiration": {"noncurrentDays": 30},
                    "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}
    assert lifecycle["rules"] == [{"id": "expire-staging", "status": "Enabled",
                                   "filter": {"prefix": "sensor-etl/staging/"}, "expiration": {"days": 14},
                                   "noncurrentVersionExpiration": {"noncurrentDays": 1},
                                   "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1}}, old_versions]
    for bucket in ("raw", "quarantine"):
        assert graph.find(f"sensor-etl-{bucket}-lifecycle").inputs["rules"] == [old_versions]
    assert len(graph.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")) == 3


def test_shared_processed_bucket_gets_no_lifecycle(variant: Graph) -> None:
    """A bucket the pipeline does not own keeps its owner's lifecycle (the staging rule is then the owner's)."""
    rules = [r for lc in variant.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
             for r in lc.inputs["rules"]]
    assert all(r["id"] != "expire-staging" for r in rules)


def test_ledger_table_and_dlq_are_encrypted(graph: Graph) -> None:
    table = graph.find("sensor-etl-runs-table").inputs
    assert table["hashKey"] == "object_id"
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": out(graph, "sensor-etl-key")}
    assert graph.find("sensor-etl-dlq-queue").inputs["kmsMasterKeyId"] == out(graph, "sensor-etl-key")


# --------------------------------------------------------------------------- functions
def test_functions_run_their_step_handler_with_tracing_and_layers(graph: Graph) -> None:
    for step in STEPS:
        fn = graph.find(f"sensor-etl-{step.replace('_', '-')}-fn").inputs
        assert fn["handler"] == f"handlers.etl.{step}.handler"
        assert fn["tracingConfig"] == {"mode": "Active"}
        assert fn["layers"] == [LAYER]
        assert fn["loggingConfig"]["logFormat"] == "JSON"


def test_step_memory_and_timeout_overrides_apply_to_that_step_only(graph: Graph) -> None:
    output = graph.find("sensor-etl-output-fn").inputs
    validate = graph.find("sensor-etl-validate-fn").inputs
    assert (output["memorySize"], output["timeout"]) == (3008, 600)
    assert (validate["memorySize"], validate["timeout"]) == (1024, 120)


def test_function_environment_names_buckets_table_dataset_and_partitioning(graph: Graph) -> None:
    variables = graph.find("sensor-etl-validate-fn").inputs["environment"]["variables"]
    assert variables[env.ETL_PIPELINE] == "sensor-etl"
    assert variables[env.ETL_DATASET] == "sensor_readings"
    assert variables[env.ETL_PROCESSED_BUCKET] == out(graph, "sensor-etl-processed-bucket", "bucket")
    assert variables[env.ETL_QUARANTINE_BUCKET] == out(graph, "sensor-etl-quarantine-bucket", "bucket")
    assert variables[env.ETL_PARTITION_ROWS] == "100000"
    assert variables[env.ETL_DISTRIBUTED_THRESHOLD] == "40"
    assert variables["SCIFLOW_LEDGER_TABLE"] == out(graph, "sensor-etl-runs-table", "name")


def test_alarms_watch_failed_and_timed_out_runs_and_dlq_depth(graph: Graph) -> None:
    machine = out(graph, "sensor-etl-sfn")
    failed = graph.find("sensor-etl-executions-failed-alarm").inputs
    timed_out = graph.find("sensor-etl-executions-timed-out-alarm").inputs
    depth = graph.find("sensor-etl-dlq-depth-alarm").inputs
    assert (failed["namespace"], failed["metricName"], failed["dimensions"]) == (
        "AWS/States", "ExecutionsFailed", {"StateMachineArn": machine})
    assert (timed_out["metricName"], timed_out["dimensions"]) == ("ExecutionsTimedOut", {"StateMachineArn": machine})
    assert (depth["namespace"], depth["metricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")


def test_resources_carry_the_pipeline_and_given_tags(graph: Graph) -> None:
    tags = graph.find("sensor-etl-sfn").inputs["tags"]
    assert tags["project"] == "sciflow" and tags["sciflow:pipeline"] == "sensor-etl"


# --------------------------------------------------------------------------- variants
def test_express_machine_has_no_distributed_map(variant: Graph) -> None:
    machine = variant.find("fast-etl-sfn").inputs
    assert machine["type"] == "EXPRESS"
    assert "DistributedMap" not in json.loads(machine["definition"])["States"]
    assert [r.name for r in variant.by_type("aws:iam/rolePolicy:RolePolicy") if "distributed" in r.name] == []
    variables = variant.find("fast-etl-ingest-fn").inputs["environment"]["variables"]
    assert int(variables[env.ETL_DISTRIBUTED_THRESHOLD]) >= 1_000_000


def test_shared_resources_are_used_instead_of_own(variant: Graph) -> None:
    # registration order is asynchronous: compare the set of buckets, not their order
    assert sorted(r.name for r in variant.by_type("aws:s3/bucket:Bucket")) == ["shared-lake", "shared-raw"]
    assert [r.name for r in variant.by_type("aws:dynamodb/table:Table")] == ["shared-runs"]
    assert [r.name for r in variant.by_type("aws:kms/key:Key")] == ["shared-key"]
    lake = variant.find("shared-lake").outputs["arn"]
    found = statements(variant, "fast-etl-validate-policy")
    assert found["WriteQuarantine"]["Resource"] == f"{lake}/fast-etl/rejects/*"
    assert found["ReadRawInput"]["Resource"] == variant.find("shared-raw").outputs["arn"] + "/incoming/*"


def test_alarm_topic_and_reserved_concurrency_are_applied(variant: Graph) -> None:
    alarm = variant.find("fast-etl-executions-failed-alarm").inputs
    assert alarm["alarmActions"] == ["arn:aws:sns:ap-south-1:123456789012:alerts"]
    assert variant.find("fast-etl-transform-fn").inputs["reservedConcurrentExecutions"] == 5


# --------------------------------------------------------------------------- Args
def test_event_pattern_combines_prefix_and_suffix() -> None:
    assert event_pattern("b", "in/", "")["detail"]["object"] == {"key": [{"wildcard": "in/*"}]}


@pytest.mark.parametrize(("changes", "message"), [
    ({"dataset": "nope"}, "^dataset: 'nope': no module handlers/etl/datasets/nope.py"),
    ({"input_prefix": "incoming"}, "^input_prefix: 'incoming' is not a relative S3 prefix ending with '/'"),
    ({"input_suffix": "*.csv"}, "^input_suffix: '\\*.csv' is not a key suffix"),
    ({"step_memory_mb": {"load": 512}}, "^step_memory_mb.load: key 'load' is not one of ingest"),
    ({"step_timeout_s": {"output": 901}}, "^step_timeout_s.output: 901 is outside 1..900"),
    ({"state_machine_type": "FAST"}, "^state_machine_type: 'FAST' is not one of STANDARD, EXPRESS"),
    ({"partition_rows": 0}, "^partition_rows: 0 is outside 1..10000000"),
    ({"tolerated_failure_percentage": 101}, "^tolerated_failure_percentage: 101 is outside 0..100"),
    ({"reserved_concurrency": 0}, "^reserved_concurrency: 0 is outside 1..1000"),
    ({"log_retention_days": 10}, "^log_retention_days: 10 is not a CloudWatch Logs retention period"),
])
def test_args_are_validated(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EtlPipelineArgs(**{"dataset": "sensor_readings", **changes})
