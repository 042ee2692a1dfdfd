"""AWS's evaluation logic: explicit deny wins, identity and resource policies, KMS key policies."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.authz.conditions import PolicyGrammarError
from sandbox.authz.policy import AuthRequest, PolicyDocument, Principal, evaluate

ACCOUNT = "123456789012"
ROLE = Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/etl-role/etl", role_arn=f"arn:aws:iam::{ACCOUNT}:role/etl-role")
OBJECT = "arn:aws:s3:::raw/in/a.csv"


def doc(*statements: dict[str, Any], name: str = "p") -> PolicyDocument:
    return PolicyDocument(name, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def req(action: str = "s3:GetObject", resource: str = OBJECT, **context: Any) -> AuthRequest:
    return AuthRequest(ROLE, action, resource, {"aws:SecureTransport": "true", **context})


def test_implicit_deny_without_any_allow() -> None:
    decision = evaluate(req(), [doc(allow("s3:PutObject", OBJECT))])
    assert decision.outcome == "implicit-deny"
    assert decision.reason == "because no identity-based policy allows the s3:GetObject action"


def test_allow_by_wildcard_action_and_resource() -> None:
    decision = evaluate(req(), [doc(allow(["s3:get*"], "arn:aws:s3:::raw/in/*", Sid="Read"))])
    assert decision.allowed
    assert [ref.label() for ref in decision.statements] == ["p#Read"]


def test_explicit_deny_wins_over_allow() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    decision = evaluate(req(), [doc(allow("s3:GetObject", OBJECT)), doc(deny, name="guard")])
    assert decision.outcome == "explicit-deny"
    assert "explicit deny in an identity-based policy" in decision.reason


def test_not_action_and_not_resource() -> None:
    policy = doc({"Effect": "Allow", "NotAction": "s3:Delete*", "NotResource": "arn:aws:s3:::secret/*"})
    assert evaluate(req(), [policy]).allowed
    assert not evaluate(req("s3:DeleteObject"), [policy]).allowed
    assert not evaluate(req(resource="arn:aws:s3:::secret/k"), [policy]).allowed


def test_resource_policy_alone_allows_in_the_same_account() -> None:
    bucket = doc({"Effect": "Allow", "Principal": {"AWS": ROLE.role_arn}, "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::raw/*"}, name="bucket-policy")
    assert evaluate(req(), [], bucket).allowed
    other = Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/other/x", role_arn=f"arn:aws:iam::{ACCOUNT}:role/other")
    assert not evaluate(AuthRequest(other, "s3:GetObject", OBJECT), [], bucket).allowed


def test_tls_only_bucket_policy_denies_plain_http() -> None:
    tls_only = doc({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::raw", "arn:aws:s3:::raw/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, name="bucket-policy")
    grants = [doc(allow("s3:GetObject", "arn:aws:s3:::raw/*"))]
    assert evaluate(req(), grants, tls_only).allowed
    plain = req(**{"aws:SecureTransport": "false"})
    decision = evaluate(plain, grants, tls_only)
    assert decision.outcome == "explicit-deny"
    assert "resource-based policy" in decision.reason


def test_not_principal_deny() -> None:
    policy = doc({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE.role_arn}, "Action": "s3:*", "Resource": "*"})
    grants = [doc(allow("s3:*", "*"))]
    assert evaluate(req(), grants, policy).allowed
    other = Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/o/x", role_arn=f"arn:aws:iam::{ACCOUNT}:role/o")
    assert evaluate(AuthRequest(other, "s3:GetObject", OBJECT), grants, policy).outcome == "explicit-deny"


def test_s3_prefix_condition() -> None:
    grant = doc(allow("s3:ListBucket", "arn:aws:s3:::proc", Condition={"StringLike": {"s3:prefix": ["staging/*"]}}))
    assert evaluate(req("s3:ListBucket", "arn:aws:s3:::proc", **{"s3:prefix": "staging/r1/"}), [grant]).allowed
    assert not evaluate(req("s3:ListBucket", "arn:aws:s3:::proc", **{"s3:prefix": "other/"}), [grant]).allowed
    assert not evaluate(req("s3:ListBucket", "arn:aws:s3:::proc"), [grant]).allowed  # no prefix: key missing


def test_service_principal_with_source_arn() -> None:
    queue = doc({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                 "Resource": "arn:aws:sqs:r:1:dlq",
                 "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:r:1:rule/r"}}})
    events = Principal.for_service("events.amazonaws.com")
    ok = AuthRequest(events, "sqs:SendMessage", "arn:aws:sqs:r:1:dlq", {"aws:SourceArn": "arn:aws:events:r:1:rule/r"})
    bad = AuthRequest(events, "sqs:SendMessage", "arn:aws:sqs:r:1:dlq", {"aws:SourceArn": "arn:aws:events:r:1:rule/x"})
    assert evaluate(ok, [], queue).allowed
    assert not evaluate(bad, [], queue).allowed


KEY = f"arn:aws:kms:r:{ACCOUNT}:key/k1"
ROOT_DELEGATION = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": "kms:*", "Resource": "*"}


def test_key_policy_delegating_to_iam_needs_an_identity_allow() -> None:
    key_policy = doc(ROOT_DELEGATION, name="key-policy")
    grant = doc(allow(["kms:GenerateDataKey", "kms:Decrypt"], KEY))
    assert evaluate(req("kms:Decrypt", KEY), [grant], key_policy, resource_policy_required=True).allowed
    denied = evaluate(req("kms:Decrypt", KEY), [], key_policy, resource_policy_required=True)
    assert denied.outcome == "implicit-deny" and "identity-based" in denied.reason


def test_key_policy_without_delegation_ignores_identity_policies() -> None:
    key_policy = doc({"Effect": "Allow", "Principal": {"Service": "logs.r.amazonaws.com"}, "Action": "kms:*",
                      "Resource": "*"}, name="key-policy")
    grant = doc(allow("kms:*", "*"))
    decision = evaluate(req("kms:Decrypt", KEY), [grant], key_policy, resource_policy_required=True)
    assert decision.outcome == "implicit-deny"
    assert "no resource-based policy allows" in decision.reason


def test_key_policy_naming_the_role_allows_directly() -> None:
    key_policy = doc({"Effect": "Allow", "Principal": {"AWS": ROLE.role_arn}, "Action": "kms:Decrypt",
                      "Resource": "*"}, name="key-policy")
    assert evaluate(req("kms:Decrypt", KEY), [], key_policy, resource_policy_required=True).allowed


def test_kms_via_service_and_encryption_context() -> None:
    grant = doc(allow("kms:GenerateDataKey", KEY, Condition={
        "StringEquals": {"kms:ViaService": "s3.r.amazonaws.com"},
        "ArnLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::raw/*"}}))
    ctx = {"kms:ViaService": "s3.r.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": OBJECT}
    assert evaluate(req("kms:GenerateDataKey", KEY, **ctx), [grant], doc(ROOT_DELEGATION),
                    resource_policy_required=True).allowed
    direct = req("kms:GenerateDataKey", KEY)
    assert not evaluate(direct, [grant], doc(ROOT_DELEGATION), resource_policy_required=True).allowed


def test_policy_variable_in_resource() -> None:
    grant = doc(allow("s3:GetObject", "arn:aws:s3:::raw/${aws:PrincipalAccount}/*"))
    assert evaluate(req(resource=f"arn:aws:s3:::raw/{ACCOUNT}/a"), [grant]).allowed
    assert not evaluate(req(resource="arn:aws:s3:::raw/999/a"), [grant]).allowed


@pytest.mark.parametrize("statement", [
    {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"},
    {"Effect": "Allow", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
])
def test_malformed_statements_raise(statement: dict[str, Any]) -> None:
    with pytest.raises(PolicyGrammarError):
        evaluate(req(), [doc(statement)])


def test_parse_accepts_json_text_and_single_statement_object() -> None:
    policy = PolicyDocument.parse("p", '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}')
    assert evaluate(req(), [policy]).allowed
