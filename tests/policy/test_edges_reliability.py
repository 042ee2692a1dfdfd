"""Edge cases of the stack policies that follow links between resources (DLQs, redrive, failure destinations,
S3 side resources, event source mappings) that change a verdict, found by mutation testing: every way one
resource can point at another is exercised by its literal value and, separately, by property dependency alone
(the value unknown at preview)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.policies.reliability import BUCKET_NOTIFICATION as NOTIFICATION
from policy.policies.reliability import (
    EVENT_TARGET,
    FUNCTION,
    INVOKE_CONFIG,
    MAPPING,
    PERMISSION,
    QUEUE,
    REDRIVE,
    SCHEDULE,
    SUBSCRIPTION,
)
from tests.policy.helpers import UNKNOWN_STRING_VALUE, Res, messages, run_stack

ACCT = "123456789012"
DLQ_ARN = f"arn:aws:sqs:eu-west-1:{ACCT}:dlq"
FN_ARN = f"arn:aws:lambda:eu-west-1:{ACCT}:function:job"


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return dict(out)


# --------------------------------------------------------------------------- sqs-queue-dlq
_DLQ_USERS = [  # (type, path of the DLQ ARN, the property its dependency is recorded under)
    (INVOKE_CONFIG, ("destinationConfig", "onFailure", "destination"), "destinationConfig"),
    (FUNCTION, ("deadLetterConfig", "targetArn"), "deadLetterConfig"),
    (SCHEDULE, ("target", "deadLetterConfig", "arn"), "target"),
    (EVENT_TARGET, ("deadLetterConfig", "arn"), "deadLetterConfig"),
    (MAPPING, ("destinationConfig", "onFailure", "destinationArn"), "destinationConfig"),
]


@pytest.mark.parametrize("by_dependency", [False, True], ids=["by-value", "by-dependency"])
@pytest.mark.parametrize(("type_", "path", "dep_key"), _DLQ_USERS, ids=[t.split(":")[-1] for t, _, _ in _DLQ_USERS])
def test_a_queue_used_as_a_dead_letter_target_is_terminal(type_: str, path: tuple[str, ...], dep_key: str,
                                                          by_dependency: bool) -> None:
    dlq = Res(QUEUE, "dlq", {"arn": DLQ_ARN, "url": "https://sqs/dlq"})
    other = Res(QUEUE, "other", {"arn": DLQ_ARN + "-other", "url": "https://sqs/other"})
    user = Res(type_, "user", _nest(path, UNKNOWN_STRING_VALUE if by_dependency else DLQ_ARN),
               deps={dep_key: ["dlq"]} if by_dependency else {})
    found = run_stack("sqs-queue-dlq", [other, dlq, user])
    assert [v.urn for v in found] == [other.urn], messages(found)


@pytest.mark.parametrize("by_dependency", [False, True], ids=["by-value", "by-dependency"])
def test_redrive_inline_and_as_its_own_resource(by_dependency: bool) -> None:
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 3})
    dlq = Res(QUEUE, "dlq", {"id": "https://sqs/dlq", "arn": DLQ_ARN, "url": "https://sqs/dlq"})
    inline = Res(QUEUE, "inline", {"arn": DLQ_ARN + "-i", "url": "https://sqs/inline",
                                   "redrivePolicy": UNKNOWN_STRING_VALUE if by_dependency else policy},
                 deps={"redrivePolicy": ["dlq"]} if by_dependency else {})
    assert run_stack("sqs-queue-dlq", [dlq, inline]) == []
    work = Res(QUEUE, "work", {"id": "https://sqs/work", "arn": DLQ_ARN + "-w", "url": "https://sqs/work"})
    side = Res(REDRIVE, "redrive", {"queueUrl": UNKNOWN_STRING_VALUE if by_dependency else "https://sqs/work",
                                    "redrivePolicy": UNKNOWN_STRING_VALUE if by_dependency else policy},
               deps={"queueUrl": ["work"], "redrivePolicy": ["dlq"]} if by_dependency else {})
    assert run_stack("sqs-queue-dlq", [dlq, work, side]) == []
    lone = Res(QUEUE, "lone", {"arn": DLQ_ARN + "-l", "url": "https://sqs/lone"})
    found = run_stack("sqs-queue-dlq", [lone, dlq, work, side])
    assert [v.urn for v in found] == [lone.urn], messages(found)
    assert found[0].message.split("\n", 1)[1] == (
        "The queue is neither a dead-letter queue nor has a redrive policy: messages that keep failing are retried "
        "until they expire. Set redrive_policy with deadLetterTargetArn and maxReceiveCount.")


def test_a_redrive_to_a_queue_outside_the_stack() -> None:
    work = Res(QUEUE, "work", {"arn": DLQ_ARN + "-w", "redrivePolicy": json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:999999999999:elsewhere"})})
    broken = Res(QUEUE, "broken", {"arn": DLQ_ARN + "-b", "redrivePolicy": "{not json"})
    assert run_stack("sqs-queue-dlq", [work, broken]) == []  # both have a redrive policy; neither is a DLQ here


# --------------------------------------------------------------------------- lambda-function-dlq
_INVOKERS = [  # (type, props with the function's ARN at path, dependency key, how the message names it)
    (PERMISSION, {"principal": "s3.amazonaws.com"}, ("function",), "function", "permission for s3.amazonaws.com"),
    (PERMISSION, {"principal": "events.amazonaws.com"}, ("functionName",), "functionName",
     "permission for events.amazonaws.com"),
    (NOTIFICATION, {"lambdaFunctions": [{"lambdaFunctionArn": FN_ARN + "-other"}, {}]},
     ("lambdaFunctions", 1, "lambdaFunctionArn"), "lambdaFunctions", "S3 notification user"),
    (SUBSCRIPTION, {"protocol": "lambda"}, ("endpoint",), "endpoint", "SNS subscription user"),
    (SCHEDULE, {}, ("target", "arn"), "target", "schedule user"),
    (EVENT_TARGET, {}, ("arn",), "arn", "event target user"),
]


def _with(props: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(props))
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return dict(out)


@pytest.mark.parametrize("by_dependency", [False, True], ids=["by-value", "by-dependency"])
@pytest.mark.parametrize(("type_", "props", "path", "dep_key", "named"), _INVOKERS,
                         ids=[f"{t.split(':')[-1]}-{p[0]}" for t, _, p, _, _ in _INVOKERS])
def test_every_asynchronous_invoker_needs_a_failure_destination(type_: str, props: dict[str, Any],
                                                                path: tuple[Any, ...], dep_key: str, named: str,
                                                                by_dependency: bool) -> None:
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    idle = Res(FUNCTION, "idle", {"name": "idle", "arn": FN_ARN + "-idle"})
    user = Res(type_, "user", _with(props, path, UNKNOWN_STRING_VALUE if by_dependency else FN_ARN),
               deps={dep_key: ["job"]} if by_dependency else {})
    found = run_stack("lambda-function-dlq", [idle, job, user])
    assert [v.urn for v in found] == [job.urn], messages(found)
    assert found[0].message.split("\n", 1)[1] == (
        f"The function is invoked asynchronously ({named}) but has neither a dead-letter queue nor an on-failure "
        "destination: failed events are dropped after the retries. Add a FunctionEventInvokeConfig with "
        "destination_config.on_failure (or dead_letter_config).")
    with_dlq = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "deadLetterConfig": {"targetArn": DLQ_ARN}})
    assert run_stack("lambda-function-dlq", [with_dlq, user]) == []


@pytest.mark.parametrize("by_dependency", [False, True], ids=["by-value", "by-dependency"])
def test_an_on_failure_destination_covers_the_function(by_dependency: bool) -> None:
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    sched = Res(SCHEDULE, "nightly", {"target": {"arn": FN_ARN}})
    perm = Res(PERMISSION, "p", {"principal": "sns.amazonaws.com", "function": "job"})
    ref = UNKNOWN_STRING_VALUE if by_dependency else "job"
    deps = {"functionName": ["job"]} if by_dependency else {}
    covered = Res(INVOKE_CONFIG, "cfg", {"functionName": ref, "destinationConfig": {"onFailure": {
        "destination": DLQ_ARN}}}, deps=deps)
    assert run_stack("lambda-function-dlq", [job, sched, perm, covered]) == []
    success_only = Res(INVOKE_CONFIG, "cfg", {"functionName": ref, "destinationConfig": {"onSuccess": {
        "destination": DLQ_ARN}}}, deps=deps)
    found = run_stack("lambda-function-dlq", [job, sched, perm, success_only])
    assert len(found) == 1 and "(permission for sns.amazonaws.com, schedule nightly)" in found[0].message, \
        messages(found)


def test_synchronous_and_other_subscriptions_do_not_count() -> None:
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    api = Res(PERMISSION, "api", {"principal": "apigateway.amazonaws.com", "function": FN_ARN})
    account = Res(PERMISSION, "acct", {"principal": ACCT, "function": FN_ARN})
    sqs_sub = Res(SUBSCRIPTION, "sub", {"protocol": "sqs", "endpoint": FN_ARN})
    assert run_stack("lambda-function-dlq", [job, api, account, sqs_sub]) == []



def test_every_function_is_judged_after_one_with_a_dead_letter_queue() -> None:
    guarded = Res(FUNCTION, "guarded", {"name": "guarded", "arn": FN_ARN + "-guarded",
                                        "deadLetterConfig": {"targetArn": DLQ_ARN}})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    users = [Res(PERMISSION, f"p-{r.name}", {"principal": "s3.amazonaws.com", "function": r.props["arn"]})
             for r in (guarded, job)]
    found = run_stack("lambda-function-dlq", [guarded, job, *users])
    assert [v.urn for v in found] == [job.urn], messages(found)

# --------------------------------------------------------------------------- S3 side resources and inline blocks
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
LOGGING = "aws:s3/bucketLogging:BucketLogging"


def _bucket(name: str, type_: str = BUCKET, **props: Any) -> Res:
    return Res(type_, name, {"id": f"{name}-id", "bucket": f"{name}-bkt", "arn": f"arn:aws:s3:::{name}-bkt", **props})


@pytest.mark.parametrize("match", ["bucket", "id", "dependency"])
def test_access_logging_side_resource_and_its_target(match: str) -> None:
    data, logs, other = _bucket("data"), _bucket("logs"), _bucket("other")
    target = {"bucket": "logs-bkt", "id": "logs-id", "dependency": UNKNOWN_STRING_VALUE}[match]
    cfg = Res(LOGGING, "data-logging", {"bucket": "data-id", "targetBucket": target, "targetPrefix": "data/"},
              deps={"targetBucket": ["logs"]} if match == "dependency" else {})
    found = run_stack("s3-bucket-access-logging", [data, logs, other, cfg])
    assert [v.urn for v in found] == [other.urn], messages(found)
    assert found[0].message.split("\n", 1)[1] == (
        "The bucket has no server access logging: reads and deletes of the data leave no record outside CloudTrail "
        "data events. Add aws.s3.BucketLogging with a target log bucket.")


@pytest.mark.parametrize(("type_", "key", "block"), [
    (BUCKET, "logging", {"targetBucket": "logs-bkt", "targetPrefix": "data/"}),
    (BUCKET_V2, "loggings", [{"targetBucket": "logs-bkt", "targetPrefix": "data/"}]),
])
def test_access_logging_inline_blocks(type_: str, key: str, block: Any) -> None:
    data, logs, other = _bucket("data", type_, **{key: block}), _bucket("logs"), _bucket("other", type_)
    found = run_stack("s3-bucket-access-logging", [data, logs, other])
    assert [v.urn for v in found] == [other.urn], messages(found)


@pytest.mark.parametrize(("type_", "props", "flagged"), [
    (BUCKET, {"versioning": {"enabled": True}}, False),
    (BUCKET, {"versioning": {"enabled": False}}, True),
    (BUCKET_V2, {"versionings": [{"enabled": True}]}, False),
    (BUCKET_V2, {"versionings": [{"enabled": False}]}, True),
    (BUCKET, {}, True),
])
def test_versioning_inline(type_: str, props: dict[str, Any], flagged: bool) -> None:
    found = run_stack("s3-bucket-versioning", [_bucket("b", type_, **props)])
    assert bool(found) is flagged, messages(found)
    if flagged:
        assert found[0].message.split("\n", 1)[1] == ("Bucket versioning is not enabled: an overwrite or delete "
                                                      "loses the artifact. Add BucketVersioning with status "
                                                      "'Enabled'.")


@pytest.mark.parametrize(("status", "flagged"), [("Enabled", False), ("Suspended", True),
                                                 (UNKNOWN_STRING_VALUE, False)])
def test_versioning_side_resource(status: Any, flagged: bool) -> None:
    b = _bucket("b")
    side = Res("aws:s3/bucketVersioning:BucketVersioning", "v", {"bucket": "b-id",
                                                                "versioningConfiguration": {"status": status}})
    assert bool(run_stack("s3-bucket-versioning", [b, side])) is flagged


# --------------------------------------------------------------------------- event source mappings
@pytest.mark.parametrize(("function_name", "deps"), [
    ("job", {}), (FN_ARN, {}), (FN_ARN + ":live", {}), (UNKNOWN_STRING_VALUE, {"functionName": ["job"]}),
])
def test_visibility_timeout_follows_the_mapping_to_its_function(function_name: Any, deps: dict[str, list[str]]
                                                                ) -> None:
    queue = Res(QUEUE, "jobs", {"arn": DLQ_ARN + "-jobs", "visibilityTimeoutSeconds": 60})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "timeout": 120})
    other = Res(FUNCTION, "other", {"name": "other", "arn": FN_ARN + "-other", "timeout": 900})
    mapping = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": function_name}, deps=deps)
    found = run_stack("sqs-queue-visibility-timeout", [queue, other, job, mapping])
    assert [v.urn for v in found] == [mapping.urn], messages(found)
    assert found[0].message.split("\n", 1)[1].startswith(
        "Queue jobs has a visibility timeout of 60 s, less than the 120 s timeout of function job that consumes it")


# --------------------------------------------------------------------------- secrets, signing, queues, schedules
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"


@pytest.mark.parametrize("secret_id", ["s-id", "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf", "s-name",
                                       "dependency"])
def test_secret_rotation_linked_by_id_arn_name_or_dependency(secret_id: str) -> None:
    secret = Res(SECRET, "s", {"id": "s-id", "arn": "arn:aws:secretsmanager:eu-west-1:1:secret:s-AbCdEf",
                               "name": "s-name"})
    other = Res(SECRET, "o", {"id": "o-id", "arn": "arn:o", "name": "o-name"})
    rotation = Res(ROTATION, "r", {"secretId": UNKNOWN_STRING_VALUE if secret_id == "dependency" else secret_id},
                   deps={"secretId": ["s"]} if secret_id == "dependency" else {})
    found = run_stack("secretsmanager-secret-rotation", [other, secret, rotation])
    assert [v.urn for v in found] == [other.urn], messages(found)


def test_invoker_kinds() -> None:
    from policy.policies.reliability import invoker_kind

    assert invoker_kind("alexa-appkit.amazon.com") == "sync" and invoker_kind("iot.amazonaws.com") == "async"
    assert invoker_kind(None) is None and invoker_kind("example.com") is None
    assert invoker_kind("newservice.amazonaws.com") is None


def test_schedule_with_an_empty_dead_letter_config() -> None:
    from tests.policy.helpers import run_resource
    from tests.policy.props import schedule

    props = schedule()
    props["target"]["deadLetterConfig"] = {}
    found = run_resource("scheduler-schedule-retry-dlq", SCHEDULE, props)
    assert len(found) == 1 and "target.dead_letter_config.arn" in found[0].message, messages(found)


@pytest.mark.parametrize("link", ["side-by-value", "side-by-dependency", "inline"])
def test_a_server_access_log_target_may_use_sse_s3(link: str) -> None:
    """S3 delivers server access logs only to a target whose default encryption is SSE-S3: the KMS requirement
    exempts log targets, and only them."""
    aes = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}
    logs = _bucket("logs", serverSideEncryptionConfiguration=aes)
    plain = _bucket("plain", serverSideEncryptionConfiguration=aes)
    if link == "inline":
        data = _bucket("data", logging={"targetBucket": "logs-bkt", "targetPrefix": "data/"})
        extra: list[Res] = []
    else:
        data = _bucket("data")
        by_dep = link == "side-by-dependency"
        extra = [Res(LOGGING, "data-logging", {"bucket": "data-id",
                                               "targetBucket": UNKNOWN_STRING_VALUE if by_dep else "logs-bkt"},
                     deps={"targetBucket": ["logs"]} if by_dep else {})]
    found = run_stack("s3-bucket-encryption", [logs, plain, data, *extra])
    assert sorted(v.urn for v in found) == sorted([plain.urn, data.urn]), messages(found)


# --------------------------------------------------------------------------- more boundaries and link variants
@pytest.mark.parametrize(("visibility", "flagged"), [(120, False), (119, True)])
def test_visibility_equal_to_the_timeout_is_enough(visibility: int, flagged: bool) -> None:
    queue = Res(QUEUE, "jobs", {"arn": DLQ_ARN + "-jobs", "visibilityTimeoutSeconds": visibility})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "timeout": 120})
    mapping = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": "job"})
    assert bool(run_stack("sqs-queue-visibility-timeout", [queue, job, mapping])) is flagged


@pytest.mark.parametrize("visibility", [UNKNOWN_STRING_VALUE, "60", True])
def test_a_visibility_that_is_not_a_number_is_not_judged(visibility: Any) -> None:
    queue = Res(QUEUE, "jobs", {"arn": DLQ_ARN + "-jobs", "visibilityTimeoutSeconds": visibility})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "timeout": 120})
    mapping = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": "job"})
    assert run_stack("sqs-queue-visibility-timeout", [queue, job, mapping]) == []


def test_a_dependency_that_is_no_queue_is_skipped() -> None:
    queue = Res(QUEUE, "jobs", {"arn": DLQ_ARN + "-jobs", "visibilityTimeoutSeconds": 1})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "timeout": 120})
    # an ARN computed from two outputs depends on both: the function is no queue
    mapping = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": "job"},
                  deps={"eventSourceArn": ["job", "jobs"]})
    found = run_stack("sqs-queue-visibility-timeout", [queue, job, mapping])
    assert [v.urn for v in found] == [mapping.urn], messages(found)


def test_a_mapping_to_an_unknown_function_is_not_judged() -> None:
    queue = Res(QUEUE, "jobs", {"arn": DLQ_ARN + "-jobs", "visibilityTimeoutSeconds": 1})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN, "timeout": 120})
    mapping = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": UNKNOWN_STRING_VALUE})
    assert run_stack("sqs-queue-visibility-timeout", [queue, job, mapping]) == []
    default = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})  # the 3 s default timeout
    named = Res(MAPPING, "m", {"eventSourceArn": DLQ_ARN + "-jobs", "functionName": "job"})
    assert len(run_stack("sqs-queue-visibility-timeout", [queue, default, named])) == 1


@pytest.mark.parametrize("match", ["id", "url"])
def test_redrive_side_resource_matches_the_queue_by_id_or_url(match: str) -> None:
    work = Res(QUEUE, "work", {"id": "work-id", "arn": DLQ_ARN + "-w", "url": "https://sqs/work"})
    side = Res(REDRIVE, "redrive", {"queueUrl": {"id": "work-id", "url": "https://sqs/work"}[match],
                                    "redrivePolicy": json.dumps({"deadLetterTargetArn": "arn:elsewhere"})})
    assert run_stack("sqs-queue-dlq", [work, side]) == []


def test_failure_destinations_are_judged_per_config_and_per_function() -> None:
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    other = Res(FUNCTION, "other", {"name": "other", "arn": FN_ARN + "-o", "deadLetterConfig": {}})
    sched = Res(SCHEDULE, "nightly", {"target": {"arn": FN_ARN}})
    sched_other = Res(SCHEDULE, "hourly", {"target": {"arn": FN_ARN + "-o"}})
    none = Res(INVOKE_CONFIG, "a-none", {"functionName": "other", "destinationConfig": {"onFailure": {}}})
    covered = Res(INVOKE_CONFIG, "b-covered", {"functionName": "job", "destinationConfig": {"onFailure": {
        "destination": DLQ_ARN}}})
    found = run_stack("lambda-function-dlq", [job, other, sched, sched_other, none, covered])
    assert [v.urn for v in found] == [other.urn], messages(found)  # an empty DLQ config is no DLQ


def test_reserved_concurrency_zero_is_set() -> None:
    from tests.policy.helpers import run_resource
    from tests.policy.props import function

    for value, flagged in ((0, False), (-1, True), (None, True)):
        props = function(reservedConcurrentExecutions=value)
        assert bool(run_resource("lambda-function-concurrency", FUNCTION, props)) is flagged, value


def test_event_target_with_an_empty_dead_letter_config() -> None:
    from tests.policy.helpers import run_resource

    assert len(run_resource("eventbridge-target-dlq", EVENT_TARGET, {"arn": FN_ARN, "deadLetterConfig": {}})) == 1


def test_side_resources_match_their_bucket_by_name_too() -> None:
    bucket = _bucket("data")
    side = Res("aws:s3/bucketVersioning:BucketVersioning", "v", {"bucket": "data-bkt",
                                                                "versioningConfiguration": {"status": "Enabled"}})
    assert run_stack("s3-bucket-versioning", [bucket, side]) == []


@pytest.mark.parametrize(("days", "flagged"), [(0, True), (1, False), (None, True)])
def test_function_log_group_retention(days: int | None, flagged: bool) -> None:
    group = Res("aws:cloudwatch/logGroup:LogGroup", "g", {"name": "/aws/lambda/job", **(
        {"retentionInDays": days} if days is not None else {})})
    job = Res(FUNCTION, "job", {"name": "job", "arn": FN_ARN})
    assert bool(run_stack("lambda-function-log-retention", [group, job])) is flagged
