"""Public access: resource policies, ACLs, function URLs and Lambda permissions that open resources to anyone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import (
    ADVISORY,
    MANDATORY,
    UNKNOWN,
    AnyPolicy,
    Ctx,
    Doc,
    SciflowResourcePolicy,
    SciflowStackPolicy,
    StackCtx,
    as_list,
    parse_json,
)
from .iam import statements

AREA = "public-access"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
EVENT_BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"

#: Condition keys that pin a '*' principal to one account, organization, source or network.
RESTRICTING_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:userid", "aws:username",
))
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_ALL_USERS = ("http://acs.amazonaws.com/groups/global/AllUsers",
              "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


def _is_star_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(p == "*" for v in principal.values() for p in as_list(v))
    return False


def _restricting(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for block in condition.values():
        if isinstance(block, Mapping) and any(str(k).lower() in RESTRICTING_CONDITION_KEYS for k in block):
            return True
    return False


def public_statements(doc: Any) -> list[int]:
    """Indexes of Allow statements open to everyone: Principal '*' without a restricting condition."""
    out = []
    for i, st in enumerate(statements(doc)):
        if st.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in st or (_is_star_principal(st.get("Principal")) and not _restricting(
                st.get("Condition"))):
            out.append(i)
    return out


def _public_policy(kind: str) -> Any:
    def check(ctx: Ctx, args: ResourceValidationArgs) -> None:
        doc = parse_json(ctx, ctx.get("policy"), "policy")
        for i in public_statements(doc):
            ctx.report(f"{kind} policy statement #{i} allows Principal '*' without a condition on "
                       "aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID or similar: anyone can use it. "
                       "Name the principals or add such a condition.")
    return check


def _acl(ctx: Ctx, args: ResourceValidationArgs) -> None:
    acl = ctx.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        ctx.report(f"ACL '{acl}' makes the bucket's objects readable by everyone. Remove the ACL (use "
                   "BucketOwnerEnforced ownership) and grant access with IAM.")
    grants = ctx.items(ctx.get("accessControlPolicy", "grants"))
    for grant in grants:
        if grant is UNKNOWN or not isinstance(grant, Mapping):
            continue
        uri = ctx.get("grantee", "uri", props=grant)
        if uri in _ALL_USERS:
            ctx.report(f"accessControlPolicy grants {ctx.get('permission', props=grant)} to {uri}. "
                       "Remove the grant.")


def _function_url(ctx: Ctx, args: ResourceValidationArgs) -> None:
    auth = ctx.get("authorizationType")
    if auth == "NONE":
        ctx.report("Function URL authorizationType is NONE: anyone on the internet can invoke the function. "
                   "Use AWS_IAM.")


def _permission_public(ctx: Ctx, args: ResourceValidationArgs) -> None:
    principal = ctx.get("principal")
    if principal == "*":
        ctx.report("Lambda permission grants principal '*': anyone can invoke the function. Name the "
                   "service or account.")
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
    for bucket in ctx.of_type(BUCKET):
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

S3_BUCKETPOLICY_NO_PUBLIC = SciflowResourcePolicy(
    name="s3-bucketpolicy-no-public",
    description="S3 bucket policies must not allow Principal '*' without a restricting condition.",
    resource_types=(BUCKET_POLICY, BUCKET), check=_public_policy("Bucket"), enforcement_level=MANDATORY,
    severity=Severity.CRITICAL, area=AREA,
    doc=Doc(why="A public bucket policy exposes the results and raw data of every job.",
            fix="Grant access to the roles that need it; keep Principal '*' only in Deny statements "
                "(such as the TLS-only statement).",
            unknown=_REPORTED, references=("cdk-nag AwsSolutions-S2", "checkov CKV_AWS_70")))

S3_BUCKET_NO_PUBLIC_ACL = SciflowResourcePolicy(
    name="s3-bucket-no-public-acl",
    description="S3 buckets must not use public canned ACLs or grants to AllUsers/AuthenticatedUsers.",
    resource_types=(BUCKET, BUCKET_ACL), check=_acl, enforcement_level=MANDATORY, severity=Severity.CRITICAL,
    area=AREA,
    doc=Doc(why="public-read / public-read-write ACLs make every object world-readable (or writable).",
            fix="Remove the ACL; with BucketOwnerEnforced ownership ACLs are disabled altogether.",
            unknown=_REPORTED, references=("checkov CKV_AWS_20", "checkov CKV_AWS_57")))

S3_BUCKET_PUBLIC_ACCESS_BLOCK = SciflowStackPolicy(
    name="s3-bucket-public-access-block",
    description="Every S3 bucket must have a BucketPublicAccessBlock with all four flags true.",
    resource_types=(BUCKET, PUBLIC_ACCESS_BLOCK), check=_public_access_block, enforcement_level=MANDATORY,
    severity=Severity.HIGH, area=AREA,
    doc=Doc(why="The block stops a later ACL or bucket policy change from making data public.",
            fix="aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, block_public_policy=True, "
                "ignore_public_acls=True, restrict_public_buckets=True).",
            unknown="The block is matched to its bucket by property dependency (works when ids are unknown); "
                    "an unknown flag counts as set.",
            references=("cdk-nag AwsSolutions-S2", "checkov CKV2_AWS_6")),
    unknown="ignore")

S3_BUCKET_OWNERSHIP_ENFORCED = SciflowStackPolicy(
    name="s3-bucket-ownership-enforced",
    description="S3 buckets should disable ACLs with BucketOwnershipControls BucketOwnerEnforced.",
    resource_types=(BUCKET, OWNERSHIP), check=_ownership, enforcement_level=ADVISORY, severity=Severity.MEDIUM,
    area=AREA,
    doc=Doc(why="With ACLs disabled, only IAM and the bucket policy grant access (new buckets default to this; "
                "the explicit resource keeps it visible and stops drift).",
            fix="aws.s3.BucketOwnershipControls(bucket=bucket.id, rule={'object_ownership': 'BucketOwnerEnforced'}).",
            unknown="Matched by property dependency; an unknown objectOwnership counts as enforced.",
            references=("checkov CKV2_AWS_65",)),
    unknown="ignore")

SQS_QUEUEPOLICY_NO_PUBLIC = SciflowResourcePolicy(
    name="sqs-queuepolicy-no-public",
    description="SQS queue policies must not allow Principal '*' without a restricting condition.",
    resource_types=(QUEUE_POLICY, QUEUE), check=_public_policy("Queue"), enforcement_level=MANDATORY,
    severity=Severity.HIGH, area=AREA,
    doc=Doc(why="Anyone could send poison messages to (or read) the queue, including dead letters with data.",
            fix="Allow the service principal with an aws:SourceArn condition (components/storage.py create_queue).",
            unknown=_REPORTED, references=("checkov CKV_AWS_72", "checkov CKV_AWS_168")))

EVENTBRIDGE_BUS_POLICY_NO_PUBLIC = SciflowResourcePolicy(
    name="eventbridge-buspolicy-no-public",
    description="EventBridge bus policies must not allow Principal '*' without a restricting condition.",
    resource_types=(EVENT_BUS_POLICY,), check=_public_policy("Event bus"), enforcement_level=MANDATORY,
    severity=Severity.HIGH, area=AREA,
    doc=Doc(why="An open bus accepts events from any account, which can start pipelines.",
            fix="Name the accounts or add an aws:PrincipalOrgID condition.",
            unknown=_REPORTED, references=("cdk-nag AwsSolutions-EVB1",)))

LAMBDA_FUNCTIONURL_AUTH = SciflowResourcePolicy(
    name="lambda-functionurl-auth",
    description="Lambda function URLs must require IAM authentication.",
    resource_types=(FUNCTION_URL,), check=_function_url, enforcement_level=MANDATORY, severity=Severity.HIGH,
    area=AREA,
    doc=Doc(why="A URL with authorizationType NONE runs scientific jobs (and bills them) for anyone.",
            fix="authorization_type='AWS_IAM'.",
            unknown=_REPORTED, references=("checkov CKV_AWS_258",)))

LAMBDA_PERMISSION_NO_PUBLIC = SciflowResourcePolicy(
    name="lambda-permission-no-public",
    description="Lambda permissions must not grant invoke to principal '*'.",
    resource_types=(PERMISSION,), check=_permission_public, enforcement_level=MANDATORY,
    severity=Severity.CRITICAL, area=AREA,
    doc=Doc(why="Principal '*' makes the function invocable by every AWS account.",
            fix="principal='events.amazonaws.com' (or the account) plus source_arn.",
            unknown=_REPORTED, references=("checkov CKV_AWS_301",)))

LAMBDA_PERMISSION_SOURCE_RESTRICTED = SciflowResourcePolicy(
    name="lambda-permission-source-restricted",
    description="Lambda permissions for AWS services must set sourceArn or sourceAccount.",
    resource_types=(PERMISSION,), check=_permission_source, enforcement_level=MANDATORY,
    severity=Severity.HIGH, area=AREA,
    doc=Doc(why="Without them any bucket, rule or topic of that service, in any account, may invoke the "
                "function (confused deputy).",
            fix="source_arn=rule.arn (or bucket.arn / topic.arn), and source_account for S3.",
            unknown="Only presence matters: a sourceArn unknown at preview is set, so it passes.",
            references=("checkov CKV_AWS_364",)),
    unknown="ignore")

POLICIES: list[AnyPolicy] = [
    S3_BUCKETPOLICY_NO_PUBLIC,
    S3_BUCKET_NO_PUBLIC_ACL,
    S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    S3_BUCKET_OWNERSHIP_ENFORCED,
    SQS_QUEUEPOLICY_NO_PUBLIC,
    EVENTBRIDGE_BUS_POLICY_NO_PUBLIC,
    LAMBDA_FUNCTIONURL_AUTH,
    LAMBDA_PERMISSION_NO_PUBLIC,
    LAMBDA_PERMISSION_SOURCE_RESTRICTED,
]
