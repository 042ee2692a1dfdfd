"""Service settings that are neither IAM nor encryption: S3 access logging and lifecycle, Secrets Manager
rotation, Lambda code signing and VPC placement, and the SQS visibility timeout an event source mapping needs.

The S3 checks follow a bucket's side resources (``BucketLogging``, ``BucketLifecycleConfiguration`` and
their ``V2`` aliases) and its own inline blocks (``logging`` / ``loggings``, ``lifecycleRules``) alike, so
the same setting gets the same verdict whichever resource carries it.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from ._core import (
    ADVISORY,
    MANDATORY,
    UNKNOWN,
    AnyPolicy,
    Ctx,
    Rules,
    StackCtx,
)
from .public_access import BUCKET, SECRET, bucket_side

LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"

SQS_DEFAULT_VISIBILITY = 30  # seconds (CreateQueue default)
LAMBDA_DEFAULT_TIMEOUT = 3  # seconds (CreateFunction default)
_FLAG = "Matched by property dependency (or equal names); an unknown value counts as set."


def _num(value: Any, default: float) -> float | None:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None  # unknown or not a number: cannot judge


# --------------------------------------------------------------------------- S3
def access_log_targets(ctx: StackCtx) -> set[str]:
    """The names, ids and URNs of the buckets server access logs are delivered to (``BucketLogging`` side
    resources, by value or dependency, and the buckets' inline ``logging`` / ``loggings`` blocks)."""
    targets: set[str] = set()
    for cfg in ctx.of_type(LOGGING):
        target = ctx.prop(cfg, "targetBucket")
        if isinstance(target, str):
            targets.add(target)
        targets.update(d.urn for d in cfg.property_dependencies.get("targetBucket") or [])
    for bucket in ctx.of_type(BUCKET):
        for key in ("logging", "loggings"):
            for block in ctx.items(ctx.prop(bucket, key)):
                target = ctx.get("targetBucket", props=block) if block is not UNKNOWN else UNKNOWN
                if isinstance(target, str):
                    targets.add(target)
    return targets


def is_access_log_target(ctx: StackCtx, bucket: PolicyResource, targets: set[str]) -> bool:
    return bool({ctx.prop(bucket, "bucket"), ctx.prop(bucket, "id"), bucket.urn} & targets)


def _access_logging(ctx: StackCtx) -> None:
    side = bucket_side(ctx, LOGGING)
    targets = access_log_targets(ctx)
    for bucket in ctx.of_type(BUCKET):
        inline = [b for k in ("logging", "loggings") for b in ctx.items(ctx.prop(bucket, k))]
        if side[bucket.urn] or inline or is_access_log_target(ctx, bucket, targets):
            continue  # logged, or itself the log target (logging a log bucket into itself loops)
        ctx.report("The bucket has no server access logging: reads and deletes of the data leave no record "
                   "outside CloudTrail data events. Add aws.s3.BucketLogging with a target log bucket.", bucket.urn)


def _lifecycle(ctx: StackCtx) -> None:
    side = bucket_side(ctx, LIFECYCLE)
    for bucket in ctx.of_type(BUCKET):
        rules = [r for r in ctx.items(ctx.prop(bucket, "lifecycleRules")) if r is not UNKNOWN]
        inline = any(ctx.get("enabled", props=r) in (True, UNKNOWN) for r in rules)
        if side[bucket.urn] or inline:
            continue
        ctx.report("The bucket has no lifecycle rules: staged objects, old versions and incomplete multipart "
                   "uploads are kept (and billed) forever. Add aws.s3.BucketLifecycleConfiguration with "
                   "expiration, noncurrent_version_expiration and abort_incomplete_multipart_upload.", bucket.urn)


# --------------------------------------------------------------------------- Secrets Manager
def _rotation(ctx: StackCtx) -> None:
    secrets = ctx.of_type(SECRET)
    rotated: set[str] = set()
    for rot in ctx.of_type(ROTATION):
        rotated.update(s.urn for s in ctx.linked(rot, "secretId", secrets, "id", "arn", "name"))
    for secret in secrets:
        if secret.urn not in rotated:
            ctx.report("The secret is never rotated: a leaked value stays valid. Add aws.secretsmanager."
                       "SecretRotation with a rotation Lambda and rotation_rules.", secret.urn)


# --------------------------------------------------------------------------- Lambda
def _code_signing(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("packageType") != "Image" and ctx.get("codeSigningConfigArn") is None:
        ctx.report("The function has no code signing config: any zip with the deploy role's permissions can "
                   "replace its code. Set code_signing_config_arn to an aws.lambda_.CodeSigningConfig.")


def _vpc(ctx: Ctx, args: ResourceValidationArgs) -> None:
    subnets = ctx.get("vpcConfig", "subnetIds")
    if subnets is not UNKNOWN and not ctx.items(subnets):
        ctx.report("The function runs outside a VPC. That is fine for functions that only call AWS APIs over "
                   "TLS with IAM; put it in private subnets (vpc_config) when it reaches databases or "
                   "internal hosts, or when egress must be controlled.")


def _function_for_mapping(ctx: StackCtx, mapping: PolicyResource, functions: list[PolicyResource]
                          ) -> list[PolicyResource]:
    found = ctx.linked(mapping, "functionName", functions, "arn", "name")
    if not found:
        name = ctx.prop(mapping, "functionName")
        if isinstance(name, str) and ":function:" in name:  # an ARN (possibly with a qualifier)
            short = name.split(":function:", 1)[1].split(":", 1)[0]
            found = list(ctx.index(functions, "name").by_value.get(short, ()))
    return found


def _visibility(ctx: StackCtx) -> None:
    queues, functions = ctx.of_type(QUEUE), ctx.of_type(FUNCTION)
    for mapping in ctx.of_type(MAPPING):
        for queue in ctx.linked(mapping, "eventSourceArn", queues, "arn"):
            visibility = _num(ctx.prop(queue, "visibilityTimeoutSeconds"), SQS_DEFAULT_VISIBILITY)
            for fn in _function_for_mapping(ctx, mapping, functions):
                timeout = _num(ctx.prop(fn, "timeout"), LAMBDA_DEFAULT_TIMEOUT)
                if visibility is None or timeout is None or visibility >= timeout:
                    continue
                ctx.report(f"Queue {queue.name} has a visibility timeout of {visibility:g} s, less than the "
                           f"{timeout:g} s timeout of function {fn.name} that consumes it: Lambda rejects the "
                           "event source mapping, and a message still being processed would be delivered "
                           "again. Set visibility_timeout_seconds to at least 6x the function timeout.",
                           mapping.urn)


_advice = Rules(area="hygiene", level=ADVISORY, unknown_doc=_FLAG)

S3_BUCKET_ACCESS_LOGGING = _advice.stack(
    "s3-bucket-access-logging", "S3 buckets should log server access to a log bucket (log target buckets are "
    "exempt).", (BUCKET, LOGGING), _access_logging, Severity.LOW, area="observability",
    why="Access logs record who read or deleted which input or result, for audits and incident response.",
    fix="aws.s3.BucketLogging(bucket=bucket.id, target_bucket=log_bucket.id, target_prefix='bucket/').",
    refs=("cdk-nag AwsSolutions-S1", "checkov CKV_AWS_18"))

S3_BUCKET_LIFECYCLE = _advice.stack(
    "s3-bucket-lifecycle", "S3 buckets should have lifecycle rules (expiration, old versions, incomplete uploads).",
    (BUCKET, LIFECYCLE), _lifecycle, Severity.LOW, area="cost",
    why="Versioned buckets keep every overwritten object; without expiry the bill only grows.",
    fix="aws.s3.BucketLifecycleConfiguration with expiration / noncurrent_version_expiration / "
        "abort_incomplete_multipart_upload (EtlPipeline's staging bucket has one).", refs=("checkov CKV2_AWS_61",))

SECRETSMANAGER_SECRET_ROTATION = _advice.stack(
    "secretsmanager-secret-rotation", "Secrets Manager secrets should rotate automatically.", (SECRET, ROTATION),
    _rotation, Severity.MEDIUM,
    why="Rotation limits how long a leaked credential works. Advisory: third-party API keys often cannot be rotated "
        "by a Lambda.",
    fix="aws.secretsmanager.SecretRotation(secret_id=secret.id, rotation_lambda_arn=..., "
        "rotation_rules={'automatically_after_days': 30}).", refs=("cdk-nag AwsSolutions-SMG4", "checkov CKV2_AWS_57"))

LAMBDA_FUNCTION_CODE_SIGNING = _advice.resource(
    "lambda-function-code-signing", "Lambda functions should verify their code with a code signing config.",
    (FUNCTION,), _code_signing, Severity.LOW,
    why="Code signing rejects packages not signed by your signing profile, so a stolen deploy credential cannot swap "
        "the code.",
    fix="aws.signer.SigningProfile + aws.lambda_.CodeSigningConfig; code_signing_config_arn=config.arn.",
    unknown_doc="An unknown ARN counts as set.", refs=("checkov CKV_AWS_272",))

LAMBDA_FUNCTION_VPC = _advice.resource(
    "lambda-function-vpc", "Lambda functions that reach private resources should run in a VPC.", (FUNCTION,), _vpc,
    Severity.LOW,
    why="A VPC controls the function's egress; sciflow's functions only call AWS APIs with IAM and TLS, so this stays "
        "advice (a VPC adds NAT or endpoint cost and cold-start work).",
    fix="vpc_config={'subnet_ids': private_subnets, 'security_group_ids': [sg.id]} plus VPC endpoints.",
    unknown_doc="Unknown subnet ids count as set.",
    refs=("checkov CKV_AWS_117", "cdk-nag LambdaInsideVPC (NIST/HIPAA/PCI packs)"))

SQS_QUEUE_VISIBILITY_TIMEOUT = _advice.stack(
    "sqs-queue-visibility-timeout", "A queue consumed by a Lambda function must have a visibility timeout of at "
    "least the function's timeout.", (QUEUE, FUNCTION, MAPPING), _visibility, Severity.HIGH,
    area="package-size", level=MANDATORY,
    why="CreateEventSourceMapping fails when the queue's visibility timeout is below the function's timeout "
        "(defaults: 30 s and 3 s); and a shorter timeout redelivers messages still being processed. Followed through "
        "the event source mappings.",
    fix="visibility_timeout_seconds >= 6 x the function timeout (AWS's recommendation).",
    unknown_doc="A timeout unknown at preview is not judged.",
    refs=("cdk-nag LambdaEventSourceSQSVisibilityTimeout", "AWS Lambda SQS docs"))

POLICIES: list[AnyPolicy] = [
    S3_BUCKET_ACCESS_LOGGING,
    S3_BUCKET_LIFECYCLE,
    SECRETSMANAGER_SECRET_ROTATION,
    LAMBDA_FUNCTION_CODE_SIGNING,
    LAMBDA_FUNCTION_VPC,
    SQS_QUEUE_VISIBILITY_TIMEOUT,
]
