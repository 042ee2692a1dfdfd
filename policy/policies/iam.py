"""Least privilege: IAM identity policies, trust policies and policy attachments.

Identity policies are read from ``aws:iam/rolePolicy:RolePolicy``, ``aws:iam/policy:Policy``,
``aws:iam/userPolicy:UserPolicy``, ``aws:iam/groupPolicy:GroupPolicy`` (``policy``) and from
``aws:iam/role:Role`` ``inlinePolicies[].policy``; all are JSON strings.

Actions AWS grants only on ``"*"``
----------------------------------
``iam-policy-no-star-resource`` flags ``Resource: "*"`` unless every action in the statement is in
:data:`STAR_ONLY_ACTIONS`: actions whose "Resource types" column is empty in the AWS Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
so no narrower resource exists. Among them the ones serverless stacks need: X-Ray trace upload and
sampling, CloudWatch ``PutMetricData``, and the CloudWatch Logs *delivery* actions Step Functions and
vended logs require on ``*`` (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
Users extend the list with the ``allowedActions`` config of the policy.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import MANDATORY, UNKNOWN, AnyPolicy, Ctx, Doc, SciflowResourcePolicy, as_list, parse_json, schema

ROLE = "aws:iam/role:Role"
POLICY_DOCUMENT_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
AREA = "least-privilege"

#: Actions with no resource-level permissions (Service Authorization Reference): ``"*"`` is the only resource.
STAR_ONLY_ACTIONS: frozenset[str] = frozenset(a.lower() for a in (
    # X-Ray: trace upload and sampling (Lambda / Step Functions active tracing)
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    # CloudWatch metrics
    "cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics",
    "cloudwatch:GetMetricStatistics",
    # CloudWatch Logs vended-log delivery (Step Functions logging, Lambda advanced logging)
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # Lists and account-level reads that have no resource type
    "s3:ListAllMyBuckets", "sqs:ListQueues", "dynamodb:ListTables", "lambda:ListFunctions",
    "lambda:ListLayers", "lambda:ListLayerVersions", "states:ListStateMachines", "states:ListActivities",
    "kms:ListKeys", "kms:ListAliases", "sts:GetCallerIdentity", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs", "ecr:GetAuthorizationToken",
    "ssm:DescribeParameters", "secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword",
    "tag:GetResources", "scheduler:ListSchedules", "events:ListRules",
))

#: Actions that let a principal raise its own privileges or manage permissions (checkov CKV_AWS_286, 289).
ESCALATION_ACTIONS: tuple[str, ...] = (
    "iam:AddUserToGroup", "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:CreateRole", "iam:DeleteRolePermissionsBoundary",
    "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutRolePermissionsBoundary",
    "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile", "iam:PassRole", "sts:AssumeRole", "lambda:UpdateFunctionCode",
    "lambda:AddPermission", "lambda:CreateFunction", "glue:UpdateDevEndpoint", "cloudformation:CreateStack",
    "s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl", "s3:DeleteBucketPolicy", "kms:PutKeyPolicy",
    "kms:CreateGrant", "sqs:AddPermission", "sqs:SetQueueAttributes", "sns:AddPermission",
    "sns:SetTopicAttributes", "secretsmanager:PutResourcePolicy", "ecr:SetRepositoryPolicy",
    "events:PutPermission",
)
#: Actions that hand out credentials or tokens (checkov CKV_AWS_287).
CREDENTIAL_ACTIONS: tuple[str, ...] = (
    "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential", "iam:UploadSSHPublicKey", "sts:GetFederationToken",
    "sts:GetSessionToken", "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
    "ecr:GetAuthorizationToken", "ec2:GetPasswordData", "redshift:GetClusterCredentials",
    "rds-db:Connect", "sso:GetRoleCredentials", "cognito-identity:GetCredentialsForIdentity",
    "lightsail:GetInstanceAccessDetails", "chime:CreateApiKey",
)
#: Actions that read data or secrets out of the account (checkov CKV_AWS_288).
EXFILTRATION_ACTIONS: tuple[str, ...] = (
    "s3:GetObject", "s3:GetObjectVersion", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue", "dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem",
    "kms:Decrypt",
)

_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")
_ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
_ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")


# --------------------------------------------------------------------------- statement helpers
def documents(ctx: Ctx, args: ResourceValidationArgs) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The identity-policy documents of a resource as ``(label, statements)``."""
    out: list[tuple[str, list[Mapping[str, Any]]]] = []
    if args.resource_type in POLICY_DOCUMENT_TYPES:
        doc = parse_json(ctx, ctx.get("policy"), "policy")
        if doc is not None:
            out.append(("policy", statements(doc)))
    elif args.resource_type == ROLE:
        for i, inline in enumerate(ctx.items(ctx.get("inlinePolicies"))):
            if inline is UNKNOWN or not isinstance(inline, Mapping):
                continue
            label = f"inlinePolicies[{i}] ({ctx.get('name', props=inline, default='unnamed')})"
            doc = parse_json(ctx, ctx.get("policy", props=inline), label)
            if doc is not None:
                out.append((label, statements(doc)))
    return out


def statements(doc: Any) -> list[Mapping[str, Any]]:
    if not isinstance(doc, Mapping):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def allows(st: Mapping[str, Any]) -> bool:
    return st.get("Effect") == "Allow"


def actions(st: Mapping[str, Any]) -> list[str]:
    return [a for a in as_list(st.get("Action")) if isinstance(a, str)]


def on_star(st: Mapping[str, Any]) -> bool:
    """The statement applies to every resource (``Resource: "*"`` or ``NotResource``)."""
    return "*" in as_list(st.get("Resource")) or "NotResource" in st


@functools.lru_cache(maxsize=4096)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """A case-insensitive IAM action matcher (``*`` and ``?`` wildcards)."""
    lowered = pattern.lower()
    if "*" not in lowered and "?" not in lowered:
        return lowered.__eq__
    return re.compile(fnmatch.translate(lowered)).match  # type: ignore[return-value]


def grants(st: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants ``action`` (wildcards in the statement expanded)."""
    target = action.lower()
    if "NotAction" in st:
        return not any(_matcher(p)(target) for p in as_list(st["NotAction"]) if isinstance(p, str))
    return any(_matcher(p)(target) for p in actions(st))


def granted(st: Mapping[str, Any], candidates: Iterable[str]) -> list[str]:
    return [a for a in candidates if grants(st, a)]


def _sid(st: Mapping[str, Any], index: int) -> str:
    return f"statement {st['Sid']!r}" if isinstance(st.get("Sid"), str) else f"statement #{index}"


def _each_allow(ctx: Ctx, args: ResourceValidationArgs) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for label, sts in documents(ctx, args):
        for i, st in enumerate(sts):
            if allows(st):
                yield f"{label} {_sid(st, i)}", st


# --------------------------------------------------------------------------- checks
def _no_admin(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for where, st in _each_allow(ctx, args):
        if on_star(st) and (grants(st, "*:*") or "NotAction" in st):
            ctx.report(f"{where} allows every action on every resource ('*' on '*'). Grant the exact actions "
                       "the workload calls on the exact resource ARNs.")


def _no_wildcard_actions(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = {a.lower() for a in ctx.config.get("allowedActions", [])}
    for where, st in _each_allow(ctx, args):
        if "NotAction" in st:
            ctx.report(f"{where} uses NotAction with Allow, which grants every action not listed. "
                       "List the allowed actions in Action instead.")
        wild = [a for a in actions(st) if "*" in a and a.lower() not in allowed]
        if wild:
            ctx.report(f"{where} grants wildcard actions {', '.join(sorted(wild))}. Name each action, "
                       "e.g. 's3:GetObject' instead of 's3:Get*', or add it to allowedActions.")


def _no_star_resource(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = STAR_ONLY_ACTIONS | {a.lower() for a in ctx.config.get("allowedActions", [])}
    for where, st in _each_allow(ctx, args):
        if not on_star(st):
            continue
        if "NotAction" in st:
            ctx.report(f"{where} combines NotAction with Resource '*'. Name the actions and resources.")
            continue
        scoped = sorted(a for a in actions(st) if a.lower() not in allowed)
        if scoped:
            ctx.report(f"{where} grants {', '.join(scoped)} on Resource '*', but these actions support "
                       "resource-level permissions. Use the ARNs of the resources the workload touches.")


def _category(label: str, candidates: tuple[str, ...]) -> Any:
    def check(ctx: Ctx, args: ResourceValidationArgs) -> None:
        for where, st in _each_allow(ctx, args):
            if not on_star(st):
                continue
            hits = granted(st, candidates)
            if hits:
                ctx.report(f"{where} allows {label} actions {', '.join(hits)} on Resource '*'. "
                           "Scope them to specific resources and add conditions, or remove them.")
    return check


def _no_passrole_star(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for where, st in _each_allow(ctx, args):
        if not grants(st, "iam:PassRole"):
            continue
        resources = [r for r in as_list(st.get("Resource")) if isinstance(r, str)]
        wide = [r for r in resources if r == "*" or re.search(r":role/\*?$|:role/\*", r)]
        if wide or "NotResource" in st:
            ctx.report(f"{where} allows iam:PassRole on {', '.join(wide) or 'NotResource'}: the holder can "
                       "pass any role, including admin roles, to a service. List the role ARNs and add an "
                       "'iam:PassedToService' condition.")


def _principals(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        out: list[str] = []
        for v in value.values():
            out.extend(p for p in as_list(v) if isinstance(p, str))
        return out
    return []


def _aws_principals(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [p for p in as_list(value.get("AWS")) if isinstance(p, str)]
    return []


def _trust(ctx: Ctx, args: ResourceValidationArgs) -> None:
    doc = parse_json(ctx, ctx.get("assumeRolePolicy"), "assumeRolePolicy")
    for i, st in enumerate(statements(doc)):
        if not allows(st):
            continue
        where = f"assumeRolePolicy {_sid(st, i)}"
        if "NotPrincipal" in st:
            ctx.report(f"{where} uses NotPrincipal with Allow: every other principal may assume the role.")
            continue
        principal = st.get("Principal")
        if "*" in _principals(principal):
            ctx.report(f"{where} lets any principal ('*') assume the role. Name the service or account.")
            continue
        roots = [p for p in _aws_principals(principal) if _ACCOUNT_ROOT.match(p)]
        if roots and not st.get("Condition"):
            ctx.report(f"{where} lets every principal of account {', '.join(roots)} assume the role without a "
                       "condition. Name the role ARNs or add a condition such as sts:ExternalId.")


def _attached_arns(ctx: Ctx, args: ResourceValidationArgs) -> list[str]:
    if args.resource_type == ROLE:
        return [a for a in ctx.items(ctx.get("managedPolicyArns")) if isinstance(a, str) and a is not UNKNOWN]
    arn = ctx.get("policyArn")
    return [arn] if isinstance(arn, str) else []


def _no_managed(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = set(ctx.config.get("allowedPolicyArns", []))
    for arn in _attached_arns(ctx, args):
        if _MANAGED_POLICY.match(arn) and arn not in allowed:
            ctx.report(f"AWS managed policy {arn} is attached. Managed policies grant broad, changing "
                       "permissions; write an inline policy with the exact actions and ARNs, or add the ARN "
                       "to allowedPolicyArns.")


def _no_admin_attachment(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for arn in _attached_arns(ctx, args):
        if _MANAGED_POLICY.match(arn) and arn.rsplit("/", 1)[-1] in _ADMIN_POLICIES:
            ctx.report(f"{arn} is attached: it grants administrator-level access. Grant only what the "
                       "workload calls.")


_DOC_TYPES = (*POLICY_DOCUMENT_TYPES, ROLE)
_REPORTED = ("Unknown at preview (the document embeds ARNs of resources not yet created): the engine reports "
             "'can't run policy ... during preview' for the resource; the policy is enforced during "
             "`pulumi up`, before the resource is created.")
_ALLOWED_ACTIONS = {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "Extra actions to accept (exact names, case-insensitive)."}

IAM_POLICY_NO_ADMIN_ACCESS = SciflowResourcePolicy(
    name="iam-policy-no-admin-access",
    description="IAM policies must not allow all actions on all resources ('*' on '*').",
    resource_types=_DOC_TYPES, check=_no_admin, enforcement_level=MANDATORY, severity=Severity.CRITICAL,
    area=AREA,
    doc=Doc(why="A '*:*' grant is full administrator access: one compromised function owns the account.",
            fix="List the exact actions and resource ARNs the function calls (components/iam.py Statement).",
            unknown=_REPORTED, references=("checkov CKV_AWS_62", "checkov CKV_AWS_1", "cdk-nag IAM5")))

IAM_POLICY_NO_WILDCARD_ACTIONS = SciflowResourcePolicy(
    name="iam-policy-no-wildcard-actions",
    description="IAM policies must name their actions: no '*' in actions and no Allow with NotAction.",
    resource_types=_DOC_TYPES, check=_no_wildcard_actions, enforcement_level=MANDATORY, severity=Severity.HIGH,
    area=AREA, config_schema=schema(allowedActions=_ALLOWED_ACTIONS),
    doc=Doc(why="'s3:*' or 's3:Get*' grant actions AWS adds later and actions the code never calls.",
            fix="Replace each wildcard with the actions the code calls; accept a reviewed wildcard with the "
                "allowedActions config.",
            unknown=_REPORTED, references=("cdk-nag AwsSolutions-IAM5", "checkov CKV_AWS_63",
                                           "cdk-nag Serverless (star permissions)")))

IAM_POLICY_NO_STAR_RESOURCE = SciflowResourcePolicy(
    name="iam-policy-no-star-resource",
    description="IAM statements may use Resource '*' only for actions AWS grants only on '*'.",
    resource_types=_DOC_TYPES, check=_no_star_resource, enforcement_level=MANDATORY, severity=Severity.HIGH,
    area=AREA, config_schema=schema(allowedActions=_ALLOWED_ACTIONS),
    doc=Doc(why="An action that supports resource-level permissions granted on '*' reaches every resource of "
                "that service in the account, including other teams' data. Allow-list (AWS Service "
                "Authorization Reference, no resource type): " + ", ".join(sorted(STAR_ONLY_ACTIONS)) + ".",
            fix="Put the resource ARNs (bucket/prefix*, table ARN, queue ARN, log-group ARN:*) in Resource.",
            unknown=_REPORTED, references=("cdk-nag AwsSolutions-IAM5", "checkov CKV_AWS_355",
                                           "checkov CKV_AWS_290", "checkov CKV_AWS_289")))

IAM_POLICY_NO_PRIVILEGE_ESCALATION = SciflowResourcePolicy(
    name="iam-policy-no-privilege-escalation",
    description="IAM policies must not allow privilege-escalation or permission-management actions on '*'.",
    resource_types=_DOC_TYPES, check=_category("privilege-escalation", ESCALATION_ACTIONS),
    enforcement_level=MANDATORY, severity=Severity.CRITICAL, area=AREA,
    doc=Doc(why="Actions such as iam:PutRolePolicy, iam:CreatePolicyVersion or lambda:UpdateFunctionCode on '*' "
                "let the holder grant itself anything. Checked actions: " + ", ".join(ESCALATION_ACTIONS) + ".",
            fix="Remove them from workload roles; deployment roles belong outside the stack.",
            unknown=_REPORTED, references=("checkov CKV_AWS_286", "checkov CKV_AWS_289")))

IAM_POLICY_NO_CREDENTIALS_EXPOSURE = SciflowResourcePolicy(
    name="iam-policy-no-credentials-exposure",
    description="IAM policies must not allow credential-issuing actions on '*'.",
    resource_types=_DOC_TYPES, check=_category("credential-exposing", CREDENTIAL_ACTIONS),
    enforcement_level=MANDATORY, severity=Severity.HIGH, area=AREA,
    doc=Doc(why="Issuing access keys, session tokens or passwords on '*' hands out long- or short-lived "
                "credentials. Checked actions: " + ", ".join(CREDENTIAL_ACTIONS) + ".",
            fix="Remove the actions or scope them to one resource with conditions.",
            unknown=_REPORTED, references=("checkov CKV_AWS_287",)))

IAM_POLICY_NO_DATA_EXFILTRATION = SciflowResourcePolicy(
    name="iam-policy-no-data-exfiltration",
    description="IAM policies must not allow reading objects, items, parameters or secrets on '*'.",
    resource_types=_DOC_TYPES, check=_category("data-reading", EXFILTRATION_ACTIONS),
    enforcement_level=MANDATORY, severity=Severity.HIGH, area=AREA,
    doc=Doc(why="s3:GetObject or secretsmanager:GetSecretValue on '*' reads every bucket and secret in the "
                "account. Checked actions: " + ", ".join(EXFILTRATION_ACTIONS) + ".",
            fix="Scope reads to the bucket prefix, table, parameter path or secret ARN the code uses.",
            unknown=_REPORTED, references=("checkov CKV_AWS_288",)))

IAM_POLICY_NO_PASSROLE_STAR = SciflowResourcePolicy(
    name="iam-policy-no-passrole-star",
    description="iam:PassRole must name the roles it passes, not '*' or 'role/*'.",
    resource_types=_DOC_TYPES, check=_no_passrole_star, enforcement_level=MANDATORY, severity=Severity.CRITICAL,
    area=AREA,
    doc=Doc(why="PassRole on '*' lets the holder give any role (an admin role included) to a Lambda function or "
                "state machine it controls.",
            fix="List the role ARNs and add Condition StringEquals iam:PassedToService.",
            unknown=_REPORTED, references=("checkov CKV_AWS_286", "cdk-nag AwsSolutions-IAM5")))

IAM_ROLE_TRUST_NO_WILDCARD = SciflowResourcePolicy(
    name="iam-role-trust-restricted",
    description="Role trust policies must name who may assume the role: no '*', no bare account root.",
    resource_types=(ROLE,), check=_trust, enforcement_level=MANDATORY, severity=Severity.CRITICAL, area=AREA,
    doc=Doc(why="A trust policy with Principal '*' lets anyone on AWS assume the role; an account root without a "
                "condition lets every user and role in that account assume it.",
            fix="Trust one service principal (e.g. lambda.amazonaws.com) with aws:SourceAccount / aws:SourceArn "
                "conditions (components/iam.py trust_policy), or name role ARNs.",
            unknown=_REPORTED, references=("checkov CKV_AWS_60", "checkov CKV_AWS_61")))

IAM_NO_AWS_MANAGED_POLICIES = SciflowResourcePolicy(
    name="iam-no-aws-managed-policies",
    description="Roles, users and groups must not use AWS managed policies.",
    resource_types=(*ATTACHMENT_TYPES, ROLE), check=_no_managed, enforcement_level=MANDATORY,
    severity=Severity.MEDIUM, area=AREA,
    config_schema=schema(allowedPolicyArns={"type": "array", "items": {"type": "string"}, "default": [],
                                            "description": "Managed policy ARNs to accept."}),
    doc=Doc(why="AWS managed policies are written for every customer: broad, on '*', and they change without a "
                "diff in your stack (AWSLambdaBasicExecutionRole writes to every log group).",
            fix="Use an inline policy with the exact statements, or accept a reviewed ARN in allowedPolicyArns.",
            unknown="A computed policyArn (a customer-managed policy created in the stack) is not an AWS "
                    "managed policy: unknown values pass.",
            references=("cdk-nag AwsSolutions-IAM4",)),
    unknown="ignore")

IAM_NO_ADMINISTRATOR_ACCESS = SciflowResourcePolicy(
    name="iam-no-administrator-access",
    description="AdministratorAccess, PowerUserAccess and IAMFullAccess must not be attached.",
    resource_types=(*ATTACHMENT_TYPES, ROLE), check=_no_admin_attachment, enforcement_level=MANDATORY,
    severity=Severity.CRITICAL, area=AREA,
    doc=Doc(why="These managed policies grant (near) full control of the account.",
            fix="Detach the policy and grant the actions the workload calls.",
            unknown="A computed policyArn is a policy created in the stack, not these: unknown values pass.",
            references=("checkov CKV_AWS_274",)),
    unknown="ignore")

POLICIES: list[AnyPolicy] = [
    IAM_POLICY_NO_ADMIN_ACCESS,
    IAM_POLICY_NO_WILDCARD_ACTIONS,
    IAM_POLICY_NO_STAR_RESOURCE,
    IAM_POLICY_NO_PRIVILEGE_ESCALATION,
    IAM_POLICY_NO_CREDENTIALS_EXPOSURE,
    IAM_POLICY_NO_DATA_EXFILTRATION,
    IAM_POLICY_NO_PASSROLE_STAR,
    IAM_ROLE_TRUST_NO_WILDCARD,
    IAM_NO_AWS_MANAGED_POLICIES,
    IAM_NO_ADMINISTRATOR_ACCESS,
]
