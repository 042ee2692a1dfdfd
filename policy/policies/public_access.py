"""Public access: resource policies, ACLs, function URLs and Lambda permissions that open resources to anyone.

Every resource policy the pack knows (S3 bucket, SQS queue, SNS topic, KMS key, Secrets Manager secret,
EventBridge bus; inline on the resource or as the separate policy resource, deprecated alias types included)
is read with the same statement semantics (:mod:`._iamdoc`): a statement is public when its principal is
``*`` (or it uses ``NotPrincipal``) and no condition *really* restricts it, and a statement that grants every
action (``*``, ``<service>:*`` or ``NotAction``) to anyone but an account root is flagged whoever it names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import (
    ADVISORY,
    MANDATORY,
    UNKNOWN,
    AnyPolicy,
    Ctx,
    Rules,
    SciflowResourcePolicy,
    StackCtx,
    parse_json,
)
from ._iamdoc import RESTRICTING_CONDITION_KEYS, only_account_roots, parse_statements

AREA = "public-access"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
EVENT_BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"

#: Resource types whose ``policy`` input is a resource policy, and the noun used in messages.
RESOURCE_POLICY_TYPES: dict[str, str] = {
    BUCKET: "Bucket", BUCKET_POLICY: "Bucket", QUEUE: "Queue", QUEUE_POLICY: "Queue", TOPIC: "Topic",
    TOPIC_POLICY: "Topic", KEY: "Key", KEY_POLICY: "Key", SECRET: "Secret", SECRET_POLICY: "Secret",
    EVENT_BUS_POLICY: "Event bus",
}
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_ALL_USERS = ("http://acs.amazonaws.com/groups/global/AllUsers",
              "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
__all__ = ["RESTRICTING_CONDITION_KEYS"]


def _public_check(kind: str, ctx: Ctx, args: ResourceValidationArgs) -> None:
    doc = parse_json(ctx, ctx.get("policy"), "policy")
    for st in parse_statements(doc):
        if st.public:
            who = "NotPrincipal" if st.not_principal is not None else "Principal '*'"
            ctx.report(f"{kind} policy {st.where} allows {who} without a condition that restricts it "
                       "(aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, a specific aws:SourceIp ...): "
                       "anyone can use it. Name the principals or add such a condition.")


def _all_actions_policy(ctx: Ctx, args: ResourceValidationArgs) -> None:
    kind = RESOURCE_POLICY_TYPES.get(args.resource_type)
    if kind is None:
        from ._sdk import canonical

        kind = RESOURCE_POLICY_TYPES.get(canonical(args.resource_type), "Resource")
    doc = parse_json(ctx, ctx.get("policy"), "policy")
    for st in parse_statements(doc):
        if not st.allows or only_account_roots(st):
            continue
        every = "NotAction" if st.not_actions is not None else next(
            (a for a in st.actions if a == "*" or a.endswith(":*")), None)
        if every is not None:
            who = ", ".join(st.principals) or ("NotPrincipal" if st.not_principal is not None else "no principal")
            ctx.report(f"{kind} policy {st.where} allows every action ({every}) to {who}. Name the actions the "
                       "principal needs (e.g. sqs:SendMessage, s3:GetObject).")


def _acl(ctx: Ctx, args: ResourceValidationArgs) -> None:
    acl = ctx.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        ctx.report(f"ACL '{acl}' makes the bucket's objects readable by everyone. Remove the ACL (use "
                   "BucketOwnerEnforced ownership) and grant access with IAM.")
    for grant in ctx.items(ctx.get("accessControlPolicy", "grants")):
        if grant is UNKNOWN or not isinstance(grant, Mapping):
            continue
        uri = ctx.get("grantee", "uri", props=grant)
        if uri in _ALL_USERS:
            ctx.report(f"accessControlPolicy grants {ctx.get('permission', props=grant)} to {uri}. "
                       "Remove the grant.")
    for grant in ctx.items(ctx.get("grants")):  # the bucket's own (deprecated) inline grants
        if grant is UNKNOWN or not isinstance(grant, Mapping):
            continue
        uri = ctx.get("uri", props=grant)
        if uri in _ALL_USERS:
            ctx.report(f"The bucket's grants give {', '.join(map(str, ctx.items(ctx.get('permissions', props=grant))))}"
                       f" to {uri}. Remove the grant.")


def _function_url(ctx: Ctx, args: ResourceValidationArgs) -> None:
    auth = ctx.get("authorizationType")
    if auth == "NONE":
        ctx.report("Function URL authorizationType is NONE: anyone on the internet can invoke the function. "
                   "Use AWS_IAM.")


def _permission_public(ctx: Ctx, args: ResourceValidationArgs) -> None:
    principal = ctx.get("principal")
    restricted = ctx.get("principalOrgId") is not None or ctx.get("sourceAccount") is not None
    if principal == "*" and not restricted:
        ctx.report("Lambda permission grants principal '*' without principal_org_id or source_account: anyone "
                   "can invoke the function. Name the service or account.")
    if ctx.get("functionUrlAuthType") == "NONE":
        ctx.report("Lambda permission allows unauthenticated function URL invocations (functionUrlAuthType "
                   "NONE). Use AWS_IAM.")


def _permission_source(ctx: Ctx, args: ResourceValidationArgs) -> None:
    principal = ctx.get("principal")
    if not isinstance(principal, str) or not principal.endswith(".amazonaws.com"):
        return
    source_arn = ctx.get("sourceArn")
    source_account = ctx.get("sourceAccount")
    if source_arn is None and source_account is None:
        ctx.report(f"Lambda permission for service {principal} has neither sourceArn nor sourceAccount: any "
                   f"{principal.split('.')[0]} resource in any account can invoke the function "
                   "(confused deputy). Set sourceArn to the rule, bucket or topic ARN.")


def bucket_side(ctx: StackCtx, sub_type: str) -> dict[str, list[Any]]:
    buckets = ctx.of_type(BUCKET)
    found: dict[str, list[Any]] = {b.urn: [] for b in buckets}
    for sub in ctx.of_type(sub_type):
        for bucket in ctx.linked(sub, "bucket", buckets, "id", "bucket"):
            found[bucket.urn].append(sub)
    return found


def _public_access_block(ctx: StackCtx) -> None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    side = bucket_side(ctx, PUBLIC_ACCESS_BLOCK)
    account_wide = [a for a in ctx.of_type(ACCOUNT_PUBLIC_ACCESS_BLOCK)
                    if all(ctx.prop(a, f) in (True, UNKNOWN) for f in flags)]
    for bucket in ctx.of_type(BUCKET):
        if account_wide:
            break  # the account-level block with all four flags covers every bucket
        blocks = side[bucket.urn]
        if not blocks:
            ctx.report("Bucket has no BucketPublicAccessBlock. Add one with all four flags true "
                       "(components/storage.py create_secure_bucket does).", bucket.urn)
            continue
        for block in blocks:
            off = [f for f in flags if ctx.prop(block, f) is not True and ctx.prop(block, f) is not UNKNOWN]
            if off:
                ctx.report(f"BucketPublicAccessBlock {block.name} leaves {', '.join(off)} off. Set all four "
                           "flags to true.", bucket.urn)


def _ownership(ctx: StackCtx) -> None:
    side = bucket_side(ctx, OWNERSHIP)
    for bucket in ctx.of_type(BUCKET):
        controls = side[bucket.urn]
        owners = [ctx.prop(c, "rule", "objectOwnership") for c in controls]
        if not any(o in ("BucketOwnerEnforced", UNKNOWN) for o in owners):
            found = ", ".join(str(o) for o in owners) or "no BucketOwnershipControls"
            ctx.report(f"Bucket ACLs are not disabled ({found}). Add BucketOwnershipControls with "
                       "objectOwnership BucketOwnerEnforced.", bucket.urn)


_REPORTED = ("Unknown at preview (the policy embeds ARNs of new resources): the engine reports 'can't run "
             "policy ... during preview'; the policy is enforced during `pulumi up`.")
_mandatory = Rules(area=AREA, level=MANDATORY, unknown="report", unknown_doc=_REPORTED)


def _no_public(name: str, policies: str, kind: str, types: tuple[str, ...], severity: Severity, why: str, fix: str,
               *refs: str) -> SciflowResourcePolicy:
    """The policy that ``kind`` resource policies let no one in (the check: :func:`_public_check`)."""
    return _mandatory.resource(  # pragma: no mutate
        name, f"{policies} must not allow Principal '*' without a restricting condition.", types,  # pragma: no mutate
        functools.partial(_public_check, kind), severity, why=why, fix=fix, refs=refs)  # pragma: no mutate


S3_BUCKETPOLICY_NO_PUBLIC = _no_public(
    "s3-bucketpolicy-no-public", "S3 bucket policies", "Bucket", (BUCKET_POLICY, BUCKET), Severity.CRITICAL,
    "A public bucket policy exposes the results and raw data of every job.",
    "Grant access to the roles that need it; keep Principal '*' only in Deny statements (such as the TLS-only "
    "statement).", "cdk-nag AwsSolutions-S2", "checkov CKV_AWS_70")
SQS_QUEUEPOLICY_NO_PUBLIC = _no_public(
    "sqs-queuepolicy-no-public", "SQS queue policies", "Queue", (QUEUE_POLICY, QUEUE), Severity.HIGH,
    "Anyone could send poison messages to (or read) the queue, including dead letters with data.",
    "Allow the service principal with an aws:SourceArn condition (components/storage.py create_queue).",
    "checkov CKV_AWS_72", "checkov CKV_AWS_168")
EVENTBRIDGE_BUS_POLICY_NO_PUBLIC = _no_public(
    "eventbridge-buspolicy-no-public", "EventBridge bus policies", "Event bus", (EVENT_BUS_POLICY,), Severity.HIGH,
    "An open bus accepts events from any account, which can start pipelines.",
    "Name the accounts or add an aws:PrincipalOrgID condition.", "cdk-nag AwsSolutions-EVB1")
SNS_TOPICPOLICY_NO_PUBLIC = _no_public(
    "sns-topicpolicy-no-public", "SNS topic policies", "Topic", (TOPIC_POLICY, TOPIC), Severity.HIGH,
    "Anyone could publish to the topic (starting whatever it fans out to) or subscribe to its messages.",
    "Allow the publishing service with an aws:SourceArn / aws:SourceAccount condition, or name roles.",
    "checkov CKV_AWS_169")
KMS_KEYPOLICY_NO_PUBLIC = _no_public(
    "kms-keypolicy-no-public", "KMS key policies", "Key", (KEY, KEY_POLICY), Severity.CRITICAL,
    "A public key policy lets any AWS account decrypt the data the key protects (or use the key).",
    "Give the account root 'kms:*' (IAM then decides) and services the actions they need with aws:SourceAccount / "
    "kms:ViaService / kms:CallerAccount conditions (components/storage.py kms_key_policy).", "checkov CKV_AWS_33")
SECRETSMANAGER_SECRETPOLICY_NO_PUBLIC = _no_public(
    "secretsmanager-secretpolicy-no-public", "Secrets Manager resource policies", "Secret", (SECRET_POLICY, SECRET),
    Severity.CRITICAL, "A public secret policy lets any AWS account read the secret value.",
    "Name the role ARNs that read the secret; set block_public_policy=True on SecretPolicy.", "sciflow",
    "AWS Secrets Manager BlockPublicPolicy")

S3_BUCKET_NO_PUBLIC_ACL = _mandatory.resource(
    "s3-bucket-no-public-acl", "S3 buckets must not use public canned ACLs or grants to AllUsers/AuthenticatedUsers.",
    (BUCKET, BUCKET_ACL), _acl, Severity.CRITICAL,
    why="public-read / public-read-write ACLs make every object world-readable (or writable).",
    fix="Remove the ACL; with BucketOwnerEnforced ownership ACLs are disabled altogether.",
    refs=("checkov CKV_AWS_20", "checkov CKV_AWS_57"))

S3_BUCKET_PUBLIC_ACCESS_BLOCK = _mandatory.stack(
    "s3-bucket-public-access-block", "Every S3 bucket must have a BucketPublicAccessBlock with all four flags true.",
    (BUCKET, PUBLIC_ACCESS_BLOCK, ACCOUNT_PUBLIC_ACCESS_BLOCK), _public_access_block, Severity.HIGH,
    why="The block stops a later ACL or bucket policy change from making data public.",
    fix="aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, block_public_policy=True, "
        "ignore_public_acls=True, restrict_public_buckets=True).",
    refs=("cdk-nag AwsSolutions-S2", "checkov CKV2_AWS_6"), unknown="ignore",
    unknown_doc="The block is matched to its bucket by property dependency (works when ids are unknown); an unknown "
                "flag counts as set.")

S3_BUCKET_OWNERSHIP_ENFORCED = _mandatory.stack(
    "s3-bucket-ownership-enforced", "S3 buckets should disable ACLs with BucketOwnershipControls BucketOwnerEnforced.",
    (BUCKET, OWNERSHIP), _ownership, Severity.MEDIUM, level=ADVISORY, unknown="ignore",
    why="With ACLs disabled, only IAM and the bucket policy grant access (new buckets default to this; the explicit "
        "resource keeps it visible and stops drift).",
    fix="aws.s3.BucketOwnershipControls(bucket=bucket.id, rule={'object_ownership': 'BucketOwnerEnforced'}).",
    unknown_doc="Matched by property dependency; an unknown objectOwnership counts as enforced.",
    refs=("checkov CKV2_AWS_65",))

AWS_RESOURCEPOLICY_NO_ALL_ACTIONS = _mandatory.resource(
    "aws-resourcepolicy-no-all-actions", "Resource policies must not allow every action ('*', '<service>:*' or "
    "NotAction) to a principal other than an account root.", tuple(RESOURCE_POLICY_TYPES), _all_actions_policy,
    Severity.HIGH,
    why="'sqs:*' or '*' for a service or role also grants deleting the queue, changing its policy or purging it. "
        "Statements whose principals are all account roots (the key policy's 'Enable IAM policies' statement) are "
        "exempt: that account's IAM policies decide.",
    fix="Name the actions: sqs:SendMessage for a publisher, s3:GetObject for a reader, kms:Decrypt and "
        "kms:GenerateDataKey for a service.", refs=("checkov CKV_AWS_72",))

LAMBDA_FUNCTIONURL_AUTH = _mandatory.resource(
    "lambda-functionurl-auth", "Lambda function URLs must require IAM authentication.", (FUNCTION_URL,),
    _function_url, Severity.HIGH, why="A URL with authorizationType NONE runs scientific jobs (and bills them) for "
    "anyone.", fix="authorization_type='AWS_IAM'.", refs=("checkov CKV_AWS_258", "cdk-nag LambdaFunctionUrlAuth"))

LAMBDA_PERMISSION_NO_PUBLIC = _mandatory.resource(
    "lambda-permission-no-public", "Lambda permissions must not grant invoke to principal '*'.", (PERMISSION,),
    _permission_public, Severity.CRITICAL, why="Principal '*' makes the function invocable by every AWS account.",
    fix="principal='events.amazonaws.com' (or the account) plus source_arn.",
    refs=("checkov CKV_AWS_301", "cdk-nag LambdaFunctionPublicAccessProhibited (NIST/HIPAA/PCI packs)"))

LAMBDA_PERMISSION_SOURCE_RESTRICTED = _mandatory.resource(
    "lambda-permission-source-restricted", "Lambda permissions for AWS services must set sourceArn or "
    "sourceAccount.", (PERMISSION,), _permission_source, Severity.HIGH, unknown="ignore",
    why="Without them any bucket, rule or topic of that service, in any account, may invoke the function (confused "
        "deputy).", fix="source_arn=rule.arn (or bucket.arn / topic.arn), and source_account for S3.",
    unknown_doc="Only presence matters: a sourceArn unknown at preview is set, so it passes.",
    refs=("checkov CKV_AWS_364",))

POLICIES: list[AnyPolicy] = [
    S3_BUCKETPOLICY_NO_PUBLIC,
    S3_BUCKET_NO_PUBLIC_ACL,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_OWNERSHIP_ENFORCED,
    SQS_QUEUEPOLICY_NO_PUBLIC,
    SNS_TOPICPOLICY_NO_PUBLIC,
    KMS_KEYPOLICY_NO_PUBLIC,
    SECRETSMANAGER_SECRETPOLICY_NO_PUBLIC,
    EVENTBRIDGE_BUS_POLICY_NO_PUBLIC,
    AWS_RESOURCEPOLICY_NO_ALL_ACTIONS,
    LAMBDA_FUNCTIONURL_AUTH,
    LAMBDA_PERMISSION_NO_PUBLIC,
    LAMBDA_PERMISSION_SOURCE_RESTRICTED,
]
