"""Package size, Lambda limits, Step Functions, reliability, observability and tagging policies."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from policy.policies import _sdk
from policy.policies.packaging import UNZIPPED_LIMIT
from tests.policy.helpers import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    Case,
    Res,
    messages,
    run_resource,
    run_stack,
)
from tests.policy.props import FN_ARN, KEY_ARN, LAYER_ARN, QUEUE_ARN, function, schedule, small_zip, state_machine

FUNCTION = "aws:lambda/function:Function"
LAYER = "aws:lambda/layerVersion:LayerVersion"
SFN = "aws:sfn/stateMachine:StateMachine"
MIB = 1_048_576


def big_zip() -> str:
    """A 51 MiB zip stored without compression (over the 50 MiB direct-upload limit)."""
    path = Path(small_zip()).parent / "big-51mib.zip"
    if not path.exists():
        import zipfile

        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf, zf.open("blob.bin", "w", force_zip64=True) as f:
            chunk = bytes(range(256)) * 4096
            for _ in range(51):
                f.write(chunk)
    return str(path)


def big_dir() -> str:
    path = Path(small_zip()).parent / "big-dir"
    path.mkdir(exist_ok=True)
    with open(path / "sparse.bin", "wb") as f:
        f.truncate(60 * MIB)
    return str(path)


def definition(machine: dict[str, Any]) -> str:
    return json.dumps(machine)


NO_RETRY = json.loads(state_machine()["definition"])
del NO_RETRY["States"]["Ingest"]["Retry"]
MAP_UNCAUGHT = json.loads(state_machine()["definition"])
del MAP_UNCAUGHT["States"]["Partitions"]["Catch"]
BROKEN_NEXT = json.loads(state_machine()["definition"])
BROKEN_NEXT["States"]["Ingest"]["Next"] = "Nowhere"

SNAPSTART = {"publish": True, "snapStart": {"applyOn": "PublishedVersions"}, "ephemeralStorage": {"size": 512}}

CASES = [
    Case("lambda-function-snapstart-prerequisites", FUNCTION, function(**SNAPSTART),
         failing=[("runtime", "python3.11", "runtime python3.11 does not support it"),
                  ("publish", False, "no version is published"),
                  ("ephemeralStorage.size", 1024, "ephemeral storage is 1024 MB"),
                  ("fileSystemConfig", {"arn": "arn:aws:elasticfilesystem:ap-south-1:1:access-point/fsap-1",
                                        "localMountPath": "/mnt/data"}, "does not support EFS"),
                  ("packageType", "Image", "container image")],
         missing=("snapStart", None), unknown=("publish", UNKNOWN_BOOLEAN_VALUE, "note")),
    Case("lambda-function-zip-size", FUNCTION, function(),
         failing=[("code", pulumi.FileArchive(big_zip()), "over the 50.0 MiB"),
                  ("code", pulumi.FileArchive(big_dir()), "may exceed"),
                  ("code", pulumi.FileArchive("/nonexistent/code.zip"), "does not exist")],
         missing=("code", None), unknown=("code", UNKNOWN_ARCHIVE_VALUE, "note")),
    Case("lambda-layerversion-zip-size", LAYER, {"layerName": "scientific", "code": pulumi.FileArchive(small_zip())},
         failing=[("code", pulumi.FileArchive(big_zip()), "over the 50.0 MiB")],
         missing=("code", None), unknown=("code", UNKNOWN_ARCHIVE_VALUE, "note")),
    Case("lambda-function-layer-count", FUNCTION, function(),
         failing=[("layers", [LAYER_ARN] * 6, "has 6 layers")],
         missing=("layers", None), unknown=("layers.0", UNKNOWN_STRING_VALUE, "pass"),
         config=({"maxLayers": 0}, "", None, 1)),
    Case("lambda-function-limits", FUNCTION, function(),
         failing=[("memorySize", 64, "memorySize is 64 MB"), ("memorySize", 10_241, "10,240"),
                  ("timeout", 901, "timeout is 901 s"), ("timeout", 0, "1-900")],
         missing=("memorySize", None), unknown=("timeout", UNKNOWN_NUMBER_VALUE, "note")),
    Case("lambda-function-env-size", FUNCTION, function(),
         failing=[("environment.variables.BLOB", "x" * 5000, "take 5,")],
         missing=("environment", None), unknown=("environment.variables.LEDGER_TABLE", UNKNOWN_STRING_VALUE, "pass")),
    Case("lambda-function-runtime-supported", FUNCTION, function(),
         failing=[("runtime", "python3.8", "Runtime python3.8"), ("runtime", "nodejs16.x", "nodejs16.x")],
         missing=("runtime", None), unknown=("runtime", UNKNOWN_STRING_VALUE, "note"),
         config=({"allowedRuntimes": ["python3.11"]}, "", None, 1)),
    Case("sfn-statemachine-definition-valid", SFN, state_machine(),
         failing=[("definition", definition({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "End": True}}}),
                   "StartAt 'Nope' is not a state"),
                  ("definition", "{", "not valid JSON"),
                  ("definition", definition(BROKEN_NEXT), "goes to 'Nowhere'"),
                  ("definition", definition({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
                   "exactly one of Next and End")],
         missing=("definition", "has no definition"), unknown=("definition", UNKNOWN_STRING_VALUE, "note")),
    Case("sfn-statemachine-definition-size", SFN, state_machine(),
         failing=[("definition", definition({"StartAt": "A", "States": {"A": {
             "Type": "Pass", "Result": "x" * 1_048_600, "End": True}}}), "accepts at most 1,048,576")],
         missing=("definition", None), unknown=("definition", UNKNOWN_STRING_VALUE, "note")),
    Case("sfn-statemachine-task-retry-catch", SFN, state_machine(),
         failing=[("definition", definition(NO_RETRY), "Task 'Ingest' has no Retry"),
                  ("definition", definition(MAP_UNCAUGHT), "Task 'Partitions.ItemProcessor.Transform' has no Catch")],
         missing=("definition", None), unknown=("definition", UNKNOWN_STRING_VALUE, "note")),
    Case("sfn-statemachine-logging", SFN, state_machine(),
         failing=[("loggingConfiguration.level", "ERROR", "level is ERROR"),
                  ("loggingConfiguration.logDestination", None, "no log_destination")],
         missing=("loggingConfiguration", "level is OFF"),
         unknown=("loggingConfiguration.level", UNKNOWN_STRING_VALUE, "pass")),
    Case("sfn-statemachine-tracing", SFN, state_machine(),
         failing=[("tracingConfiguration.enabled", False, "tracing is off")],
         missing=("tracingConfiguration", "tracing is off"),
         unknown=("tracingConfiguration.enabled", UNKNOWN_BOOLEAN_VALUE, "pass")),
    Case("lambda-function-tracing", FUNCTION, function(),
         failing=[("tracingConfig.mode", "PassThrough", "mode is PassThrough")],
         missing=("tracingConfig", "not set"), unknown=("tracingConfig.mode", UNKNOWN_STRING_VALUE, "pass")),
    Case("lambda-function-code-signing", FUNCTION, function(),
         failing=[("codeSigningConfigArn", None, "no code signing config")],
         missing=("codeSigningConfigArn", "no code signing config"),
         unknown=("codeSigningConfigArn", UNKNOWN_STRING_VALUE, "pass")),
    Case("lambda-function-vpc", FUNCTION, function(),
         failing=[("vpcConfig.subnetIds", [], "runs outside a VPC")],
         missing=("vpcConfig", "runs outside a VPC"), unknown=("vpcConfig.subnetIds", UNKNOWN_ARRAY_VALUE, "pass")),
    Case("lambda-function-concurrency", FUNCTION, function(),
         failing=[("reservedConcurrentExecutions", -1, "No reserved concurrency")],
         missing=("reservedConcurrentExecutions", "No reserved concurrency"),
         unknown=("reservedConcurrentExecutions", UNKNOWN_NUMBER_VALUE, "pass")),
    Case("lambda-function-explicit-memory-timeout", FUNCTION, function(),
         failing=[("memorySize", 128, "128 MB default"), ("timeout", 3, "3 s default")],
         missing=("timeout", "3 s default"), unknown=("memorySize", UNKNOWN_NUMBER_VALUE, "pass")),
    Case("cloudwatch-loggroup-retention", "aws:cloudwatch/logGroup:LogGroup",
         {"retentionInDays": 30, "kmsKeyId": KEY_ARN},
         failing=[("retentionInDays", 0, "never expire"), ("retentionInDays", 7, "less than the required 30")],
         missing=("retentionInDays", "never expire"), unknown=("retentionInDays", UNKNOWN_NUMBER_VALUE, "pass"),
         config=({"minimumDays": 365}, "", None, 1)),
    Case("dynamodb-table-pitr", "aws:dynamodb/table:Table", {"pointInTimeRecovery": {"enabled": True}},
         failing=[("pointInTimeRecovery.enabled", False, "Point-in-time recovery is off")],
         missing=("pointInTimeRecovery", "is off"),
         unknown=("pointInTimeRecovery.enabled", UNKNOWN_BOOLEAN_VALUE, "pass")),
    Case("scheduler-schedule-retry-dlq", "aws:scheduler/schedule:Schedule", schedule(),
         failing=[("target.deadLetterConfig", None, "no target.dead_letter_config.arn"),
                  ("target.retryPolicy", None, "no target.retry_policy")],
         missing=("target.deadLetterConfig", "dead_letter_config"),
         unknown=("target.deadLetterConfig.arn", UNKNOWN_STRING_VALUE, "pass")),
    Case("eventbridge-target-dlq", "aws:cloudwatch/eventTarget:EventTarget",
         {"rule": "r", "arn": FN_ARN, "deadLetterConfig": {"arn": QUEUE_ARN}},
         failing=[("deadLetterConfig", None, "no dead_letter_config")],
         missing=("deadLetterConfig", "no dead_letter_config"),
         unknown=("deadLetterConfig.arn", UNKNOWN_STRING_VALUE, "pass")),
    Case("aws-resource-required-tags", FUNCTION, function(),
         failing=[("tags.stack", "", "Missing required tags: stack"), ("tags", {}, "project, stack")],
         missing=("tags", "project, stack"), unknown=("tags.project", UNKNOWN_STRING_VALUE, "pass"),
         config=({"requiredTags": ["owner", "cost-center"]}, "", None, 1)),
]


def test_env_size_unknown_values_that_could_overflow_are_noted() -> None:
    env = {"BLOB": "x" * 3800, "A": UNKNOWN_STRING_VALUE, "B": UNKNOWN_STRING_VALUE}
    found = run_resource("lambda-function-env-size", FUNCTION, function(environment={"variables": env}))
    assert len(found) == 1 and found[0].enforcement == "advisory" and "can't run policy" in found[0].message


def test_required_tags_from_provider_default_tags() -> None:
    props = function(tags={"owner": "me"})
    provider = {"region": "ap-south-1", "defaultTags": json.dumps({"tags": {"project": "sciflow", "stack": "dev"}})}
    assert run_resource("aws-resource-required-tags", FUNCTION, props, provider=provider) == []
    assert len(run_resource("aws-resource-required-tags", FUNCTION, props)) == 1


def test_untaggable_and_excluded_types_are_not_checked() -> None:
    assert run_resource("aws-resource-required-tags", LAYER, {"layerName": "x"}) == []
    assert run_resource("aws-resource-required-tags", "aws:s3/bucketObjectv2:BucketObjectv2",
                        {"bucket": "b", "key": "k", "tags": {}}) == []


def test_sdk_facts_are_current() -> None:
    """aws_types.json is what the installed pulumi-aws declares (regenerate: python -m policy.policies._sdk)."""
    assert _sdk.main(["--check"]) == 0


@pytest.mark.parametrize("token", ["aws:lambda/function:Function", "aws:sns/topic:Topic", "aws:s3/bucketV2:BucketV2",
                                   "aws:secretsmanager/secret:Secret", "aws:glue/job:Job"])
def test_taggable_types_accept_tags_in_pulumi_aws(token: str) -> None:
    assert token in _sdk.taggable_types()
    module, cls = token.split(":")[1].split("/")[0], token.split(":")[2]
    mod = importlib.import_module(f"pulumi_aws.{'lambda_' if module == 'lambda' else module}")
    assert "tags" in inspect.signature(getattr(mod, cls)._internal_init).parameters


@pytest.mark.parametrize("token", ["aws:lambda/layerVersion:LayerVersion", "aws:lambda/permission:Permission",
                                   "aws:s3/bucketPolicy:BucketPolicy", "aws:iam/rolePolicy:RolePolicy"])
def test_untaggable_types_are_not_in_the_sdk_facts(token: str) -> None:
    assert token not in _sdk.taggable_types()


def test_required_tags_on_a_type_sciflow_never_creates() -> None:
    found = run_resource("aws-resource-required-tags", "aws:glue/job:Job", {"name": "j", "roleArn": "r"})
    assert len(found) == 1 and "Missing required tags: project, stack" in found[0].message


def test_alias_types_follow_their_current_type() -> None:
    assert _sdk.canonical("aws:s3/bucketV2:BucketV2") == "aws:s3/bucket:Bucket"
    assert "aws:s3/bucketAclV2:BucketAclV2" in _sdk.with_aliases(["aws:s3/bucketAcl:BucketAcl"])
    found = run_resource("s3-bucket-no-public-acl", "aws:s3/bucketAclV2:BucketAclV2", {"bucket": "b",
                                                                                         "acl": "public-read"})
    assert len(found) == 1 and found[0].enforcement == "mandatory"


# --------------------------------------------------------------------------- function + layers (stack)
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
BUCKET = "aws:s3/bucket:Bucket"


SMALL_LIMIT = {"limitBytes": 20 * MIB}  # the same arithmetic as the real limit, with small archives


def layer_zip(name: str, mib: int) -> str:
    return small_zip(f"{name}-{mib}mib.zip", {"python/blob.bin": mib * MIB})


def layer(name: str, mib: int, **extra: Any) -> Res:
    return Res(LAYER, name, {"arn": f"{LAYER_ARN[:-2]}{name}:1", "layerName": name,
                             "code": pulumi.FileArchive(layer_zip(name, mib)), **extra})


def fn(name: str, layers: list[Res], *, by_dep: bool = True, arns: list[str] | None = None, mib: int = 1) -> Res:
    refs = arns if arns is not None else [str(lyr.props["arn"]) for lyr in layers]
    return Res(FUNCTION, name, function(name=name, layers=refs, code=pulumi.FileArchive(layer_zip(name, mib))),
               deps={"layers": [lyr.name for lyr in layers]} if by_dep else {})


def test_unzipped_size_sums_code_and_layers() -> None:
    sci, plot = layer("sci", 200), layer("plot", 55)
    ok, over = fn("ok", [sci]), fn("over", [sci, plot], mib=10)
    found = run_stack("lambda-function-unzipped-size", [sci, plot, ok, over])
    assert [v.urn for v in found] == [over.urn], messages(found)
    assert "265.0 MiB" in found[0].message and "sci 200.0 MiB" in found[0].message
    assert found[0].enforcement == "mandatory"


def test_unzipped_size_matches_layers_by_arn_without_dependencies() -> None:
    sci, plot = layer("sci", 12), layer("plot", 6)
    over = fn("over", [sci, plot], by_dep=False, mib=3)
    found = run_stack("lambda-function-unzipped-size", [sci, plot, over], config=SMALL_LIMIT)
    assert len(found) == 1 and "21.0 MiB" in found[0].message, messages(found)


def test_unzipped_size_follows_unknown_arns_through_property_dependencies() -> None:
    sci, plot = layer("sci", 12), layer("plot", 6)
    sci.props["arn"] = plot.props["arn"] = UNKNOWN_STRING_VALUE
    over = fn("over", [sci, plot], arns=[UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE], mib=3)
    found = run_stack("lambda-function-unzipped-size", [sci, plot, over], config=SMALL_LIMIT)
    assert len(found) == 1 and "over Lambda's" in found[0].message, messages(found)


def test_unzipped_size_follows_s3_staged_layers() -> None:
    staged = Res(OBJECT, "sci-zip", {"bucket": "artifacts", "key": "layers/sci.zip",
                                     "source": pulumi.FileAsset(layer_zip("sci-s3", 18))})
    sci = Res(LAYER, "sci", {"arn": LAYER_ARN, "s3Bucket": "artifacts", "s3Key": "layers/sci.zip"},
              deps={"s3Key": ["sci-zip"]})
    over = fn("over", [sci], mib=3)
    found = run_stack("lambda-function-unzipped-size", [staged, sci, over], config=SMALL_LIMIT)
    assert len(found) == 1 and "sci 18.0 MiB" in found[0].message, messages(found)


def test_unzipped_size_external_layers_need_configured_sizes() -> None:
    external = "arn:aws:lambda:ap-south-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7"
    alone = fn("alone", [], arns=[external])
    assert run_stack("lambda-function-unzipped-size", [alone]) == []  # never mandatory on a guess
    found = run_stack("lambda-function-external-layers", [alone])
    assert len(found) == 1 and found[0].enforcement == "advisory", messages(found)
    assert "cannot be measured" in found[0].message and f"{external} (size unknown)" in found[0].message
    config = {"externalLayerSizes": {external: UNZIPPED_LIMIT}}
    found = run_stack("lambda-function-unzipped-size", [alone], config=config)
    assert len(found) == 1 and "over Lambda's" in found[0].message
    assert run_stack("lambda-function-external-layers", [alone], config=config) == []
    config = {"externalLayerSizes": {external: 10 * MIB}}
    assert run_stack("lambda-function-unzipped-size", [alone], config=config) == []


def test_known_public_layers_are_estimated_as_advice() -> None:
    pandas = "arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312:16"
    sci = layer("sci", 110)
    heavy = fn("heavy", [sci], arns=[str(sci.props["arn"]), pandas])
    assert run_stack("lambda-function-unzipped-size", [sci, heavy]) == []
    found = run_stack("lambda-function-external-layers", [sci, heavy])
    assert len(found) == 1 and "AWS SDK for pandas" in found[0].message, messages(found)
    assert "about 265.0 MiB (277,872,640 bytes), over the" in found[0].message, found[0].message
    light = fn("light", [], arns=[pandas])
    found = run_stack("lambda-function-external-layers", [light])
    assert len(found) == 1 and "over the" not in found[0].message


def test_unzipped_size_reports_a_missing_archive() -> None:
    broken = Res(LAYER, "broken", {"arn": LAYER_ARN, "code": pulumi.FileArchive("/nonexistent/layer.zip")})
    found = run_stack("lambda-function-unzipped-size", [broken, fn("f", [broken])])
    assert len(found) == 1 and "does not exist" in found[0].message


def test_unzipped_size_of_an_unattached_layer() -> None:
    found = run_stack("lambda-function-unzipped-size", [layer("lonely", 21)], config=SMALL_LIMIT)
    assert len(found) == 1 and "on its own" in found[0].message


# --------------------------------------------------------------------------- reliability / observability (stack)
def test_function_dlq_only_for_asynchronously_invoked_functions() -> None:
    sync = Res(FUNCTION, "sync", {"name": "sync", "arn": FN_ARN + "-sync"})
    scheduled = Res(FUNCTION, "scheduled", {"name": "scheduled", "arn": FN_ARN + "-s"})
    protected = Res(FUNCTION, "protected", {"name": "protected", "arn": FN_ARN + "-p"})
    sched = Res("aws:scheduler/schedule:Schedule", "nightly", schedule(target={"arn": FN_ARN + "-s"}))
    perm = Res("aws:lambda/permission:Permission", "s3", {"function": "protected", "principal": "s3.amazonaws.com"},
               deps={"function": ["protected"]})
    cfg = Res("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "cfg",
              {"functionName": "protected", "destinationConfig": {"onFailure": {"destination": QUEUE_ARN}}},
              deps={"functionName": ["protected"]})
    found = run_stack("lambda-function-dlq", [sync, scheduled, protected, sched, perm, cfg])
    assert [v.urn for v in found] == [scheduled.urn], messages(found)
    assert "schedule nightly" in found[0].message and found[0].enforcement == "advisory"


def test_function_dlq_knows_synchronous_and_asynchronous_invokers() -> None:
    fns = [Res(FUNCTION, n, {"name": n, "arn": f"{FN_ARN}-{n}"}) for n in ("api", "alb", "s3", "sns", "acct", "notif")]
    perms = [Res("aws:lambda/permission:Permission", f"p-{n}", {"function": n, "principal": p}, deps={"function": [n]})
             for n, p in (("api", "apigateway.amazonaws.com"), ("alb", "elasticloadbalancing.amazonaws.com"),
                          ("s3", "s3.amazonaws.com"), ("acct", "111122223333"))]
    sub = Res("aws:sns/topicSubscription:TopicSubscription", "sub",
              {"protocol": "lambda", "endpoint": f"{FN_ARN}-sns", "topic": "t"}, deps={"endpoint": ["sns"]})
    note = Res("aws:s3/bucketNotification:BucketNotification", "note",
               {"bucket": "b", "lambdaFunctions": [{"lambdaFunctionArn": f"{FN_ARN}-notif", "events": ["s3:*"]}]})
    found = run_stack("lambda-function-dlq", [*fns, *perms, sub, note])
    flagged = {v.urn: v.message for v in found}
    assert set(flagged) == {fns[2].urn, fns[3].urn, fns[5].urn}, messages(found)
    assert "SNS subscription sub" in flagged[fns[3].urn] and "S3 notification note" in flagged[fns[5].urn]


def test_visibility_timeout_against_the_consuming_function() -> None:
    queue = "aws:sqs/queue:Queue"
    mapping = "aws:lambda/eventSourceMapping:EventSourceMapping"
    q_short = Res(queue, "short", {"arn": QUEUE_ARN + "-s", "visibilityTimeoutSeconds": 60})
    q_default = Res(queue, "dflt", {"arn": QUEUE_ARN + "-d"})
    q_long = Res(queue, "long", {"arn": QUEUE_ARN + "-l", "visibilityTimeoutSeconds": 720})
    slow = Res(FUNCTION, "slow", {"name": "slow", "arn": FN_ARN + "-slow", "timeout": 120})
    quick = Res(FUNCTION, "quick", {"name": "quick", "arn": FN_ARN + "-quick"})  # default 3 s
    maps = [Res(mapping, "m1", {"eventSourceArn": QUEUE_ARN + "-s", "functionName": FN_ARN + "-slow"}),
            Res(mapping, "m2", {"eventSourceArn": QUEUE_ARN + "-d", "functionName": "slow"},
                deps={"eventSourceArn": ["dflt"], "functionName": ["slow"]}),
            Res(mapping, "m3", {"eventSourceArn": QUEUE_ARN + "-l", "functionName": FN_ARN + "-slow"}),
            Res(mapping, "m4", {"eventSourceArn": QUEUE_ARN + "-d", "functionName": FN_ARN + "-quick:live"})]
    found = run_stack("sqs-queue-visibility-timeout", [q_short, q_default, q_long, slow, quick, *maps])
    assert sorted(v.urn for v in found) == sorted([maps[0].urn, maps[1].urn]), messages(found)
    assert "60 s, less than the 120 s timeout of function slow" in messages(found)
    assert "30 s, less than the 120 s" in messages(found) and found[0].enforcement == "mandatory"


def test_bucket_access_logging_and_lifecycle() -> None:
    logs = Res(BUCKET, "logs", {"id": "logs-1", "bucket": "logs-1"})
    data = Res(BUCKET, "data", {"id": "data-1", "bucket": "data-1"})
    inline = Res(BUCKET, "inline", {"id": "in-1", "bucket": "in-1", "logging": {"targetBucket": "logs-1"},
                                    "lifecycleRules": [{"enabled": True, "expiration": {"days": 30}}]})
    bare = Res(BUCKET, "bare", {"id": "bare-1", "bucket": "bare-1", "lifecycleRules": [{"enabled": False}]})
    side = Res("aws:s3/bucketLoggingV2:BucketLoggingV2", "data-log", {"bucket": "data-1", "targetBucket": "logs-1"},
               deps={"bucket": ["data"]})
    life = Res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "data-life",
               {"bucket": "data-1", "rules": [{"id": "x", "status": "Enabled"}]}, deps={"bucket": ["data"]})
    resources = [logs, data, inline, bare, side, life]
    assert {v.urn for v in run_stack("s3-bucket-access-logging", resources)} == {bare.urn}
    assert {v.urn for v in run_stack("s3-bucket-lifecycle", resources)} == {logs.urn, bare.urn}


def test_secret_rotation() -> None:
    secret = "aws:secretsmanager/secret:Secret"
    rotated = Res(secret, "db", {"id": "arn:aws:secretsmanager:x:1:secret:db-AbC123", "arn": "arn:...:db"})
    plain = Res(secret, "api", {"id": "arn:aws:secretsmanager:x:1:secret:api-AbC123"})
    rotation = Res("aws:secretsmanager/secretRotation:SecretRotation", "db-rot",
                   {"secretId": "arn:aws:secretsmanager:x:1:secret:db-AbC123"})
    found = run_stack("secretsmanager-secret-rotation", [rotated, plain, rotation])
    assert [v.urn for v in found] == [plain.urn] and found[0].enforcement == "advisory", messages(found)


def test_queue_dlq_exempts_dead_letter_queues() -> None:
    queue = "aws:sqs/queue:Queue"
    dlq = Res(queue, "dlq", {"arn": QUEUE_ARN, "url": "https://q/dlq"})
    work = Res(queue, "work", {"arn": QUEUE_ARN + "w", "redrivePolicy": json.dumps(
        {"deadLetterTargetArn": QUEUE_ARN, "maxReceiveCount": 5})})
    fn_dlq = Res(queue, "fn-dlq", {"arn": QUEUE_ARN + "f"})
    cfg = Res("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "cfg",
              {"functionName": "f", "destinationConfig": {"onFailure": {"destination": QUEUE_ARN + "f"}}},
              deps={"destinationConfig": ["fn-dlq"]})
    lone = Res(queue, "lone", {"arn": QUEUE_ARN + "l"})
    found = run_stack("sqs-queue-dlq", [dlq, work, fn_dlq, cfg, lone])
    assert [v.urn for v in found] == [lone.urn], messages(found)


def test_bucket_versioning() -> None:
    bucket = "aws:s3/bucket:Bucket"
    on = Res(bucket, "on", {"id": "on-1"})
    off = Res(bucket, "off", {"id": "off-1"})
    ver = Res("aws:s3/bucketVersioning:BucketVersioning", "on-ver",
              {"bucket": "on-1", "versioningConfiguration": {"status": "Enabled"}}, deps={"bucket": ["on"]})
    suspended = Res("aws:s3/bucketVersioning:BucketVersioning", "off-ver",
                    {"bucket": "off-1", "versioningConfiguration": {"status": "Suspended"}})
    found = run_stack("s3-bucket-versioning", [on, off, ver, suspended])
    assert [v.urn for v in found] == [off.urn], messages(found)


def test_function_log_retention() -> None:
    group = Res("aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/sciflow/fn", "retentionInDays": 30})
    forever = Res("aws:cloudwatch/logGroup:LogGroup", "forever", {"name": "/aws/lambda/old"})
    managed = Res(FUNCTION, "managed", {"name": "managed", "loggingConfig": {"logGroup": "/sciflow/fn"}},
                  deps={"loggingConfig": ["logs"]})
    old = Res(FUNCTION, "old", {"name": "old"})
    bare = Res(FUNCTION, "bare", {"name": "bare"})
    found = run_stack("lambda-function-log-retention", [group, forever, managed, old, bare])
    assert {v.urn for v in found} == {old.urn, bare.urn}, messages(found)
    assert "never expires" in messages(found) and "not managed by the stack" in messages(found)
