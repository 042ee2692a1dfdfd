"""Where an identity policy's grants reach: AWS's public SSM parameters and the parameter hierarchy's root, Step
Functions child executions, and writes into buckets the stack does not create (``iam-policy-foreign-bucket-owner-
pinned``). Each case changes one thing against a grant that is right."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from policy.policies._iamdoc import parse_statements, resource_wideness
from policy.policies.iam import foreign_bucket_writes
from tests.policy.helpers import UNKNOWN_STRING_VALUE, Res, messages, run_resource, run_stack
from tests.policy.props import policy_doc

ACCT = "123456789012"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"
FOREIGN = "iam-policy-foreign-bucket-owner-pinned"
SSM = f"arn:aws:ssm:ap-south-1:{ACCT}:parameter"
STATES = f"arn:aws:states:ap-south-1:{ACCT}"


# --------------------------------------------------------------------------- ARN scope
@pytest.mark.parametrize(("arn", "wide"), [
    ("arn:aws:ssm:*:*:parameter/*", True),  # every parameter of every account
    (f"{SSM}/*", True),
    (f"{SSM}/", True),  # the hierarchy's root: GetParametersByPath reads every parameter below it
    (SSM, True),
    (f"{SSM}/sciflow/dev", False),  # a path: everything below /sciflow/dev, and only that
    ("arn:aws:ssm:*:*:parameter/aws/service/global-infrastructure/regions", False),  # AWS's public data
    ("arn:aws:ssm:*:*:parameter/aws/service/*", False),
    ("arn:aws:ssm:ap-south-1::parameter/aws/service/global-infrastructure/*", False),
    ("arn:aws:ssm:*:*:parameter/aws/*", True),  # /aws/reference/secretsmanager/... is not public data
    ("arn:aws:ssm:*:*:parameter/aws/serv*", True),
    (f"{STATES}:stateMachine:*", True),
    ("arn:aws:states:*:*:stateMachine:*", True),
    (f"{STATES}:stateMachine:fanout", False),
    (f"{STATES}:execution:*", True),
    (f"{STATES}:execution:fanout/*", False),  # a Distributed Map's child executions of one machine
    (f"{STATES}:*", True),
    ("arn:aws:catalog:ap-south-1:123456789012:portfolio/*", True),  # an ARN service that is not an action prefix
    ("arn:aws:dynamodb::123456789012:table/*", False),  # no region: the pattern matches no table at all
    ("arn:aws:iam:ap-south-1:123456789012:role/*", False),  # IAM ARNs have no region: matches no role
    ("arn:*:s3:::data-1/*", False),  # the same bucket in every partition
    ("arn:*:*:*:*", True),  # fewer than six fields: the wildcard runs over service and resource
    ("arn:aws:s3", False),  # not an ARN (too few fields): nothing to judge
    ("xyz:aws:s3:::*", False),
])
def test_resource_scope(arn: str, wide: bool) -> None:
    assert (resource_wideness(arn) is not None) is wide, resource_wideness(arn)


@pytest.mark.parametrize(("resource", "flagged"), [
    ("arn:aws:ssm:*:*:parameter/*", True),
    (f"{SSM}/", True),
    ("arn:aws:ssm:*:*:parameter/aws/service/global-infrastructure/*", False),
    (f"{SSM}/sciflow/dev", False),
])
def test_parameter_path_reads(resource: str, flagged: bool) -> None:
    statement = {"Effect": "Allow", "Action": ["ssm:GetParametersByPath", "ssm:GetParameter"], "Resource": resource}
    for policy in ("iam-policy-no-star-resource", "iam-policy-no-data-exfiltration"):
        found = run_resource(policy, ROLE_POLICY, {"policy": policy_doc(statement)})
        assert bool(found) is flagged, (policy, messages(found))


# --------------------------------------------------------------------------- writes into foreign buckets
def _write(resource: Any = "arn:aws:s3:::partner-drop/in/*", action: Any = "s3:PutObject", **extra: Any
           ) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _owned(pattern: str) -> bool:
    """The stack has one bucket, data-1 (``pattern`` is the bucket part of a grant's ARN, wildcards and all)."""
    return fnmatch.fnmatchcase("data-1", pattern)


@pytest.mark.parametrize(("statement", "foreign"), [
    (_write(), ["arn:aws:s3:::partner-drop/in/*"]),
    (_write(["arn:aws:s3:::data-1/out/*", "arn:aws:s3:::partner-drop/*"]), ["arn:aws:s3:::partner-drop/*"]),
    (_write("arn:aws:s3:::data-*/out/*"), []),  # the pattern names a bucket of the stack
    (_write(action="s3:Put*"), ["arn:aws:s3:::partner-drop/in/*"]),
    (_write(action="s3:ReplicateObject"), ["arn:aws:s3:::partner-drop/in/*"]),
    (_write(action="s3:GetObject"), []),  # reading is not sending data out
    (_write("arn:aws:s3:::partner-drop"), []),  # a bucket ARN grants no object write
    (_write("arn:aws:s3:::*/*"), []),  # wide: iam-policy-no-star-resource's
    (_write(Condition={"StringEquals": {"s3:ResourceAccount": "210987654321"}}), []),
    (_write(Condition={"StringEquals": {"aws:ResourceAccount": ["210987654321", ACCT]}}), []),
    (_write(Condition={"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}), []),
    (_write(Condition={"StringLike": {"s3:ResourceAccount": "*"}}), ["arn:aws:s3:::partner-drop/in/*"]),
    (_write(Condition={"StringNotEquals": {"s3:ResourceAccount": "210987654321"}}),
     ["arn:aws:s3:::partner-drop/in/*"]),
    (_write(Condition={"StringEquals": {"aws:SourceAccount": ACCT}}), ["arn:aws:s3:::partner-drop/in/*"]),
    ({**_write(), "Effect": "Deny"}, []),
])
def test_foreign_bucket_writes(statement: dict[str, Any], foreign: list[str]) -> None:
    assert foreign_bucket_writes(parse_statements({"Statement": statement})[0], _owned) == foreign


def _stack(*statements: dict[str, Any], bucket: dict[str, Any] | None = None, inline: bool = False) -> list[Any]:
    data = Res(BUCKET, "data", bucket if bucket is not None else {"id": "data-1", "bucket": "data-1"})
    if inline:
        holder = Res(ROLE, "fn-role", {"inlinePolicies": [{"name": "out", "policy": policy_doc(*statements)}]})
    else:
        holder = Res(ROLE_POLICY, "fn-policy", {"policy": policy_doc(*statements)})
    return run_stack(FOREIGN, [data, holder])


def test_foreign_bucket_write_is_reported_on_the_policy() -> None:
    found = _stack(_write(Sid="Out"))
    assert [v.urn.rsplit("::", 1)[1] for v in found] == ["fn-policy"], messages(found)
    assert found[0].message.split("\n", 1)[1].startswith(
        "policy statement 'Out' lets its holder write (s3:PutObject) into arn:aws:s3:::partner-drop/in/*: no bucket "
        "of this stack has that name and no condition pins the bucket's owner")
    found = _stack(_write(), inline=True)
    assert len(found) == 1 and "inlinePolicies[0] (out) statement #0" in found[0].message, messages(found)


@pytest.mark.parametrize("resource", ["arn:aws:s3:::data-1/out/*", "arn:aws:s3:::data-1/*"])
def test_writes_into_the_stacks_own_bucket(resource: str) -> None:
    assert _stack(_write(resource)) == []
    assert _stack(_write(resource), bucket={"id": "data-1"}) == []  # the name read from the id


def test_an_unknown_bucket_name_makes_a_foreign_write_undecidable() -> None:
    found = _stack(_write(), bucket={"id": UNKNOWN_STRING_VALUE, "bucket": UNKNOWN_STRING_VALUE})
    assert found and all("can't run policy" in v.message for v in found), messages(found)
    assert _stack(_write("arn:aws:s3:::partner-drop/in/*", action="s3:GetObject"),
                  bucket={"bucket": UNKNOWN_STRING_VALUE}) == []  # nothing to decide: no note


@pytest.mark.parametrize(("bucket", "flagged"), [
    ({"bucket": "data-1", "id": UNKNOWN_STRING_VALUE}, False),  # real preview: a new bucket's id is unknown
    ({"bucket": "other", "id": "data-1"}, True),  # the name is the bucket's, not its id
    ({"tags": {"a": "b"}}, True),  # no name at all (not a real engine's bucket): it owns nothing
])
def test_bucket_names_read_from_the_bucket_then_the_id(bucket: dict[str, Any], flagged: bool) -> None:
    found = _stack(_write("arn:aws:s3:::data-1/out/*"), bucket=bucket)
    assert [v.urn.rsplit("::", 1)[1] for v in found] == (["fn-policy"] if flagged else []), messages(found)
    assert all("can't run policy" not in v.message for v in found)


def test_invalid_documents_are_left_to_the_resource_policies() -> None:
    data = Res(BUCKET, "data", {"id": "data-1", "bucket": "data-1"})
    assert run_stack(FOREIGN, [data, Res(ROLE_POLICY, "p", {"policy": "{"})]) == []
