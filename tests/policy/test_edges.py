"""Edge cases that change a verdict, found by mutation testing (``make mutation``): each test pins one rule
that a surviving mutant had broken without any other test noticing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import Severity

from policy.policies._core import ADVISORY, MANDATORY, Doc, Rules, SciflowResourcePolicy, schema
from policy.policies._iamdoc import (
    _fits,
    _segment_wide,
    account_roots,
    expand_action,
    only_account_roots,
    parse_statements,
    restricting_condition,
)
from tests.policy.helpers import UNKNOWN_STRING_VALUE, Res, messages, run_resource, run_stack
from tests.policy.props import KEY_ARN, function, policy_doc, tls_deny

ACCT = "123456789012"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
BUCKET = "aws:s3/bucket:Bucket"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def allow(actions: Any, resources: Any = "arn:aws:s3:::d/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


# --------------------------------------------------------------------------- conditions
@pytest.mark.parametrize(("condition", "restricts"), [
    ({"StringEquals": {"aws:SourceAccount": True}}, False),  # not a string: restricts nothing
    ({"StringEquals": {"aws:SourceAccount": {"a": 1}}}, False),
    ({"StringLike": {"aws:PrincipalOrgPaths": "o-abc123/r-ab12/*"}}, True),  # a literal prefix scopes
    ({"IpAddress": {"aws:VpcSourceIp": "0.0.0.0/0"}}, False),
    ({"IpAddress": {"aws:SourceIp": "10.1.2.3/16"}}, True),  # host bits set: still the /16
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, True),  # exactly the narrowest "internet" bound
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/16"}}, True),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::*"}}, False),  # ArnEquals matches wildcards too
    ({"StringEquals": {"aws:SourceArn": "arn:aws:s3:::*"}}, True),  # StringEquals compares literally
    ({"ForAnyValue:StringNotEquals": {"aws:SourceAccount": ACCT}}, False),
    ({"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths": "o-a/*"}}, False),
    ({"StringNotEquals": {"aws:SourceAccount": ACCT}, "StringEquals": {"aws:SourceAccount": ACCT}}, True),
    ({"StringEquals": {"aws:SourceAccount": [ACCT, "210987654321"]}}, True),
])
def test_condition_edges(condition: Any, restricts: bool) -> None:
    assert restricting_condition(condition) is restricts


def test_statement_parsing_edges() -> None:
    sts = parse_statements({"Statement": ["junk", {"Sid": "", "Effect": "Allow", "Action": "s3:GetObject"}]})
    assert len(sts) == 1 and sts[0].where == "statement #1"
    assert account_roots(sts[0]) == [] and account_roots(parse_statements({"Statement": {"Principal": "*"}})[0]) == []
    unknown_first = parse_statements({"Statement": {"Action": ["madeup:Do*", "sqs:Delete*"]}})[0]
    assert unknown_first.expanded_actions() == ["madeup:Do*", "sqs:DeleteMessage", "sqs:DeleteQueue"]
    assert expand_action("*") == ["*"] and expand_action("s?s:Get*") == ["s?s:Get*"]


# --------------------------------------------------------------------------- identity policies
def _found(policy: str, *statements: dict[str, Any], type_: str = ROLE_POLICY) -> list[Any]:
    return run_resource(policy, type_, {"policy": policy_doc(*statements)})


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit/*"},
    allow("*", "arn:aws:*:*:*:*"),
    allow("*", "arn:*"),
])
def test_admin_on_every_resource_however_written(statement: dict[str, Any]) -> None:
    assert len(_found("iam-policy-no-admin-access", statement)) == 1


def test_every_statement_is_checked_not_only_the_first() -> None:
    found = _found("iam-policy-no-star-resource", allow("s3:GetObject"), allow("dynamodb:PutItem", "*"))
    assert len(found) == 1 and "dynamodb:PutItem" in found[0].message
    found = _found("iam-policy-no-star-resource", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                   allow("sqs:SendMessage", "*"))
    assert len(found) == 2 and "combines NotAction with Resource '*'" in messages(found), messages(found)
    found = _found("iam-policy-no-passrole-star", allow("s3:GetObject"), allow("iam:PassRole", "*"))
    assert len(found) == 1
    found = _found("iam-policy-no-data-exfiltration", allow("s3:GetObject"), allow("s3:GetObject", "*"))
    assert len(found) == 1


def test_role_inline_policies_after_a_malformed_entry() -> None:
    props = {"inlinePolicies": ["junk", {"name": "admin", "policy": policy_doc(allow("*", "*"))}]}
    assert len(run_resource("iam-policy-no-admin-access", ROLE, props)) == 1


def _trust(*statements: dict[str, Any]) -> list[Any]:
    return run_resource("iam-role-trust-restricted", ROLE, {"assumeRolePolicy": policy_doc(*statements)})


def test_trust_statements_each_checked() -> None:
    anyone = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}
    inverted = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}
    assert len(_trust(deny, anyone)) == 1
    assert len(_trust(inverted, anyone)) == 2
    assert len(_trust(anyone, root)) == 2
    scoped = {**anyone, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}
    assert _trust(scoped) == []


def test_managed_policy_arns_skip_non_strings_and_match_paths() -> None:
    assert run_resource("iam-no-administrator-access", ROLE, {"managedPolicyArns": [5]}) == []
    path = "arn:aws:iam::aws:policy/aws-service-role/AdministratorAccess"
    assert len(run_resource("iam-no-administrator-access", ROLE, {"managedPolicyArns": [path]})) == 1


# --------------------------------------------------------------------------- resource policies and ACLs
def test_bucket_inline_grants_to_everyone() -> None:
    public = {"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}
    owner = {"type": "CanonicalUser", "id": "abc", "permissions": ["FULL_CONTROL"]}
    found = run_resource("s3-bucket-no-public-acl", BUCKET, {"grants": ["junk", owner, public]})
    assert len(found) == 1 and "grants give READ to" in found[0].message, messages(found)
    assert run_resource("s3-bucket-no-public-acl", BUCKET, {"grants": [owner]}) == []
    acl = {"bucket": "b", "accessControlPolicy": {"grants": ["junk", {"grantee": {"type": "Group", "uri": ALL_USERS},
                                                                      "permission": "WRITE"}], "owner": {"id": "o"}}}
    assert len(run_resource("s3-bucket-no-public-acl", "aws:s3/bucketAcl:BucketAcl", acl)) == 1


@pytest.mark.parametrize(("extra", "flagged"), [
    ({}, True), ({"principalOrgId": "o-a1b2c3d4e5"}, False), ({"sourceAccount": ACCT}, False),
])
def test_star_permission_is_public_unless_pinned(extra: dict[str, Any], flagged: bool) -> None:
    props = {"action": "lambda:InvokeFunction", "function": "f", "principal": "*", **extra}
    assert bool(run_resource("lambda-permission-no-public", PERMISSION, props)) is flagged


def test_service_permission_with_source_account_only() -> None:
    props = {"action": "lambda:InvokeFunction", "function": "f", "principal": "s3.amazonaws.com",
             "sourceAccount": ACCT}
    assert run_resource("lambda-permission-source-restricted", PERMISSION, props) == []


# --------------------------------------------------------------------------- encryption
def test_tls_deny_shapes() -> None:
    boolean = {**tls_deny("s3"), "Condition": {"Bool": {"aws:SecureTransport": False}}}
    allow_plain = {**tls_deny("s3"), "Effect": "Allow"}
    other_deny = {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/x"}, "Action": "s3:*",
                  "Resource": "*"}
    narrow_deny = {**tls_deny("s3"), "Action": "s3:PutObject"}
    no_condition = {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": "*"}
    bucket = Res(BUCKET, "b", {"id": "b-1", "bucket": "b-1"})

    def verdict(*statements: dict[str, Any]) -> int:
        pol = Res("aws:s3/bucketPolicy:BucketPolicy", "p", {"bucket": "b-1", "policy": policy_doc(*statements)})
        return len(run_stack("s3-bucket-tls-only", [bucket, pol]))  # linked by value only (no dependency)

    assert verdict(boolean) == 0
    assert verdict(allow_plain) == 1
    assert verdict(other_deny, no_condition, narrow_deny, tls_deny("s3")) == 0
    assert verdict(narrow_deny) == 1


def test_tls_continues_after_an_unknown_policy() -> None:
    unknown = Res(BUCKET, "u", {"id": "u-1", "bucket": "u-1", "policy": UNKNOWN_STRING_VALUE})
    plain = Res(BUCKET, "p", {"id": "p-1", "bucket": "p-1"})
    found = run_stack("s3-bucket-tls-only", [unknown, plain])
    assert [v.urn for v in found if "can't run policy" not in v.message] == [plain.urn], messages(found)


def test_queue_tls_linked_by_url() -> None:
    queue = Res("aws:sqs/queue:Queue", "q", {"id": "https://sqs/q", "url": "https://sqs/q", "arn": "arn:q"})
    pol = Res("aws:sqs/queuePolicy:QueuePolicy", "qp", {"queueUrl": "https://sqs/q",
                                                         "policy": policy_doc(tls_deny("sqs"))})
    assert run_stack("sqs-queue-tls-only", [queue, pol]) == []


def test_bucket_encryption_edges() -> None:
    def bucket(name: str, algo: Any) -> Res:
        rule = {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": algo}}}
        return Res(BUCKET, name, {"id": name, "bucket": name, "serverSideEncryptionConfiguration": rule})

    resources = [bucket("unknown", UNKNOWN_STRING_VALUE), bucket("dsse", "aws:kms:dsse"), bucket("aes", "AES256")]
    assert [v.urn for v in run_stack("s3-bucket-encryption", resources)] == [resources[2].urn]


def test_public_access_block_edges() -> None:
    flags = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}
    bare, weak = Res(BUCKET, "bare", {"id": "bare", "bucket": "bare"}), Res(BUCKET, "weak", {"id": "w", "bucket": "w"})
    block = Res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "wb",
                {"bucket": "w", **flags, "ignorePublicAcls": False})
    found = run_stack("s3-bucket-public-access-block", [bare, weak, block])
    assert sorted(v.urn for v in found) == sorted([bare.urn, weak.urn]), messages(found)
    account = Res("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "acct", dict(flags))
    assert run_stack("s3-bucket-public-access-block", [bare, account]) == []
    partial = Res("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "acct", {**flags,
                                                                                       "blockPublicPolicy": False})
    assert len(run_stack("s3-bucket-public-access-block", [bare, partial])) == 1


def test_key_spec_under_its_older_name() -> None:
    assert run_resource("kms-key-rotation", "aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048"}) == []


def test_env_kms_only_with_variables() -> None:
    props = function(kmsKeyArn=None, environment={"variables": {}})
    assert run_resource("lambda-function-env-kms", FUNCTION, props) == []


def test_env_secrets_skip_empty_values_and_check_the_rest() -> None:
    env = {"environment": {"variables": {"A_EMPTY": "", "DB_PASSWORD": "", "Z_TOKEN": "abc123"}}}
    found = run_resource("lambda-function-env-no-secrets", FUNCTION, function(**env))
    assert len(found) == 1 and "Z_TOKEN" in found[0].message, messages(found)


def test_dynamodb_cmk_config_allows_the_aws_managed_key() -> None:
    props = {"serverSideEncryption": {"enabled": True}}
    table = "aws:dynamodb/table:Table"
    assert len(run_resource("dynamodb-table-cmk", table, props)) == 1
    assert run_resource("dynamodb-table-cmk", table, props, config={"requireCustomerManagedKey": False}) == []
    assert run_resource("dynamodb-table-cmk", table, {"serverSideEncryption": {"enabled": True,
                                                                                "kmsKeyArn": KEY_ARN}}) == []


def test_policy_documents_as_json_strings_round_trip() -> None:
    assert json.loads(policy_doc(allow("s3:GetObject")))["Statement"][0]["Action"] == "s3:GetObject"


# --------------------------------------------------------------------------- found by the 2026-12-01 runs
@pytest.mark.parametrize(("value", "template", "fits"), [
    ("eu-west-1", "${Region}", True), ("", "${Region}", False),  # a region-scoped ARN needs a region
    ("", "", True), ("*", "", True), ("eu-west-1", "", False),  # a global service's empty field
    ("aws", "aws", True), ("a*", "aws", True), ("b*", "aws", False), ("aws-cn", "aws", False),
])
def test_arn_field_fits_the_template(value: str, template: str, fits: bool) -> None:
    assert _fits(value, template) is fits


@pytest.mark.parametrize(("segment", "wide"), [
    ("*", True), ("?ata", True), ("*-data", True), ("data*", False), ("data", False), ("", False),
])
def test_segment_wideness(segment: str, wide: bool) -> None:
    assert _segment_wide(segment) is wide


def test_like_operator_patterns_that_start_with_a_wildcard_restrict_nothing() -> None:
    """StringLike on a non-ARN key (account, organization) with a leading wildcard matches anyone's value."""
    assert restricting_condition({"StringLike": {"aws:SourceAccount": "*9012"}}) is False
    assert restricting_condition({"StringEquals": {"aws:SourceAccount": "*9012"}}) is True  # compared literally
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
              "Condition": {"StringLike": {"aws:PrincipalOrgID": "?-*"}}}
    assert len(run_resource("s3-bucketpolicy-no-public", BUCKET, {"policy": policy_doc(public)})) == 1


def test_only_account_roots_needs_a_principal_mapping() -> None:
    bare = parse_statements({"Statement": {"Effect": "Allow", "Principal": f"arn:aws:iam::{ACCT}:root",
                                           "Action": "kms:*"}})[0]
    assert only_account_roots(bare) is False
    mapped = parse_statements({"Statement": {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                             "Action": "kms:*"}})[0]
    assert only_account_roots(mapped) is True


def test_invalid_json_documents_are_reported_not_crashed_on() -> None:
    found = run_resource("iam-policy-no-admin-access", ROLE,
                         {"inlinePolicies": [{"name": "broken", "policy": "{not json"}]})
    assert [v.message.split("\n", 1)[1] for v in found] == [
        "inlinePolicies[0] (broken) is not valid JSON: Expecting property name enclosed in double quotes at line 1 "
        "column 2."]
    found = run_resource("iam-role-trust-restricted", ROLE, {"assumeRolePolicy": "[1, 2"})
    assert len(found) == 1 and "assumeRolePolicy is not valid JSON" in found[0].message, messages(found)
    found = run_resource("iam-policy-no-admin-access", ROLE_POLICY, {"policy": "{"})
    assert len(found) == 1 and found[0].message.split("\n", 1)[1].startswith("policy is not valid JSON"), \
        messages(found)


def test_trust_not_principal_message() -> None:
    inverted = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}
    found = _trust(inverted)
    assert [v.message.split("\n", 1)[1] for v in found] == [
        "assumeRolePolicy statement #0 uses NotPrincipal with Allow: every other principal may assume the role."]


# --------------------------------------------------------------------------- the declarations themselves
class _Args:
    """What a policy's validate reads from the analyzer's arguments."""

    def __init__(self, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> None:
        self.resource_type, self.props, self._config = resource_type, props, config
        self.resources: list[Any] = []

    def get_config(self) -> dict[str, Any] | None:
        return self._config


def _args(resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> Any:
    return _Args(resource_type, props, config)


def test_rules_declare_every_fact_of_a_policy() -> None:
    """Built at test time (the pack's own declarations run at import, where mutation testing cannot reach)."""
    seen: list[tuple[str, Any]] = []
    messages_: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages_.append(message)

    def probe(ctx: Any, args: Any = None) -> None:
        seen.append(("config", dict(ctx.config)))
        ctx.report("probe")

    rules = Rules(area="probe-area", level=MANDATORY, unknown="report", unknown_doc="u")
    limit = schema(limit={"type": "integer", "default": 7}, free={"type": "string"})
    res = rules.resource("probe-res", "d.", (BUCKET,), probe, Severity.LOW, why="w", fix="f", refs=("r1",),
                         config_schema=limit)
    assert (res.name, res.description, res.enforcement_level, res.severity) == ("probe-res", "d.", MANDATORY,
                                                                                Severity.LOW)
    assert res.declared_types == (BUCKET,) and res.resource_types == {BUCKET, "aws:s3/bucketV2:BucketV2"}
    assert res.doc == Doc(why="w", fix="f", unknown="u", references=("r1",)) and res.unknown == "report"
    assert (res.area, res.tags, res.remediation_steps, res.defaults) == ("probe-area", ["probe-area"], "f",
                                                                         {"limit": 7})
    assert res.config_schema is limit and res.check is probe
    res.validate(_args("aws:s3/bucketV2:BucketV2", {}, {"limit": 9}), report)
    res.validate(_args(BUCKET, {}), report)
    res.validate(_args("aws:sqs/queue:Queue", {}), report)  # not its type
    assert messages_ == ["probe", "probe"] and seen == [("config", {"limit": 9}), ("config", {"limit": 7})]
    stack = rules.stack("probe-stack", "s.", (BUCKET, "aws:sqs/queue:Queue"), probe, Severity.HIGH, why="w2",
                        fix="f2", level=ADVISORY, area="other", unknown="ignore", unknown_doc="v")
    assert (stack.enforcement_level, stack.area, stack.tags, stack.unknown, stack.doc.unknown, stack.defaults) == (
        ADVISORY, "other", ["other"], "ignore", "v", {})
    assert stack.declared_types == (BUCKET, "aws:sqs/queue:Queue") and stack.doc.references == ()
    stack.validate(_args("", {}, {"x": 1}), report)
    assert messages_[-1] == "probe" and seen[-1] == ("config", {"x": 1})
    bare = SciflowResourcePolicy(name="bare", description="b.", resource_types=(), check=probe,
                                 enforcement_level=ADVISORY, severity=Severity.LOW, doc=Doc("w", "f", "u"))
    assert bare.tags is None and bare.area == "" and bare.unknown == "report" and bare.applies_to("any:type:T")


def test_unknown_values_are_raised_only_in_report_mode() -> None:
    def reads(ctx: Any, args: Any = None) -> None:
        ctx.get("policy")

    unknown_props = {"policy": UNKNOWN_STRING_VALUE}
    for mode, raised in (("report", True), ("ignore", False)):
        rules = Rules(area="a", level=MANDATORY, unknown=mode)  # type: ignore[arg-type]
        policy = rules.resource("p", "d.", (BUCKET,), reads, Severity.LOW, why="w", fix="f")
        found = run_resource(policy, BUCKET, unknown_props)
        assert bool(found) is raised and all("can't run policy" in v.message for v in found)


@pytest.mark.parametrize(("type_", "kind"), [
    ("aws:s3/bucketV2:BucketV2", "Bucket"), ("aws:sqs/queuePolicy:QueuePolicy", "Queue"),
    ("aws:kms/key:Key", "Key"),
])
def test_all_actions_message_names_the_resource_kind_and_principal(type_: str, kind: str) -> None:
    roots = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "*", "Resource": "*"}
    service = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:*",
               "Resource": "*"}
    inverted = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "NotAction": "s3:Get*",
                "Resource": "*"}
    nobody = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    found = run_resource("aws-resourcepolicy-no-all-actions", type_, {"policy": policy_doc(roots, service, inverted,
                                                                                          nobody)})
    tail = "Name the actions the principal needs (e.g. sqs:SendMessage, s3:GetObject)."
    assert [v.message.split("\n", 1)[1] for v in found] == [
        f"{kind} policy statement #1 allows every action (sqs:*) to events.amazonaws.com. {tail}",
        f"{kind} policy statement #2 allows every action (NotAction) to NotPrincipal. {tail}",
        f"{kind} policy statement #3 allows every action (kms:*) to no principal. {tail}"]


def test_code_signing_does_not_apply_to_images() -> None:
    assert run_resource("lambda-function-code-signing", FUNCTION, function(packageType="Image")) == []
    assert len(run_resource("lambda-function-code-signing", FUNCTION, function(packageType="Zip",
                                                                               codeSigningConfigArn=None))) == 1


@pytest.mark.parametrize(("props", "message"), [
    ({"sqsManagedSseEnabled": True}, "Queue uses SQS-managed SSE; requireKms asks for kms_master_key_id."),
    ({"kmsMasterKeyId": KEY_ARN}, None),
    ({}, "Queue is not encrypted with a KMS key. Set kms_master_key_id."),
])
def test_queue_encryption_when_kms_is_required(props: dict[str, Any], message: str | None) -> None:
    found = run_resource("sqs-queue-encryption", "aws:sqs/queue:Queue", props, config={"requireKms": True})
    assert [v.message.split("\n", 1)[1] for v in found] == ([message] if message else [])


def test_invalid_resource_policy_json_is_reported() -> None:
    found = run_resource("s3-bucketpolicy-no-public", "aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b",
                                                                                          "policy": "{"})
    assert len(found) == 1 and found[0].message.split("\n", 1)[1].startswith("policy is not valid JSON"), \
        messages(found)


@pytest.mark.parametrize(("estimate", "flagged"), [("25.00", False), ("25.01", True)])
def test_cost_exactly_at_the_budget_is_within_it(estimate: str, flagged: bool) -> None:
    body = json.dumps({"widgets": [{"type": "text", "properties": {
        "markdown": f"## Estimated monthly cost: ${estimate}\n\nBudget: $25.00 / month"}}]})
    found = run_resource("stack-cost-budget", "aws:cloudwatch/dashboard:Dashboard", {"dashboardBody": body})
    assert bool(found) is flagged, messages(found)


def test_policy_document_of_the_wrong_type_is_reported() -> None:
    found = run_resource("iam-policy-no-admin-access", ROLE_POLICY, {"policy": 5})  # numbers arrive as floats
    assert [v.message.split("\n", 1)[1] for v in found] == ["policy is a float, not a JSON document."]
