"""Condition operators, wildcards and policy variables (sandbox.authz.conditions)."""

from __future__ import annotations

import pytest

from sandbox.authz.conditions import (
    PolicyGrammarError,
    condition_block_holds,
    operator_holds,
    parse_operator,
    resolve_variables,
    wildcard_match,
)


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("s3:Get*", "s3:GetObject", True),
    ("s3:Get*", "s3:PutObject", False),
    ("arn:aws:s3:::b/?.csv", "arn:aws:s3:::b/a.csv", True),
    ("arn:aws:s3:::b/?.csv", "arn:aws:s3:::b/ab.csv", False),
    ("a.b", "axb", False),  # regex metacharacters are literals
    ("*", "", True),
])
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_wildcard_case() -> None:
    assert not wildcard_match("s3:getobject", "s3:GetObject")
    assert wildcard_match("s3:getobject", "s3:GetObject", ignore_case=True)


def test_variables_resolve_default_and_literal_specials() -> None:
    assert resolve_variables("${aws:username}/x", {"aws:username": "ana"}) == "ana/x"
    assert resolve_variables("${aws:username, 'none'}", {}) == "none"
    assert resolve_variables("${aws:username}", {}) is None
    literal = resolve_variables("a${*}b", {})
    assert literal is not None and not wildcard_match(literal, "axxb") and wildcard_match(literal, "a*b")


@pytest.mark.parametrize(("operator", "policy", "value", "expected"), [
    ("StringEquals", "a", "a", True),
    ("StringEquals", "a", "A", False),
    ("StringNotEquals", ["a", "b"], "c", True),
    ("StringNotEquals", ["a", "b"], "b", False),  # NOR over the policy's values
    ("StringEqualsIgnoreCase", "ABC", "abc", True),
    ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
    ("StringLike", ["in/*", "x"], "in/2026/a.csv", True),
    ("StringNotLike", "in/*", "out/a", True),
    ("NumericLessThan", "10", "9.5", True),
    ("NumericGreaterThanEquals", "10", "9", False),
    ("NumericEquals", 3, "3.0", True),
    ("NumericNotEquals", "3", "4", True),
    ("DateLessThan", "2026-03-01T00:00:00Z", "2026-02-28T23:59:59Z", True),
    ("DateGreaterThan", "2026-03-01T00:00:00Z", "1772323200", False),
    ("Bool", "false", "false", True),
    ("Bool", True, "true", True),
    ("Bool", "false", "true", False),
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("NotIpAddress", "10.0.0.0/8", "192.168.0.1", True),
    ("ArnLike", "arn:aws:states:*:1:stateMachine:*", "arn:aws:states:r:1:stateMachine:m", True),
    ("ArnEquals", "arn:aws:sqs:r:1:q", "arn:aws:sqs:r:1:q2", False),
    ("ArnLike", "arn:aws:logs:r:1:*", "arn:aws:logs:r:1:log-group:/aws/x", True),
    ("ArnNotLike", "arn:aws:logs:r:1:*", "arn:aws:logs:r:2:log-group:g", True),
    # each limit itself: strict operators exclude it, the -Equals ones include it
    ("NumericLessThan", "5", "5", False), ("NumericLessThanEquals", "5", "5", True),
    ("NumericGreaterThan", "5", "5", False), ("NumericGreaterThanEquals", "5", "5", True),
    ("DateLessThan", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", False),
    ("DateLessThanEquals", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", True),
    ("DateGreaterThan", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", False),
    ("DateGreaterThanEquals", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", True),
    # a date without an offset is UTC; a request date keeps its own offset
    ("DateLessThan", "2026-01-01T00:00:00", "2026-01-01T00:30:00+01:00", True),
    ("DateLessThan", "2026-01-01T00:00:00", "2026-01-01T00:30:00Z", False),
    # a network written with host bits still names the network; a value that is no address matches none
    ("IpAddress", "10.0.0.1/8", "10.2.3.4", True),
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
    ("NotIpAddress", "10.0.0.0/8", "not-an-ip", True),
    # ARNs are compared part by part: a wildcard never spans the colon between region and account
    ("ArnLike", "arn:aws:sqs:*:1:q", "arn:aws:sqs:r:x:1:q", False),
    ("ArnLike", "arn:aws:sqs:*:1:q", "arn:aws:sqs:r:1:q", True),
    ("ArnLike", "arn:aws:s3:::b/*", "not-an-arn", False),
    ("ArnLike", "x*", "xyz", True),  # neither side an ARN: one wildcard match of the whole text
    ("ArnEquals", "ARN:aws:sqs:r:1:q", "arn:aws:sqs:r:1:q", False),
    # ${*} in a policy value is a literal star, not a wildcard
    ("StringEquals", "a${*}", "a*", True),
    ("StringLike", "a${*}", "ab", False),
    ("StringLike", "a${*}", "a*", True),
])
def test_operators(operator: str, policy: object, value: str, expected: bool) -> None:
    assert operator_holds(operator, "k", policy, {"k": value}) is expected


@pytest.mark.parametrize(("operator", "expected"), [
    ("StringEquals", False), ("StringNotEquals", True),  # missing key: positive false, negated true
    ("ArnLike", False), ("ArnNotLike", True), ("Bool", False),
    ("StringEqualsIfExists", True), ("StringNotLikeIfExists", True),
    ("ForAnyValue:StringEquals", False), ("ForAllValues:StringEquals", True),
])
def test_missing_key(operator: str, expected: bool) -> None:
    assert operator_holds(operator, "aws:SourceArn", "x", {}) is expected


def test_if_exists_still_checks_a_present_key() -> None:
    assert not operator_holds("StringEqualsIfExists", "k", "a", {"k": "b"})
    assert operator_holds("StringEqualsIfExists", "k", "a", {"k": "a"})


def test_null() -> None:
    assert operator_holds("Null", "k", "true", {})
    assert not operator_holds("Null", "k", "true", {"k": "v"})
    assert operator_holds("Null", "k", "false", {"k": "v"})


def test_set_qualifiers() -> None:
    ctx = {"aws:TagKeys": ["team", "cost"]}
    assert operator_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team", "cost", "env"], ctx)
    assert not operator_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], ctx)
    assert operator_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], ctx)
    assert not operator_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], ctx)
    assert operator_holds("ForAllValues:StringEquals", "aws:TagKeys", ["env"], {"aws:TagKeys": []})


def test_variables_in_condition_values() -> None:
    ctx = {"aws:SourceAccount": "123", "aws:PrincipalAccount": "123"}
    assert operator_holds("StringEquals", "aws:SourceAccount", "${aws:PrincipalAccount}", ctx)
    assert not operator_holds("StringEquals", "aws:SourceAccount", "${aws:username}", ctx)


def test_context_keys_are_case_insensitive() -> None:
    assert operator_holds("StringEquals", "AWS:SourceAccount", "1", {"aws:sourceaccount": "1"})


def test_block_is_and_of_operators_and_keys() -> None:
    block = {"StringEquals": {"a": "1", "b": "2"}, "Bool": {"c": "true"}}
    assert condition_block_holds(block, {"a": "1", "b": "2", "c": "true"})
    assert not condition_block_holds(block, {"a": "1", "b": "3", "c": "true"})
    assert not condition_block_holds(block, {"a": "1", "b": "2", "c": "false"})
    assert condition_block_holds(None, {})


@pytest.mark.parametrize("bad", ["StringEqualz", "ForSomeValues:StringEquals", "NullIfExists"])
def test_unknown_operators_are_grammar_errors(bad: str) -> None:
    with pytest.raises(PolicyGrammarError):
        parse_operator(bad)


def test_kms_encryption_context_key() -> None:
    block = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:r:1:log-group:*"}}
    assert condition_block_holds(block, {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:r:1:log-group:/x"})
    assert not condition_block_holds(block, {})
