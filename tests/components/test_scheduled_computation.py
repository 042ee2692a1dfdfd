"""ScheduledComputation under the mocks: exact IAM, schedule, encryption, retention, alarms, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.scheduled_computation import (
    TYPE_TOKEN,
    ScheduledComputationArgs,
    artifact_prefix,
    function_statements,
)
from handlers.runtime import env
from synth.graph import Graph, Resource
from tests.support.programs import synth_program


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("scheduled_computation")


@pytest.fixture(scope="module")
def shared() -> Graph:
    return synth_program("scheduled_computation_shared")


def policy(graph: Graph, role_name: str) -> list[dict[str, Any]]:
    doc = json.loads(graph.find(f"{role_name}-policy", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    return doc["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements}


def only(graph: Graph, type_token: str) -> Resource:
    found = graph.by_type(type_token)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


# --------------------------------------------------------------------------- tree and outputs
def test_every_resource_is_a_descendant_of_the_component(graph: Graph) -> None:
    comp = graph.find("daily-stats", TYPE_TOKEN)
    descendants = {r.urn for r in graph.descendants(comp.urn)}
    others = [r.name for r in graph if r.custom and r.urn not in descendants]
    assert others == []


def test_outputs_name_function_schedule_bucket_table_and_dlq(graph: Graph) -> None:
    outputs = graph.outputs["outputs"]
    assert outputs["function_arn"] == graph.find("daily-stats-fn").outputs["arn"]
    assert outputs["schedule_arn"] == graph.find("daily-stats-schedule").outputs["arn"]
    assert outputs["bucket_name"] == graph.find("daily-stats-artifacts-bucket").outputs["bucket"]
    assert outputs["table_arn"] == graph.find("daily-stats-ledger-table").outputs["arn"]
    assert outputs["dlq_arn"] == graph.find("daily-stats-dlq-queue").outputs["arn"]
    assert outputs["dlq_url"] == graph.find("daily-stats-dlq-queue").outputs["url"]


# --------------------------------------------------------------------------- IAM
def test_function_role_has_exactly_the_needed_statements(graph: Graph) -> None:
    bucket_arn = graph.find("daily-stats-artifacts-bucket").outputs["arn"]
    statements = by_sid(policy(graph, "daily-stats"))
    assert statements["WriteArtifactsOnce"]["Action"] == "s3:PutObject"
    assert statements["WriteArtifactsOnce"]["Resource"] == f"{bucket_arn}/daily-stats/*"
    assert statements["ReadBackArtifacts"]["Action"] == "s3:GetObject"
    assert statements["ReadBackArtifacts"]["Resource"] == f"{bucket_arn}/daily-stats/*"
    assert statements["ListArtifacts"] == {
        "Sid": "ListArtifacts", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
        "Condition": {"StringLike": {"s3:prefix": "daily-stats/*"}}}
    assert statements["KeepRunLedger"] == {
        "Sid": "KeepRunLedger", "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        "Resource": graph.find("daily-stats-ledger-table").outputs["arn"]}
    assert statements["UseKey"]["Resource"] == graph.find("daily-stats-key").outputs["arn"]
    assert statements["SendToDeadLetterQueue"]["Resource"] == graph.find("daily-stats-dlq-queue").outputs["arn"]
    assert statements["WriteOwnLogs"]["Resource"] == graph.find("daily-stats-logs").outputs["arn"] + ":*"
    assert set(statements) == {"WriteArtifactsOnce", "ReadBackArtifacts", "ListArtifacts", "KeepRunLedger", "UseKey",
                               "SendToDeadLetterQueue", "WriteOwnLogs", "XRayTracing"}


def test_no_wildcard_action_no_delete_and_only_xray_on_star(graph: Graph) -> None:
    for role in ("daily-stats", "daily-stats-scheduler"):
        for statement in policy(graph, role):
            actions = as_list(statement["Action"])
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in actions), statement
            assert not any("Delete" in action for action in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert actions == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], statement


def test_scheduler_role_may_only_invoke_this_function_and_dead_letter(graph: Graph) -> None:
    statements = by_sid(policy(graph, "daily-stats-scheduler"))
    assert statements["InvokeThisFunction"]["Action"] == "lambda:InvokeFunction"
    assert statements["InvokeThisFunction"]["Resource"] == graph.find("daily-stats-fn").outputs["arn"]
    assert statements["SendToDeadLetterQueue"]["Resource"] == graph.find("daily-stats-dlq-queue").outputs["arn"]
    assert set(statements) == {"InvokeThisFunction", "SendToDeadLetterQueue", "EncryptDeadLetters"}
    trust = json.loads(graph.find("daily-stats-scheduler-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


# --------------------------------------------------------------------------- schedule
def test_schedule_has_timezone_window_retry_dlq_and_key(graph: Graph) -> None:
    schedule = graph.find("daily-stats-schedule").inputs
    assert schedule["scheduleExpression"] == "cron(0 16 * * ? *)"
    assert schedule["scheduleExpressionTimezone"] == "Asia/Kolkata"
    assert schedule["flexibleTimeWindow"] == {"mode": "FLEXIBLE", "maximumWindowInMinutes": 15}
    target = schedule["target"]
    assert target["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 7200}
    assert target["deadLetterConfig"] == {"arn": graph.find("daily-stats-dlq-queue").outputs["arn"]}
    assert target["arn"] == graph.find("daily-stats-fn").outputs["arn"]
    assert target["roleArn"] == graph.find("daily-stats-scheduler-role").outputs["arn"]
    assert schedule["kmsKeyArn"] == graph.find("daily-stats-key").outputs["arn"]


def test_schedule_input_carries_scheduler_context_attributes(graph: Graph) -> None:
    target = graph.find("daily-stats-schedule").inputs["target"]
    assert json.loads(target["input"]) == {
        "scheduledTime": "<aws.scheduler.scheduled-time>", "executionId": "<aws.scheduler.execution-id>",
        "attemptNumber": "<aws.scheduler.attempt-number>", "scheduleArn": "<aws.scheduler.schedule-arn>"}


def test_zero_window_turns_flexible_window_off(shared: Graph) -> None:
    assert shared.find("hourly-schedule").inputs["flexibleTimeWindow"] == {"mode": "OFF"}


# --------------------------------------------------------------------------- function
def test_function_runs_handlers_zip_with_tracing_json_logs_and_no_reservation(graph: Graph) -> None:
    fn = graph.find("daily-stats-fn").inputs
    assert fn["handler"] == "handlers.computations.daily_stats.handler"
    assert fn["memorySize"] == 1024 and fn["timeout"] == 120
    assert fn["tracingConfig"] == {"mode": "Active"}
    assert fn["loggingConfig"]["logFormat"] == "JSON"
    assert fn["loggingConfig"]["logGroup"] == graph.find("daily-stats-logs").outputs["name"]
    # unreserved by default: the ledger's lease serializes runs, and quota-10 accounts refuse any reservation
    assert "reservedConcurrentExecutions" not in fn
    assert fn["layers"] == ["arn:aws:lambda:ap-south-1:123456789012:layer:scientific:1"]
    assert fn["kmsKeyArn"] == graph.find("daily-stats-key").outputs["arn"]


def test_function_environment_names_bucket_prefix_table_timezone_and_lease(graph: Graph) -> None:
    variables = graph.find("daily-stats-fn").inputs["environment"]["variables"]
    assert variables[env.ARTIFACT_BUCKET] == graph.find("daily-stats-artifacts-bucket").outputs["bucket"]
    assert variables[env.ARTIFACT_PREFIX] == "daily-stats/"
    assert variables[env.LEDGER_TABLE] == graph.find("daily-stats-ledger-table").outputs["name"]
    assert variables[env.TIMEZONE] == "Asia/Kolkata"
    assert variables[env.SCHEDULE] == "cron(0 16 * * ? *)"
    assert variables[env.COMPUTATION_NAME] == "daily-stats"
    assert variables[env.LEASE_SECONDS] == "180"
    assert variables[env.CODE_HASH] == graph.find("daily-stats-fn").inputs["sourceCodeHash"]
    assert variables["EXTRA"] == "1"


def test_async_failures_go_to_the_encrypted_dlq(graph: Graph) -> None:
    config = graph.find("daily-stats-invoke-config").inputs
    assert config["destinationConfig"]["onFailure"]["destination"] == graph.find("daily-stats-dlq-queue").outputs["arn"]
    assert config["maximumRetryAttempts"] == 2
    assert graph.find("daily-stats-dlq-queue").inputs["kmsMasterKeyId"] == graph.find("daily-stats-key").outputs["arn"]


def test_log_group_has_retention_and_key(graph: Graph) -> None:
    logs = graph.find("daily-stats-logs").inputs
    assert logs["retentionInDays"] == 90
    assert logs["kmsKeyId"] == graph.find("daily-stats-key").outputs["arn"]


# --------------------------------------------------------------------------- storage
def test_bucket_is_kms_encrypted_versioned_private_tls_only_and_owner_enforced(graph: Graph) -> None:
    key_arn = graph.find("daily-stats-key").outputs["arn"]
    rule = graph.find("daily-stats-artifacts-encryption").inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    assert rule["bucketKeyEnabled"] is True
    assert graph.find("daily-stats-artifacts-versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    block = graph.find("daily-stats-artifacts-public-access-block").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    assert graph.find("daily-stats-artifacts-ownership").inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    bucket_policy = json.loads(graph.find("daily-stats-artifacts-bucket-policy").inputs["policy"])
    assert bucket_policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_ledger_table_keys_pitr_and_kms(graph: Graph) -> None:
    table = graph.find("daily-stats-ledger-table").inputs
    assert (table["hashKey"], table["rangeKey"]) == ("date", "computation")
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True,
                                             "kmsKeyArn": graph.find("daily-stats-key").outputs["arn"]}


def test_key_rotates(graph: Graph) -> None:
    assert graph.find("daily-stats-key").inputs["enableKeyRotation"] is True


# --------------------------------------------------------------------------- alarms
def test_alarms_on_errors_throttles_and_dlq_depth(graph: Graph) -> None:
    alarms = {r.inputs["metricName"]: r.inputs for r in graph.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {"Errors", "Throttles", "ApproximateNumberOfMessagesVisible"}
    assert alarms["Errors"]["dimensions"] == {"FunctionName": graph.find("daily-stats-fn").outputs["name"]}
    assert alarms["ApproximateNumberOfMessagesVisible"]["dimensions"] == {
        "QueueName": graph.find("daily-stats-dlq-queue").outputs["name"]}
    assert all(a["threshold"] == 0 and a["comparisonOperator"] == "GreaterThanThreshold" for a in alarms.values())


def test_alarm_topic_receives_alarm_and_ok(shared: Graph) -> None:
    for alarm in shared.by_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["alarmActions"] == ["arn:aws:sns:ap-south-1:123456789012:alerts"]
        assert alarm.inputs["okActions"] == ["arn:aws:sns:ap-south-1:123456789012:alerts"]


# --------------------------------------------------------------------------- shared resources
def test_shared_bucket_table_and_key_are_used_not_created(shared: Graph) -> None:
    assert shared.by_type("aws:s3/bucket:Bucket") == [shared.find("shared-bucket")]
    assert len(shared.by_type("aws:dynamodb/table:Table")) == 1
    assert len(shared.by_type("aws:kms/key:Key")) == 1
    statements = by_sid(policy(shared, "hourly"))
    bucket_arn = shared.find("shared-bucket").outputs["arn"]
    assert statements["WriteArtifactsOnce"]["Resource"] == f"{bucket_arn}/hourly/*"
    assert statements["KeepRunLedger"]["Resource"] == shared.find("shared-ledger").outputs["arn"]
    assert statements["UseKey"]["Resource"] == shared.find("shared-key").outputs["arn"]


def test_reserved_concurrency_when_configured(shared: Graph) -> None:
    assert shared.find("hourly-fn").inputs["reservedConcurrentExecutions"] == 2


# --------------------------------------------------------------------------- Args validation (pure)
def test_args_reject_bad_schedule() -> None:
    with pytest.raises(ValueError, match=r"cron needs 6 fields"):
        ScheduledComputationArgs(handler="a.b", schedule="cron(0 16 * * ?)")


def test_args_reject_unknown_timezone() -> None:
    with pytest.raises(ValueError, match=r"'Asia/Kolkatta' is not an IANA time zone"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", timezone="Asia/Kolkatta")


def test_args_reject_timeout_over_lambda_maximum() -> None:
    with pytest.raises(ValueError, match=r"^timeout_s: 901 is outside 1\.\.900$"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", timeout_s=901)


def test_args_reject_environment_the_component_manages() -> None:
    with pytest.raises(ValueError, match=env.ARTIFACT_BUCKET):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", environment={env.ARTIFACT_BUCKET: "x"})


def test_args_reject_prefix_without_trailing_slash() -> None:
    with pytest.raises(ValueError, match=r"^artifact_prefix: 'out' is not a relative S3 prefix ending with '/'"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", artifact_prefix="out")


def test_default_prefix_is_the_component_name() -> None:
    assert artifact_prefix("daily-stats", ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)")) == \
        "daily-stats/"


def test_function_statements_scope_objects_to_the_prefix() -> None:
    statements = function_statements("arn:aws:s3:::b", "p/", "arn:aws:dynamodb:ap-south-1:1:table/t")
    assert [s.resources for s in statements] == [("arn:aws:s3:::b/p/*",), ("arn:aws:s3:::b/p/*",),
                                                 ("arn:aws:s3:::b",), ("arn:aws:dynamodb:ap-south-1:1:table/t",)]
    assert statements[2].to_dict()["Condition"] == {"StringLike": {"s3:prefix": "p/*"}}


# --------------------------------------------------------------------------- components.schedules (pure)
def test_scheduled_time_for_kolkata_1600_is_1030_utc() -> None:
    from datetime import date

    from components.schedules import scheduled_time_for

    assert scheduled_time_for("cron(0 16 * * ? *)", "Asia/Kolkata", date(2026, 3, 1)).isoformat() == \
        "2026-03-01T10:30:00+00:00"


def test_scheduled_time_for_follows_daylight_saving() -> None:
    from datetime import date

    from components.schedules import scheduled_time_for

    winter = scheduled_time_for("cron(0 9 * * ? *)", "Europe/Berlin", date(2026, 1, 15))
    summer = scheduled_time_for("cron(0 9 * * ? *)", "Europe/Berlin", date(2026, 7, 15))
    assert (winter.hour, summer.hour) == (8, 7)


def test_rate_schedules_fire_at_local_midnight_for_backfill() -> None:
    from datetime import time

    from components.schedules import daily_fire_time

    assert daily_fire_time("rate(1 day)") == time(0, 0)


# --------------------------------------------------------------------------- SnapStart (python3.12+)
def test_snap_start_publishes_a_version_behind_an_alias_that_the_schedule_invokes() -> None:
    graph = synth_program("scheduled_snap_start")
    fn = graph.find("fast-fn")
    assert fn.inputs["publish"] is True and fn.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    alias = graph.find("fast-live", "aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live" and alias.inputs["functionName"] == fn.outputs["name"]
    assert fn.urn in alias.property_dependencies["functionVersion"]  # the version the function publishes
    assert graph.find("fast-schedule").inputs["target"]["arn"] == alias.outputs["arn"]
    invoke = by_sid(policy(graph, "fast-scheduler"))["InvokeThisFunction"]
    assert invoke["Resource"] == alias.outputs["arn"]
    assert graph.find("fast-invoke-config").inputs["qualifier"] == "live"


def test_snap_start_without_publish_is_what_the_default_function_has(graph: Graph) -> None:
    fn = graph.find("daily-stats-fn").inputs
    assert "snapStart" not in fn and "publish" not in fn
    assert not graph.by_type("aws:lambda/alias:Alias")


def test_snap_start_on_python311_names_the_runtime() -> None:
    from components.functions import FunctionSpec

    with pytest.raises(ValueError, match=r"snap_start needs python3\.12 or newer \(runtime is python3\.11\)"):
        FunctionSpec("computations.daily_stats.handler", snap_start=True)
