"""Encryption at rest (customer-managed KMS keys with rotation) and in transit (TLS-only resource policies)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from ._core import (
    MANDATORY,
    UNKNOWN,
    AnyPolicy,
    Ctx,
    Rules,
    SciflowStackPolicy,
    StackCtx,
    as_list,
    parse_json,
    schema,
)
from ._iamdoc import parse_statements
from .public_access import BUCKET, QUEUE, QUEUE_POLICY, bucket_side
from .services import LOGGING, access_log_targets, is_access_log_target

AREA = "encryption"
SSE_CONFIG = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TABLE = "aws:dynamodb/table:Table"
KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
TOPIC = "aws:sns/topic:Topic"
SECRET = "aws:secretsmanager/secret:Secret"

_PRESENCE = ("Only presence matters: a key ARN unknown at preview (a key created in the same stack) is set, so "
             "it passes.")


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def denies_insecure_transport(doc: Any, service: str) -> bool:
    """A Deny for Principal '*' on all of the service's actions when aws:SecureTransport is false."""
    for st in parse_statements(doc):
        if st.effect != "Deny" or "*" not in st.principals:
            continue
        if not st.grants(f"{service}:*"):  # '*' or '<service>:*' (a narrower pattern does not cover all)
            continue
        cond = st.condition
        if not isinstance(cond, Mapping):
            continue
        for block in cond.values():
            if isinstance(block, Mapping):
                for key, value in block.items():
                    if str(key).lower() == "aws:securetransport" and all(_false(v) for v in as_list(value)):
                        return True
    return False


def _policy_docs(ctx: StackCtx, owner: PolicyResource, attached: list[PolicyResource]) -> list[Any]:
    docs = []
    for res in [owner, *attached]:
        raw = ctx.prop(res, "policy")
        if raw is UNKNOWN:
            docs.append(UNKNOWN)
        elif raw:
            docs.append(parse_json(ctx, raw, f"{res.name} policy", res.urn))
    return docs


def _tls(ctx: StackCtx, owner_type: str, policy_type: str, link: str, match: tuple[str, ...],
         service: str, noun: str) -> None:
    owners = ctx.of_type(owner_type)
    attached: dict[str, list[PolicyResource]] = {o.urn: [] for o in owners}
    for pol in ctx.of_type(policy_type):
        for owner in ctx.linked(pol, link, owners, *match):
            attached[owner.urn].append(pol)
    for owner in owners:
        docs = _policy_docs(ctx, owner, attached[owner.urn])
        if UNKNOWN in docs:
            continue
        if not any(denies_insecure_transport(d, service) for d in docs):
            ctx.report(f"The {noun} policy does not deny requests without TLS. Add a Deny for Principal '*', "
                       f"Action '{service}:*', Condition Bool aws:SecureTransport 'false' "
                       "(components/storage.py tls_only_statement).", owner.urn)


def inline_values(ctx: Ctx, node: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere under ``node`` (an inline block in any of its shapes: ``Bucket``'s
    ``serverSideEncryptionConfiguration.rule`` object, ``BucketV2``'s lists of lists, the side resource's
    ``rules`` list); unknown values as :data:`UNKNOWN`."""
    out: list[Any] = []
    if isinstance(node, Mapping):
        for k, v in ctx.mapping(node).items():
            out.extend([v] if k == key else inline_values(ctx, v, key))
    elif isinstance(node, Sequence) and not isinstance(node, str):
        for v in ctx.items(node):
            out.extend(inline_values(ctx, v, key))
    return out


def _s3_sse(ctx: StackCtx) -> None:
    """One rule whichever resource carries the setting: the algorithms of the inline configuration (Bucket,
    BucketV2) and of the side resources are judged alike, and a bucket with no configuration has the
    AWS default, SSE-S3 (AES256), and gets the same verdict as an explicit AES256."""
    require_kms = bool(ctx.config["requireKms"])
    side = bucket_side(ctx, SSE_CONFIG)
    log_targets = access_log_targets(ctx)
    for bucket in ctx.of_type(BUCKET):
        algorithms: list[Any] = []
        for cfg in side[bucket.urn]:
            algorithms.extend(inline_values(ctx, ctx.prop(cfg, "rules"), "sseAlgorithm"))
        for key in ("serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations"):
            algorithms.extend(inline_values(ctx, ctx.prop(bucket, key), "sseAlgorithm"))
        if not require_kms or UNKNOWN in algorithms or is_access_log_target(ctx, bucket, log_targets):
            continue  # S3 delivers server access logs only to targets whose default encryption is SSE-S3
        weak = sorted({str(a) for a in algorithms if a not in ("aws:kms", "aws:kms:dsse")})
        if not algorithms:
            ctx.report("Bucket has no server-side encryption configuration, so it gets the AWS default SSE-S3 "
                       "(AES256). Add a BucketServerSideEncryptionConfiguration with sse_algorithm 'aws:kms' and "
                       "the stack's key (or set requireKms: false).", bucket.urn)
        elif weak:
            ctx.report(f"Bucket encryption uses {', '.join(repr(w) for w in weak)}; use 'aws:kms' with a "
                       "customer-managed key (or set requireKms: false).", bucket.urn)


def _sqs_sse(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("kmsMasterKeyId") is None and ctx.get("sqsManagedSseEnabled") is not True:
        if ctx.config["requireKms"]:
            ctx.report("Queue is not encrypted with a KMS key. Set kms_master_key_id.")
        else:
            ctx.report("Queue encryption is not set. Set kms_master_key_id (customer-managed key) or "
                       "sqs_managed_sse_enabled=True.")
    elif ctx.config["requireKms"] and ctx.get("kmsMasterKeyId") is None:
        ctx.report("Queue uses SQS-managed SSE; requireKms asks for kms_master_key_id.")


def _dynamodb_cmk(ctx: Ctx, args: ResourceValidationArgs) -> None:
    enabled = ctx.get("serverSideEncryption", "enabled")
    key = ctx.get("serverSideEncryption", "kmsKeyArn")
    if enabled is not True and enabled is not UNKNOWN:
        ctx.report("Table uses the AWS-owned key. Set server_side_encryption enabled=True with kms_key_arn.")
    elif key is None and ctx.config["requireCustomerManagedKey"]:
        ctx.report("Table uses the AWS managed key (alias/aws/dynamodb). Set server_side_encryption.kms_key_arn.")


def _kms_rotation(ctx: Ctx, args: ResourceValidationArgs) -> None:
    spec = ctx.get("customerMasterKeySpec") or ctx.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec not in ("SYMMETRIC_DEFAULT", UNKNOWN):
        return
    if ctx.get("enableKeyRotation") is not True and ctx.get("enableKeyRotation") is not UNKNOWN:
        ctx.report("Symmetric KMS key without automatic rotation. Set enable_key_rotation=True.")


def _log_group_kms(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("kmsKeyId") is None:
        ctx.report("Log group is encrypted with the CloudWatch service key. Set kms_key_id (the key policy must "
                   "allow logs.<region>.amazonaws.com).")


def _lambda_env_kms(ctx: Ctx, args: ResourceValidationArgs) -> None:
    variables = ctx.get("environment", "variables")
    if variables and ctx.get("kmsKeyArn") is None:
        ctx.report("Function has environment variables but no kms_key_arn: they are encrypted with the "
                   "AWS managed key. Set kms_key_arn.")


def _schedule_kms(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("kmsKeyArn") is None:
        ctx.report("Schedule target input is encrypted with an AWS-owned key. Set kms_key_arn.")


_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|"
                          r"SIGNING_?KEY|VERIFICATION_?CODE|AUTH_?CODE|(^|_)(PASS|PWD|PIN|OTP|DSN)(_|$))",
                          re.IGNORECASE)
_SECRET_VALUE = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),  # GitHub token
    re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b"),  # Slack token
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
    re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # a connection URL with a password
    re.compile(r"\bsk_live_[A-Za-z0-9]{16,}\b"),  # Stripe secret key
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API key
)
#: Values that name where a secret lives instead of holding it.
_REFERENCE = re.compile(r"^(arn:aws[a-z-]*:|/|\{\{resolve:|ssm:|secretsmanager:)")


def _env_secrets(ctx: Ctx, args: ResourceValidationArgs) -> None:
    variables = ctx.mapping(ctx.get("environment", "variables"))
    for name, value in variables.items():
        if value is UNKNOWN or not isinstance(value, str) or not value:
            continue
        if any(p.search(value) for p in _SECRET_VALUE):
            ctx.report(f"Environment variable {name} holds what looks like a credential. Store it in Secrets "
                       "Manager or SSM SecureString and pass its ARN or name.")
        elif _SECRET_NAME.search(name) and not _REFERENCE.match(value):
            ctx.report(f"Environment variable {name} looks like a secret with a literal value. Pass the ARN or "
                       "parameter name and read it at run time.")


def _topic_kms(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("kmsMasterKeyId") is None:
        ctx.report("Topic messages are stored unencrypted. Set kms_master_key_id to a customer-managed key (the "
                   "key policy must allow the publishing services).")


def _secret_cmk(ctx: Ctx, args: ResourceValidationArgs) -> None:
    key = ctx.get("kmsKeyId")
    if key is None or (isinstance(key, str) and key.endswith("alias/aws/secretsmanager")):
        ctx.report("The secret is encrypted with the AWS managed key aws/secretsmanager. Set kms_key_id to a "
                   "customer-managed key so reads are governed by its key policy.")


_rules = Rules(area=AREA, level=MANDATORY, unknown="ignore", unknown_doc=_PRESENCE)


def _require(flag: str, default: bool, description: str) -> Any:
    return schema(**{flag: {"type": "boolean", "default": default, "description": description}})


def _tls_only(name: str, types: tuple[str, str], link: str, match: tuple[str, ...], service: str, noun: str,
              severity: Severity, why: str, fix: str, unknown_doc: str, *refs: str) -> SciflowStackPolicy:
    """The policy that every ``noun`` (the first of ``types``; its policies, the second, point at it through
    ``link``, matched on ``match`` outputs) denies ``service`` requests without TLS (the check: :func:`_tls`)."""
    check = functools.partial(_tls, owner_type=types[0], policy_type=types[1], link=link,  # pragma: no mutate
                              match=match, service=service, noun=noun)  # pragma: no mutate
    description = f"Every {service.upper()} {noun} policy must deny requests that do not use TLS."  # pragma: no mutate
    return _rules.stack(name, description, types, check, severity, unknown="report", why=why,  # pragma: no mutate
                        fix=fix, unknown_doc=unknown_doc, refs=refs)  # pragma: no mutate


S3_BUCKET_TLS_ONLY = _tls_only(
    "s3-bucket-tls-only", (BUCKET, BUCKET_POLICY), "bucket", ("id", "bucket"), "s3", "bucket", Severity.HIGH,
    "Without the Deny, clients may read and write data over plain HTTP.",
    "A BucketPolicy with Deny Principal '*' Action 's3:*' on the bucket and bucket/* when aws:SecureTransport is "
    "'false'.", "A bucket whose policy is unknown at preview is skipped with the engine's 'can't run policy' note; it "
    "is checked during `pulumi up`.", "cdk-nag AwsSolutions-S10")
SQS_QUEUE_TLS_ONLY = _tls_only(
    "sqs-queue-tls-only", (QUEUE, QUEUE_POLICY), "queueUrl", ("id", "url"), "sqs", "queue", Severity.MEDIUM,
    "Without the Deny, messages may be sent and received over plain HTTP.",
    "A QueuePolicy with Deny Principal '*' Action 'sqs:*' when aws:SecureTransport is 'false'.",
    "A queue whose policy is unknown at preview is skipped with the engine's note; checked during `pulumi up`.",
    "cdk-nag AwsSolutions-SQS4")

S3_BUCKET_ENCRYPTION = _rules.stack(
    "s3-bucket-encryption", "Every S3 bucket must have default encryption with a KMS key (server access log targets: "
    "SSE-S3).", (BUCKET, SSE_CONFIG, LOGGING), _s3_sse, Severity.HIGH,
    config_schema=_require("requireKms", True, "Reject SSE-S3 (AES256); require aws:kms."),
    why="SSE-KMS with a customer-managed key puts reads of the data under the key policy and CloudTrail. A bucket "
        "that receives S3 server access logs is exempt: S3 delivers them only to a target whose default "
        "encryption is SSE-S3 (AWS S3 user guide, enabling server access logging).",
    fix="aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm='aws:kms', kms_master_key_id=key.arn and "
        "bucket_key_enabled=True (components/storage.py create_secure_bucket).",
    unknown_doc="Matched to its bucket by property dependency; an unknown algorithm counts as KMS.",
    refs=("checkov CKV_AWS_145", "checkov CKV_AWS_19"))

SQS_QUEUE_ENCRYPTION = _rules.resource(
    "sqs-queue-encryption", "SQS queues must be encrypted at rest (KMS key or SQS-managed SSE), set explicitly.",
    (QUEUE,), _sqs_sse, Severity.HIGH,
    config_schema=_require("requireKms", False, "Reject SQS-managed SSE; require kms_master_key_id."),
    why="Dead-letter queues hold the failed events, which carry the job's input data.",
    fix="kms_master_key_id=key.arn (components/storage.py create_queue) or sqs_managed_sse_enabled=True.",
    refs=("cdk-nag AwsSolutions-SQS2", "checkov CKV_AWS_27"))

DYNAMODB_TABLE_CMK = _rules.resource(
    "dynamodb-table-cmk", "DynamoDB tables must be encrypted with a customer-managed KMS key.", (TABLE,),
    _dynamodb_cmk, Severity.MEDIUM,
    config_schema=_require("requireCustomerManagedKey", True, "Reject the AWS managed key."),
    why="The ledger records every input and its outcome; a CMK puts reads under the key policy.",
    fix="server_side_encryption={'enabled': True, 'kms_key_arn': key.arn}.", refs=("checkov CKV_AWS_119",))

KMS_KEY_ROTATION = _rules.resource(
    "kms-key-rotation", "Symmetric KMS keys must rotate automatically.", (KEY,), _kms_rotation, Severity.MEDIUM,
    why="Rotation limits how much data one key version protects.",
    fix="enable_key_rotation=True (rotation_period_in_days=365).",
    refs=("cdk-nag AwsSolutions-KMS5", "checkov CKV_AWS_7"))

CLOUDWATCH_LOGGROUP_KMS = _rules.resource(
    "cloudwatch-loggroup-kms", "CloudWatch log groups must be encrypted with a customer-managed KMS key.",
    (LOG_GROUP,), _log_group_kms, Severity.MEDIUM, why="Logs carry row-level validation errors and inputs.",
    fix="kms_key_id=key.arn.", refs=("checkov CKV_AWS_158",))

LAMBDA_FUNCTION_ENV_KMS = _rules.resource(
    "lambda-function-env-kms", "Lambda functions with environment variables must encrypt them with a "
    "customer-managed key.", (FUNCTION,), _lambda_env_kms, Severity.MEDIUM,
    why="Environment variables hold table, bucket and queue names; a CMK keeps them under the key policy.",
    fix="kms_key_arn=key.arn.", refs=("checkov CKV_AWS_173",))

SCHEDULER_SCHEDULE_KMS = _rules.resource(
    "scheduler-schedule-kms", "EventBridge Scheduler schedules must encrypt their target input with a "
    "customer-managed key.", (SCHEDULE,), _schedule_kms, Severity.LOW,
    why="The schedule stores the job's input payload.",
    fix="kms_key_arn=key.arn (the key policy must allow scheduler.amazonaws.com).", refs=("checkov CKV_AWS_297",))

SNS_TOPIC_ENCRYPTION = _rules.resource(
    "sns-topic-encryption", "SNS topics must be encrypted with a customer-managed KMS key.", (TOPIC,), _topic_kms,
    Severity.MEDIUM, why="Alarm and pipeline notifications carry bucket keys, row errors and job inputs.",
    fix="kms_master_key_id=key.arn (the key policy must allow cloudwatch.amazonaws.com / the publisher).",
    refs=("cdk-nag AwsSolutions-SNS2", "checkov CKV_AWS_26"))

SECRETSMANAGER_SECRET_CMK = _rules.resource(
    "secretsmanager-secret-cmk", "Secrets Manager secrets must be encrypted with a customer-managed KMS key.",
    (SECRET,), _secret_cmk, Severity.MEDIUM,
    why="With the AWS managed key every principal with secretsmanager:GetSecretValue reads the secret; a CMK adds "
        "the key policy as a second gate.", fix="kms_key_id=key.arn.", refs=("checkov CKV_AWS_149",))

LAMBDA_FUNCTION_ENV_NO_SECRETS = _rules.resource(
    "lambda-function-env-no-secrets", "Lambda environment variables must not hold secrets.", (FUNCTION,),
    _env_secrets, Severity.HIGH,
    why="Environment variables are readable by anyone with lambda:GetFunctionConfiguration and end up in the Pulumi "
        "state and the preview diff.",
    fix="Keep the secret in Secrets Manager / SSM SecureString; put its ARN or name in the environment.",
    unknown_doc="A value unknown at preview is computed from another resource (an ARN or name), not a literal "
                "secret: it passes.", refs=("checkov CKV_AWS_45",))

POLICIES: list[AnyPolicy] = [
    LAMBDA_FUNCTION_ENV_NO_SECRETS,
    S3_BUCKET_ENCRYPTION,
    S3_BUCKET_TLS_ONLY,
    SQS_QUEUE_ENCRYPTION,
    SNS_TOPIC_ENCRYPTION,
    SECRETSMANAGER_SECRET_CMK,
    SQS_QUEUE_TLS_ONLY,
    DYNAMODB_TABLE_CMK,
    KMS_KEY_ROTATION,
    CLOUDWATCH_LOGGROUP_KMS,
    LAMBDA_FUNCTION_ENV_KMS,
    SCHEDULER_SCHEDULE_KMS,
]
