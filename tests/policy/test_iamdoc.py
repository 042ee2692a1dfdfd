"""The shared policy-document semantics (policy/policies/_iamdoc.py), tested directly."""

from __future__ import annotations

from typing import Any

import pytest

from policy.policies._iamdoc import (
    Statement,
    account_roots,
    action_matches,
    action_resource_types,
    arn_templates,
    only_account_roots,
    parse_statements,
    resource_wideness,
    restricting_condition,
    service_actions,
    star_only,
)

ACCT = "123456789012"


@pytest.mark.parametrize(("pattern", "why"), [
    ("*", "'*' is every resource"),
    ("arn:*", "'*' is every resource"),
    ("a*", "'*' is every resource"),  # a prefix of "arn:" before the wildcard is no scope either
    ("ar*", "'*' is every resource"),
    ("arn*", "'*' is every resource"),
    ("*/*", "'*' is every resource"),
    ("arn:aws:s3:::*/*", "bucket name"),
    ("arn:aws:s3:::*", "bucket name"),
    ("arn:aws:s3:::?ucket/*", "bucket name"),
    ("arn:aws:s3:::*-data/*", "bucket name"),
    (f"arn:aws:dynamodb:ap-south-1:{ACCT}:table/*", "table name"),
    (f"arn:aws:dynamodb:ap-south-1:{ACCT}:table/*/index/by-date", "table name"),
    (f"arn:aws:dynamodb:ap-south-1:{ACCT}:tab*", "table name"),
    (f"arn:aws:secretsmanager:ap-south-1:{ACCT}:secret:*", "secret id"),
    ("arn:aws:logs:*:*:*", "account is a wildcard"),
    (f"arn:aws:logs:ap-south-1:{ACCT}:log-group:*", "log group name"),
    (f"arn:aws:logs:ap-south-1:{ACCT}:*", "whole resource part"),
    (f"arn:aws:lambda:ap-south-1:{ACCT}:function:*", "function name"),
    (f"arn:aws:sqs:ap-south-1:{ACCT}:*", "queue name"),
    ("arn:aws:madeup:r:1:*", "whole resource part"),
    ("arn:aws:sqs:ap-south-1:*:jobs", "account is a wildcard"),
    (f"arn:aws:iam::{ACCT}:role/*", "role name"),
    (f"arn:aws:kms:ap-south-1:{ACCT}:key/*", "key id"),
    (f"arn:aws:states:ap-south-1:{ACCT}:stateMachine:*", "state machine name"),
    ("arn:aws:*:*:*:*", "service is a wildcard"),
    ("arn:aws:s?:::bucket", "service is a wildcard"),
])
def test_wide_resources(pattern: str, why: str) -> None:
    found = resource_wideness(pattern)
    assert found is not None and why in found, found


@pytest.mark.parametrize("pattern", [
    "arn:aws:s3:::results",
    "arn:aws:s3:::results/*",
    "arn:aws:s3:::results/daily/?.csv",
    "arn:aws:s3:::sciflow-dev-*",  # a literal name prefix scopes by naming convention
    f"arn:aws:dynamodb:ap-south-1:{ACCT}:table/ledger",
    f"arn:aws:dynamodb:ap-south-1:{ACCT}:table/ledger/index/*",
    f"arn:aws:dynamodb:*:{ACCT}:table/ledger",  # a wildcard region alone: one logical (global) table
    f"arn:aws:secretsmanager:ap-south-1:{ACCT}:secret:db-??????",
    f"arn:aws:logs:ap-south-1:{ACCT}:log-group:/aws/lambda/fn:*",
    f"arn:aws:lambda:ap-south-1:{ACCT}:function:fn:*",
    f"arn:aws:states:ap-south-1:{ACCT}:execution:etl:*",
    f"arn:aws:execute-api:ap-south-1:{ACCT}:abc123/*",
    "sciflow-ledger",  # not an ARN: nothing to judge
    f"arn:aws:sqs:ap-south-1:{ACCT}:jobs",
])
def test_scoped_resources(pattern: str) -> None:
    assert resource_wideness(pattern) is None


def test_arn_templates_come_from_the_service_authorization_data() -> None:
    assert ("", "", "${BucketName}/${ObjectName}") in arn_templates("s3")
    assert ("${Region}", "${Account}", "table/${TableName}") in arn_templates("dynamodb")
    assert arn_templates("no-such-service") == ()


def test_action_data() -> None:
    assert star_only("xray:PutTraceSegments") and star_only("s3:ListAllMyBuckets")
    assert not star_only("s3:GetObject") and not star_only("logs:CreateLogStream")
    assert not star_only("madeup:Action")  # unknown actions are never exempt
    assert action_resource_types("sqs:SendMessage") == ("queue",)
    assert action_resource_types("madeup:Action") is None
    assert "s3:GetObject" in service_actions("s3") and service_actions("nope") == ()


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("s3:Get*", "s3:GetObject", True), ("s3:Get*", "s3:PutObject", False), ("*", "iam:PassRole", True),
    ("S3:getobject", "s3:GetObject", True), ("s3:?etObject", "s3:GetObject", True),
    ("s3:?etObject", "s3:GGetObject", False), ("s3:GetObject", "s3:GetObjectAcl", False),
    ("iam:*", "iam:PassRole", True), ("iam:*", "sts:AssumeRole", False),
])
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(("condition", "restricts"), [
    ({"StringEquals": {"aws:SourceAccount": ACCT}}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::results"}}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, False),
    ({"StringLike": {"aws:PrincipalOrgID": "*"}}, False),
    ({"StringEquals": {"aws:PrincipalOrgID": "*"}}, False),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, True),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, False),
    ({"IpAddress": {"aws:SourceIp": "::/0"}}, False),
    ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/16", "0.0.0.0/0"]}}, False),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, True),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, True),
    ({"IpAddress": {"aws:SourceIp": "not-an-ip"}}, False),
    ({"StringNotEquals": {"aws:SourceAccount": ACCT}}, False),
    ({"StringEqualsIfExists": {"aws:SourceAccount": ACCT}}, False),
    ({"Null": {"aws:SourceAccount": "false"}}, False),
    ({"Bool": {"aws:SecureTransport": "true"}}, False),
    ({"StringEquals": {"aws:SourceAccount": ""}}, False),
    ({"ForAnyValue:StringEquals": {"aws:PrincipalOrgPaths": "o-a/r-b/ou-c/"}}, True),
    ("not a mapping", False),
    (None, False),
])
def test_restricting_conditions(condition: Any, restricts: bool) -> None:
    assert restricting_condition(condition) is restricts


def _one(**st: Any) -> Statement:
    return parse_statements({"Statement": [st]})[0]


def test_statement_parsing_and_grants() -> None:
    st = _one(Sid="Read", Effect="Allow", Action=["s3:Get*", 7], Resource="arn:aws:s3:::d/*")
    assert st.where == "statement 'Read'" and st.allows and st.actions == ("s3:Get*",)
    assert st.grants("s3:GetObject") and not st.grants("s3:PutObject") and not st.all_actions
    assert st.wildcard_actions == ["s3:Get*"] and "s3:GetObjectAcl" in st.expanded_actions()
    assert not st.on_every_resource and st.wide_resources() == []
    single = parse_statements({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}})
    assert len(single) == 1 and not single[0].allows and single[0].where == "statement #0"
    assert parse_statements("nope") == [] and parse_statements({"Statement": ["x"]}) == []


def test_not_action_grants_everything_else() -> None:
    st = _one(Effect="Allow", NotAction="iam:*", Resource="*")
    assert st.all_actions and st.grants("s3:GetObject") and not st.grants("iam:PassRole")
    assert st.granted(["s3:GetObject", "iam:PassRole"]) == ["s3:GetObject"]


def test_resource_star_is_every_resource() -> None:
    assert _one(Effect="Allow", Action="s3:GetObject", Resource=["arn:aws:s3:::d/*", "*"]).on_every_resource


def test_not_resource_is_as_wide_as_it_gets() -> None:
    st = _one(Effect="Allow", Action="s3:GetObject", NotResource="arn:aws:s3:::secret/*")
    assert st.on_every_resource
    assert st.wide_resources() == [("NotResource", "NotResource matches every resource but the ones listed")]


def test_expanded_actions_keep_unknown_patterns() -> None:
    st = _one(Effect="Allow", Action=["madeup:Do*", "*", "sqs:SendMessage"], Resource="*")
    assert st.expanded_actions() == ["madeup:Do*", "*", "sqs:SendMessage"]


@pytest.mark.parametrize(("statement", "public"), [
    ({"Effect": "Allow", "Principal": "*"}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}}, True),
    ({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}}, True),
    ({"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCT}:root"}}, True),
    ({"Effect": "Deny", "Principal": "*"}, False),
    ({"Effect": "Allow", "Principal": {"Service": "sqs.amazonaws.com"}}, False),
    ({"Effect": "Allow", "Principal": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}}}, False),
    ({"Effect": "Allow", "Principal": "*", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True),
])
def test_public_statements(statement: dict[str, Any], public: bool) -> None:
    assert _one(**statement, Action="s3:GetObject", Resource="*").public is public


def test_account_roots() -> None:
    root = _one(Effect="Allow", Principal={"AWS": [f"arn:aws:iam::{ACCT}:root", ACCT]}, Action="kms:*")
    assert account_roots(root) == [f"arn:aws:iam::{ACCT}:root", ACCT] and only_account_roots(root)
    mixed = _one(Effect="Allow", Principal={"AWS": f"arn:aws:iam::{ACCT}:root", "Service": "logs.amazonaws.com"})
    assert not only_account_roots(mixed)
    assert not only_account_roots(_one(Effect="Allow", Principal="*"))
    assert not only_account_roots(_one(Effect="Allow", Principal={"AWS": f"arn:aws:iam::{ACCT}:role/r"}))
