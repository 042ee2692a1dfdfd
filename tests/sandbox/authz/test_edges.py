"""Edges of the IAM engine that mutation testing found unpinned (``make mutation-authz``): each test changes a
verdict (allow/deny, the statements that decided, the reason) under the mutant it was written against."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.authz.calls import ApiCall, NoFacts, authorizations
from sandbox.authz.conditions import PolicyGrammarError, operator_holds, resolve_variables, wildcard_match
from sandbox.authz.errors import denial_message
from sandbox.authz.policy import AuthRequest, PolicyDocument, Principal, evaluate

A = "123456789012"
ROLE_ARN = f"arn:aws:iam::{A}:role/fn-role"
ROLE = Principal(f"arn:aws:sts::{A}:assumed-role/fn-role/fn", role_arn=ROLE_ARN)
KEY = f"arn:aws:kms:r:{A}:key/k1"
OBJECT = "arn:aws:s3:::raw/in/a.csv"


def doc(*statements: dict[str, Any], name: str = "p") -> PolicyDocument:
    return PolicyDocument(name, {"Statement": list(statements)})


def allow(action: str = "s3:GetObject", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# --------------------------------------------------------------------------- the principal's own keys
@pytest.mark.parametrize(("key", "value"), [
    ("aws:PrincipalArn", ROLE_ARN),  # the role, not the session
    ("aws:PrincipalAccount", A),
    ("aws:PrincipalType", "AssumedRole"),
    ("aws:PrincipalIsAWSService", "false"),
])
def test_a_role_session_carries_its_principal_keys(key: str, value: str) -> None:
    grant = doc(allow(Condition={"StringEquals": {key: value}}))
    assert evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [grant]).allowed
    other = doc(allow(Condition={"StringEquals": {key: value + "x"}}))
    assert not evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [other]).allowed


def test_a_user_and_a_service_carry_theirs() -> None:
    user = Principal(f"arn:aws:iam::{A}:user/ana")
    assert user.context()["aws:PrincipalType"] == "User"
    events = Principal.for_service("events.amazonaws.com")
    assert events.arn == "events.amazonaws.com"
    assert events.context() == {"aws:PrincipalServiceName": "events.amazonaws.com", "aws:PrincipalIsAWSService": "true"}


# --------------------------------------------------------------------------- resource and key policies
def test_principal_aws_star_admits_every_principal() -> None:
    bucket = doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"})
    assert evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [], bucket).allowed


def test_a_key_policy_open_to_star_allows_without_an_identity_grant() -> None:
    key_policy = doc({"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
    decision = evaluate(AuthRequest(ROLE, "kms:Decrypt", KEY), [], key_policy, resource_policy_required=True)
    assert decision.allowed and [ref.label() for ref in decision.statements] == ["p#Open"]


def test_the_deciding_statements_and_the_request_are_kept() -> None:
    """The access report counts a grant as used through ``Decision.statements``."""
    request = AuthRequest(ROLE, "kms:Decrypt", KEY)
    root = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*",
            "Resource": "*"}
    delegated = evaluate(request, [doc(allow("kms:Decrypt", KEY, Sid="Use"), name="id")], doc(root, name="key"),
                         resource_policy_required=True)
    assert [ref.label() for ref in delegated.statements] == ["id#Use", "key#Root"] and delegated.request is request
    direct = evaluate(request, [], doc({**root, "Principal": {"AWS": ROLE_ARN}, "Sid": "Role"}, name="key"),
                      resource_policy_required=True)
    assert [ref.label() for ref in direct.statements] == ["key#Role"] and direct.request is request
    deny = evaluate(request, [doc({"Sid": "No", "Effect": "Deny", "Action": "kms:*", "Resource": "*"})])
    assert [ref.label() for ref in deny.statements] == ["p#No"] and deny.request is request
    for decision in (evaluate(request, [], doc(root), resource_policy_required=True),
                     evaluate(request, [], doc({**root, "Principal": {"Service": "logs.amazonaws.com"}}),
                              resource_policy_required=True),
                     evaluate(request, [])):
        assert decision.statements == () and denial_message(decision).startswith(f"User: {ROLE.arn} ")
    assert evaluate(request, [], doc(root), resource_policy_required=True).reason == (
        "because no identity-based policy allows the kms:Decrypt action")
    assert evaluate(request, [], doc({**root, "Principal": {"Service": "logs.amazonaws.com"}}),
                    resource_policy_required=True).reason == (
        "because no resource-based policy allows the kms:Decrypt action")


def test_not_resource_resolves_policy_variables() -> None:
    grant = doc({"Effect": "Allow", "Action": "s3:GetObject",
                 "NotResource": "arn:aws:s3:::raw/${aws:PrincipalAccount}/*"})
    assert not evaluate(AuthRequest(ROLE, "s3:GetObject", f"arn:aws:s3:::raw/{A}/k"), [grant]).allowed
    assert evaluate(AuthRequest(ROLE, "s3:GetObject", "arn:aws:s3:::raw/other/k"), [grant]).allowed


def test_documents_given_as_objects_or_without_statements() -> None:
    parsed = PolicyDocument.parse("bucket-policy:raw", {"Statement": [allow()]})
    assert parsed.name == "bucket-policy:raw" and evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [parsed]).allowed
    assert PolicyDocument("empty", {}).statements() == []
    with pytest.raises(PolicyGrammarError, match=r"^x: a policy document is a JSON object$"):
        PolicyDocument.parse("x", "[]")


@pytest.mark.parametrize(("statement", "resource_policy", "message"), [
    ({"Effect": "Deny", "Action": "*"}, False, "an identity policy statement needs Resource or NotResource"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True,
     "a resource policy statement needs Principal or NotPrincipal"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": ["x"]}, True, "Principal must be"),
    ({"Effect": "allow", "Action": "*", "Resource": "*"}, False, "p: statement 0: Effect must be Allow or Deny"),
    ({"Effect": "Allow", "Resource": "*"}, False, "p: statement 0: exactly one of Action/NotAction"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": "x"}}, False,
     "condition operator 'Bool' needs an object of keys"),
])
def test_grammar_errors_say_what_is_wrong(statement: dict[str, Any], resource_policy: bool, message: str) -> None:
    with pytest.raises(PolicyGrammarError, match=message):
        if resource_policy:
            evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [], doc(statement))
        else:
            evaluate(AuthRequest(ROLE, "s3:GetObject", OBJECT), [doc(statement)])


# --------------------------------------------------------------------------- conditions
def test_arn_operators_compare_part_by_part() -> None:
    # a wildcard in one part does not span a colon into the next (AWS's ArnLike)
    assert not operator_holds("ArnLike", "k", "arn:aws:sqs:*:1:q", {"k": "arn:aws:sqs:r:x:1:q"})
    assert operator_holds("ArnLike", "k", "arn:aws:sqs:*:1:q", {"k": "arn:aws:sqs:r:1:q"})
    assert operator_holds("ArnLike", "k", "*", {"k": "arn:aws:sqs:r:1:q"})  # not an ARN: matched as a whole
    assert operator_holds("ArnLike", "k", "arn:*", {"k": "arn:aws:s3:::b"})
    assert not operator_holds("ArnEquals", "k", "arn:aws:s3:::b", {"k": "b"})


def test_set_qualifiers_with_negated_operators() -> None:
    ctx = {"aws:TagKeys": ["team", "cost"]}
    assert operator_holds("ForAllValues:StringNotEquals", "aws:TagKeys", ["env"], ctx)
    assert not operator_holds("ForAllValues:StringNotEquals", "aws:TagKeys", ["team"], ctx)
    assert operator_holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["team"], ctx)
    assert not operator_holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["team", "cost"], ctx)


def test_variables_from_multi_valued_keys_literal_specials_and_empty_defaults() -> None:
    assert resolve_variables("${k}", {"k": ["a", "b"]}) == "a"
    assert resolve_variables("${k}", {"k": []}) is None
    assert resolve_variables("a${k, ''}b", {}) == "ab"
    assert resolve_variables("${k, 'x'}", {}) == "x"
    assert operator_holds("StringEquals", "k", "a${*}b", {"k": "a*b"})
    tail = resolve_variables("ab${*}", {})
    assert tail is not None and wildcard_match(tail, "ab*") and not wildcard_match(tail, "abc")
    deeper = resolve_variables("ab${?}c${*}", {})
    assert deeper is not None and wildcard_match(deeper, "ab?c*") and not wildcard_match(deeper, "abxc*")


def test_dates_with_offsets_naive_dates_and_the_request_time() -> None:
    assert operator_holds("DateEquals", "k", "2026-03-01T00:00:00Z", {"k": "2026-03-01T05:30:00+05:30"})
    assert operator_holds("DateEquals", "k", "2026-03-01T00:00:00", {"k": "1772323200"})
    request = authorizations(ApiCall("sts", "GetCallerIdentity", {}, "r", A), ROLE)[0]
    grant = doc(allow("sts:GetCallerIdentity", Condition={
        "DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
        "NumericGreaterThan": {"aws:EpochTime": "1767225600"}}))
    assert evaluate(request, [grant]).allowed


def test_ip_networks_with_host_bits_and_bad_addresses() -> None:
    assert operator_holds("IpAddress", "aws:SourceIp", "10.1.2.3/8", {"aws:SourceIp": "10.9.9.9"})
    assert not operator_holds("IpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "not-an-ip"})


@pytest.mark.parametrize(("policy", "value", "expected"), [(True, "true", True), (False, "false", True),
                                                           (False, "true", False), (3, "3", True)])
def test_json_booleans_and_numbers_in_policies(policy: object, value: str, expected: bool) -> None:
    assert operator_holds("StringEquals", "k", policy, {"k": value}) is expected


def test_if_exists_alone_is_not_an_operator() -> None:
    with pytest.raises(PolicyGrammarError, match="unknown condition operator 'IfExists'"):
        operator_holds("IfExists", "k", "x", {})
    with pytest.raises(PolicyGrammarError, match="unknown condition set qualifier 'ForSome'"):
        operator_holds("ForSome:StringEquals", "k", "x", {})
    with pytest.raises(PolicyGrammarError, match="not a number: 'x'"):
        operator_holds("NumericEquals", "k", "x", {"k": "1"})
    with pytest.raises(PolicyGrammarError, match="not a date: 'x'"):
        operator_holds("DateEquals", "k", "x", {"k": "1"})


# --------------------------------------------------------------------------- implicit KMS calls
class Encrypted(NoFacts):
    def kms_key_arn(self, key_id: str, region: str) -> str | None:
        return KEY

    def table_kms_key(self, table: str, region: str) -> str | None:
        return "k1" if table != "plain" else None

    def topic_kms_key(self, topic_arn: str) -> str | None:
        return "k1"

    def queue_kms_key(self, queue_url: str) -> str | None:
        return "k1"


def kms_pairs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    requests = authorizations(ApiCall(service, operation, params, "r", A), ROLE, Encrypted())
    return [(r.action, str(r.context.get("kms:ViaService")), str(r.context.get("kms:EncryptionContext:aws:dynamodb:"
                                                                                "tableName", "")))
            for r in requests if r.action.startswith("kms:")]


def test_every_table_of_a_batch_or_transaction_needs_its_key() -> None:
    via = "dynamodb.r.amazonaws.com"
    assert kms_pairs("dynamodb", "BatchGetItem", {"RequestItems": {"b": {}, "a": {}, "plain": {}}}) == [
        ("kms:Decrypt", via, "a"), ("kms:Decrypt", via, "b")]
    batch = authorizations(ApiCall("dynamodb", "BatchWriteItem", {"RequestItems": {"b": [], "a": []}}, "r", A), ROLE)
    assert [(r.action, r.resource) for r in batch] == [("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:r:{A}:table/a"),
                                                       ("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:r:{A}:table/b")]
    assert kms_pairs("dynamodb", "DescribeTable", {"TableName": "t1"}) == []


def test_queue_topic_and_multipart_kms_actions() -> None:
    url = f"https://sqs.r.amazonaws.com/{A}/q"
    assert kms_pairs("sqs", "ReceiveMessage", {"QueueUrl": url}) == [("kms:Decrypt", "sqs.r.amazonaws.com", "")]
    assert [a for a, _, _ in kms_pairs("sns", "Publish", {"TopicArn": f"arn:aws:sns:r:{A}:t", "Message": "m"})] == [
        "kms:GenerateDataKey", "kms:Decrypt"]
    upload = kms_pairs("s3", "CreateMultipartUpload", {"Bucket": "b", "Key": "k", "ServerSideEncryption": "aws:kms"})
    assert [a for a, _, _ in upload] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert kms_pairs("s3", "PutObject", {"Bucket": "b", "Key": "k", "ServerSideEncryption": "AES256"}) == []


def test_copy_source_with_a_version_reads_that_version() -> None:
    source = {"Bucket": "s", "Key": "a", "VersionId": "3"}
    requests = authorizations(ApiCall("s3", "CopyObject", {"Bucket": "d", "Key": "k", "CopySource": source}, "r", A),
                              ROLE)
    assert [(r.action, r.resource) for r in requests] == [("s3:PutObject", "arn:aws:s3:::d/k"),
                                                          ("s3:GetObjectVersion", "arn:aws:s3:::s/a")]
    text = authorizations(ApiCall("s3", "CopyObject", {"Bucket": "d", "Key": "k", "CopySource": "/s/a/b?versionId=7"},
                                  "r", A), ROLE)
    assert (text[1].action, text[1].resource) == ("s3:GetObjectVersion", "arn:aws:s3:::s/a/b")


@pytest.mark.parametrize(("operator", "expected"), [
    ("NumericLessThan", False), ("NumericLessThanEquals", True), ("NumericGreaterThan", False),
    ("NumericGreaterThanEquals", True), ("NumericEquals", True),
])
def test_numeric_bounds_at_the_value_itself(operator: str, expected: bool) -> None:
    assert operator_holds(operator, "k", "10", {"k": "10.0"}) is expected


@pytest.mark.parametrize(("operator", "expected"), [
    ("DateLessThan", False), ("DateLessThanEquals", True), ("DateGreaterThan", False),
    ("DateGreaterThanEquals", True), ("DateNotEquals", False),
])
def test_date_bounds_at_the_date_itself(operator: str, expected: bool) -> None:
    assert operator_holds(operator, "k", "2026-03-01T00:00:00Z", {"k": "1772323200"}) is expected
