"""Secure-by-default builders for the stateful resources every component uses.

Each builder creates one logical thing with its side resources, always encrypted with the component's KMS
key, private, and tagged. Components compose these; none re-implements them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import Statement, policy_document
from components.naming import kms_alias_name
from components.schema import knob

QUEUE_RETENTION_S = 14 * 24 * 3600
#: A secure bucket's lifecycle: overwritten or deleted versions stay recoverable this long, then expire (a
#: versioned bucket otherwise keeps, and bills, every version forever) ...
NONCURRENT_VERSION_DAYS = 30
#: ... and the parts of a multipart upload that never completed are removed after this many days.
ABORT_UPLOAD_DAYS = 7
#: How long the stack's S3 server access logs are kept.
ACCESS_LOG_RETENTION_DAYS = 90
#: The service principal that delivers S3 server access logs.
LOG_DELIVERY_SERVICE = "logging.s3.amazonaws.com"


def access_logs_knob() -> Any:
    """The Args field a component's own buckets log their server access into (``build_stack`` sets it)."""
    return knob(None, key=None, doc="server access log bucket for its buckets (the stack's `AccessLogs`)")


def _child(parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))


def kms_key_policy() -> pulumi.Output[str]:
    """Key policy: the account administers the key through IAM; CloudWatch Logs may encrypt this stack's log
    groups; EventBridge may deliver to queues encrypted with it (rule DLQs), from this account only."""
    identity = aws.get_caller_identity_output()
    region = aws.get_region_output()
    partition = aws.get_partition_output()
    account = identity.account_id
    root = pulumi.Output.concat("arn:", partition.partition, ":iam::", account, ":root")
    log_groups = pulumi.Output.concat("arn:", partition.partition, ":logs:", region.region, ":", account,
                                      ":log-group:*")
    return policy_document([
        {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsEncryptsLogGroups", "Effect": "Allow",
         "Principal": {"Service": pulumi.Output.concat("logs.", region.region, ".amazonaws.com")},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}}},
        {"Sid": "EventBridgeDeliversToEncryptedQueues", "Effect": "Allow",
         "Principal": {"Service": "events.amazonaws.com"},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        {"Sid": "CloudWatchAlarmsPublishToEncryptedTopics", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
    ])


def create_kms_key(name: str, *, description: str, parent: pulumi.Resource,
                   tags: Mapping[str, str]) -> aws.kms.Key:
    """A customer-managed symmetric key with yearly rotation and an alias ``alias/<project>/<stack>/<name>``
    (alias names are unique per account and region, so the alias carries the stack)."""
    key = aws.kms.Key(
        f"{name}-key",
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=30,
        policy=kms_key_policy(),
        tags=dict(tags),
        opts=_child(parent),
    )
    aws.kms.Alias(f"{name}-key-alias", name=kms_alias_name(pulumi.get_project(), pulumi.get_stack(), name),
                  target_key_id=key.key_id, opts=_child(parent))
    return key


@dataclass
class SecureBucket:
    """A private, versioned, SSE-KMS bucket and the side resources that make it so."""

    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    policy: aws.s3.BucketPolicy
    notification: aws.s3.BucketNotification | None
    lifecycle: aws.s3.BucketLifecycleConfiguration
    access_logging: aws.s3.BucketLogging | None = None

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.bucket.arn

    @property
    def name(self) -> pulumi.Output[str]:
        return self.bucket.bucket


def tls_only_statement(resource_arns: Sequence[pulumi.Input[str]], service_action: str) -> dict[str, Any]:
    """Deny any request to these resources that is not over TLS (cdk-nag S10 / SQS4)."""
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": service_action,
            "Resource": list(resource_arns), "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def lifecycle_rule(rule_id: str, *, prefix: str = "", expire_days: int | None = None,
                   noncurrent_days: int = NONCURRENT_VERSION_DAYS,
                   abort_upload_days: int = ABORT_UPLOAD_DAYS) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """One enabled lifecycle rule for the objects under ``prefix`` (all objects for ``""``): old versions and
    incomplete uploads expire; current objects too when ``expire_days`` is given."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id, status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
        expiration=(aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days)
                    if expire_days is not None else None),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=noncurrent_days),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=abort_upload_days))


def _bucket(name: str, *, parent: pulumi.Resource, tags: Mapping[str, str],
            sse: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs,
            statements: Callable[[pulumi.Output[str]], list[dict[str, Any]]],
            lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs], access_logs: AccessLogs | None,
            eventbridge: bool, force_destroy: bool) -> SecureBucket:
    """The one private bucket recipe: ``sse`` default encryption, versioning, public access blocked, ownership
    enforced, a TLS-only policy plus ``statements(bucket_arn)``, the lifecycle, server access logs into
    ``access_logs`` (under ``<name>/``, once the log bucket's policy lets log delivery write) and, when
    ``eventbridge``, S3 -> EventBridge notifications."""
    bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=force_destroy, tags=dict(tags), opts=_child(parent))
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=_child(parent))
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket.id, rules=[sse],
                                                                opts=_child(parent))
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=_child(parent))
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=_child(parent))
    objects = pulumi.Output.concat(bucket.arn, "/*")
    policy = aws.s3.BucketPolicy(
        f"{name}-bucket-policy", bucket=bucket.id,
        policy=policy_document([*statements(bucket.arn), tls_only_statement([bucket.arn, objects], "s3:*")]),
        opts=_child(parent, [public_access_block]))
    notification = None
    if eventbridge:
        notification = aws.s3.BucketNotification(f"{name}-notification", bucket=bucket.id, eventbridge=True,
                                                 opts=_child(parent))
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.id, rules=[*lifecycle_rules, lifecycle_rule("expire-old-versions")],
        opts=_child(parent, [versioning]))
    logging = None
    if access_logs is not None:
        logging = aws.s3.BucketLogging(f"{name}-access-logging", bucket=bucket.id,
                                       target_bucket=access_logs.secure.bucket.id, target_prefix=f"{name}/",
                                       opts=_child(parent, [access_logs.secure.policy]))
    return SecureBucket(bucket, versioning, encryption, public_access_block, ownership, policy, notification,
                        lifecycle, logging)


def create_secure_bucket(name: str, *, kms_key: aws.kms.Key, parent: pulumi.Resource, tags: Mapping[str, str],
                         eventbridge: bool = False, force_destroy: bool = False,
                         lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs] = (),
                         access_logs: AccessLogs | None = None) -> SecureBucket:
    """A bucket with SSE-KMS (bucket key on), versioning, public access blocked, ownership enforced, a
    TLS-only policy, a lifecycle (``lifecycle_rules``, then old versions and incomplete uploads expire
    everywhere: a bucket has one lifecycle configuration, so a component passes its rules here), server access
    logs into ``access_logs`` (the stack's :func:`create_access_log_bucket`) and, when ``eventbridge``,
    S3 -> EventBridge notifications."""
    sse = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=(
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key.arn)),
        bucket_key_enabled=True)
    return _bucket(name, parent=parent, tags=tags, sse=sse, statements=lambda arn: [],
                   lifecycle_rules=lifecycle_rules, access_logs=access_logs, eventbridge=eventbridge,
                   force_destroy=force_destroy)


def log_delivery_statement(bucket_arn: pulumi.Input[str], account: pulumi.Input[str]) -> dict[str, Any]:
    """S3 server access log delivery (the ``logging.s3.amazonaws.com`` service principal) may write objects,
    for source buckets of this account only (AWS's documented bucket policy for a log target)."""
    return {"Sid": "S3ServerAccessLogDelivery", "Effect": "Allow", "Principal": {"Service": LOG_DELIVERY_SERVICE},
            "Action": "s3:PutObject", "Resource": pulumi.Output.concat(bucket_arn, "/*"),
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}}


def create_access_log_bucket(name: str, *, parent: pulumi.Resource, tags: Mapping[str, str],
                             retention_days: int = ACCESS_LOG_RETENTION_DAYS) -> SecureBucket:
    """The stack's target for S3 server access logs: private, versioned and TLS-only like every secure bucket,
    encrypted with SSE-S3 (S3 delivers server access logs only to a target whose default encryption is SSE-S3,
    not SSE-KMS), writable by log delivery from this account only, logs expiring after ``retention_days``, and
    not itself logged (logging a log bucket loops)."""
    account = aws.get_caller_identity_output().account_id
    sse = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=(
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256")))
    return _bucket(name, parent=parent, tags=tags, sse=sse,
                   statements=lambda arn: [log_delivery_statement(arn, account)],
                   lifecycle_rules=[lifecycle_rule("expire-access-logs", expire_days=retention_days,
                                                   noncurrent_days=1)],
                   access_logs=None, eventbridge=False, force_destroy=False)


def create_table(name: str, *, hash_key: str, kms_key: aws.kms.Key, parent: pulumi.Resource,
                 tags: Mapping[str, str], range_key: str | None = None, ttl_attribute: str | None = None,
                 deletion_protection: bool = True) -> aws.dynamodb.Table:
    """An on-demand table with string keys, point-in-time recovery and SSE-KMS with the component's key."""
    attributes = [aws.dynamodb.TableAttributeArgs(name=hash_key, type="S")]
    if range_key:
        attributes.append(aws.dynamodb.TableAttributeArgs(name=range_key, type="S"))
    return aws.dynamodb.Table(
        f"{name}-table",
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        range_key=range_key,
        attributes=attributes,
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=kms_key.arn),
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=ttl_attribute, enabled=True) if ttl_attribute else None,
        deletion_protection_enabled=deletion_protection,
        tags=dict(tags),
        opts=_child(parent),
    )


def create_queue(name: str, *, kms_key: aws.kms.Key, parent: pulumi.Resource, tags: Mapping[str, str],
                 service_principals: Sequence[str] = (),
                 source_arns: Sequence[pulumi.Input[str]] = ()) -> aws.sqs.Queue:
    """A KMS-encrypted queue (14-day retention) with a TLS-only policy; ``service_principals`` (e.g.
    ``events.amazonaws.com`` for a rule DLQ) may send to it, only on behalf of ``source_arns``."""
    queue = aws.sqs.Queue(
        f"{name}-queue",
        kms_master_key_id=kms_key.arn,
        kms_data_key_reuse_period_seconds=300,
        message_retention_seconds=QUEUE_RETENTION_S,
        tags=dict(tags),
        opts=_child(parent),
    )
    statements: list[Statement | dict[str, Any]] = [tls_only_statement([queue.arn], "sqs:*")]
    for principal in service_principals:
        statements.append({
            "Sid": "Allow" + "".join(part.capitalize() for part in principal.split(".")[0].split("-")),
            "Effect": "Allow", "Principal": {"Service": principal}, "Action": "sqs:SendMessage",
            "Resource": queue.arn,
            **({"Condition": {"ArnEquals": {"aws:SourceArn": list(source_arns)}}} if source_arns else {}),
        })
    aws.sqs.QueuePolicy(f"{name}-queue-policy", queue_url=queue.id, policy=policy_document(statements),
                        opts=_child(parent))
    return queue


def create_log_group(name: str, *, kms_key: aws.kms.Key, retention_days: int, parent: pulumi.Resource,
                     tags: Mapping[str, str], log_group_name: pulumi.Input[str] | None = None
                     ) -> aws.cloudwatch.LogGroup:
    """A KMS-encrypted log group with a retention period."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs",
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=kms_key.arn,
        tags=dict(tags),
        opts=_child(parent),
    )


def send_to_queue(queue: aws.sqs.Queue, kms_key: aws.kms.Key) -> list[Statement]:
    """Statements to send messages to one encrypted queue."""
    return [Statement(sid="SendToDeadLetterQueue", actions=("sqs:SendMessage",), resources=(queue.arn,)),
            Statement(sid="EncryptDeadLetters", actions=("kms:GenerateDataKey", "kms:Decrypt"),
                      resources=(kms_key.arn,))]


__all__ = [
    "SecureBucket",
    "create_kms_key",
    "create_log_group",
    "create_queue",
    "create_secure_bucket",
    "create_table",
    "send_to_queue",
    "tls_only_statement",
]


@dataclass
class AccessLogsArgs:
    """The stack's server access log bucket: its tags and how long the logs are kept."""

    tags: Mapping[str, str] = field(default_factory=dict)
    retention_days: int = ACCESS_LOG_RETENTION_DAYS


class AccessLogs(pulumi.ComponentResource):
    """One per stack: the bucket every secure bucket of the stack delivers its S3 server access logs to
    (:func:`create_access_log_bucket`)."""

    def __init__(self, name: str, args: AccessLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sciflow:index:AccessLogs", name, None, opts)
        self.secure = create_access_log_bucket(name, parent=self, tags=args.tags, retention_days=args.retention_days)
        self.register_outputs({"bucket": self.secure.bucket.bucket})
