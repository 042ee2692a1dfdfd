"""Least-privilege IAM as data: statements are Python values, composed, then serialized once.

Nothing here builds JSON with f-strings: ``policy_document`` resolves any ``pulumi.Output`` inside the
statements with ``pulumi.Output.json_dumps``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Condition:
    """One IAM condition, e.g. ``Condition("StringEquals", "aws:SourceAccount", (account,))``."""

    test: str
    variable: str
    values: tuple[pulumi.Input[str], ...]


@dataclass(frozen=True)
class Statement:
    """One IAM statement as data.

    Example
    -------
    >>> statement = Statement(actions=("s3:PutObject",), resources=("arn:aws:s3:::b/p/*",), sid="WriteArtifacts")
    >>> statement.effect, statement.conditions
    ('Allow', ())
    """

    actions: tuple[str, ...]
    resources: tuple[pulumi.Input[str], ...]
    effect: str = "Allow"
    sid: str | None = None
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("a statement needs at least one action")
        if not self.resources:
            raise ValueError(f"statement {self.sid or self.actions}: needs at least one resource")
        if self.effect not in ("Allow", "Deny"):
            raise ValueError(f"effect must be Allow or Deny, not {self.effect!r}")

    def to_dict(self) -> dict[str, Any]:
        """The statement as the IAM JSON grammar spells it (values may still be Outputs)."""
        out: dict[str, Any] = {}
        if self.sid:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        out["Action"] = list(self.actions) if len(self.actions) > 1 else self.actions[0]
        out["Resource"] = list(self.resources) if len(self.resources) > 1 else self.resources[0]
        if self.conditions:
            block: dict[str, dict[str, Any]] = {}
            for cond in self.conditions:
                values = list(cond.values) if len(cond.values) > 1 else cond.values[0]
                block.setdefault(cond.test, {})[cond.variable] = values
            out["Condition"] = block
        return out


def document(statements: Sequence[Statement | Mapping[str, Any]]) -> dict[str, Any]:
    """A policy document as a Python dict (statements may contain Outputs)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [s.to_dict() if isinstance(s, Statement) else dict(s) for s in statements],
    }


def policy_document(statements: Sequence[Statement | Mapping[str, Any]]) -> pulumi.Output[str]:
    """Serialize statements into a JSON policy document, resolving Outputs."""
    return pulumi.Output.json_dumps(document(statements))


def trust_policy(service: str, *, source_arn: pulumi.Input[str] | None = None,
                 source_account: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """Trust policy letting one AWS service assume the role, scoped by the confused-deputy conditions."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    conditions: dict[str, dict[str, Any]] = {}
    if source_account is not None:
        conditions.setdefault("StringEquals", {})["aws:SourceAccount"] = source_account
    if source_arn is not None:
        conditions.setdefault("ArnLike", {})["aws:SourceArn"] = source_arn
    if conditions:
        statement["Condition"] = conditions
    return policy_document([statement])


def create_role(name: str, *, service: str, statements: Sequence[Statement], parent: pulumi.Resource,
                tags: Mapping[str, str], source_arn: pulumi.Input[str] | None = None,
                source_account: pulumi.Input[str] | None = None,
                description: str | None = None) -> aws.iam.Role:
    """A role for ``service`` with exactly ``statements`` as one inline policy (no managed policies).

    Example
    -------
    Inside a component's constructor (a resource needs a running Pulumi program):

    >>> role = create_role("etl-ingest", service="lambda.amazonaws.com",
    ...                    statements=[Statement(("dynamodb:PutItem",), (table.arn,))],
    ...                    parent=self, tags=tags)  # doctest: +SKIP
    """
    opts = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=trust_policy(service, source_arn=source_arn, source_account=source_account),
        description=description or f"sciflow: {name} ({service})",
        max_session_duration=3600,
        tags=dict(tags),
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=policy_document(statements),
        opts=opts,
    )
    return role


def kms_use(key_arn: pulumi.Input[str], *, decrypt: bool = True) -> Statement:
    """Use of one KMS key for envelope encryption (data keys), never key administration."""
    actions = ("kms:GenerateDataKey", "kms:Decrypt") if decrypt else ("kms:GenerateDataKey",)
    return Statement(sid="UseKey", actions=actions, resources=(key_arn,))


def s3_objects(bucket_arn: pulumi.Input[str], prefix: str = "") -> pulumi.Output[str]:
    """The ARN pattern of the objects under ``prefix`` in a bucket (``arn:...:bucket/prefix*``)."""
    return pulumi.Output.concat(bucket_arn, "/", prefix, "*")


def list_prefix(bucket_arn: pulumi.Input[str], prefix: str, *, sid: str) -> Statement:
    """``s3:ListBucket`` on one bucket, only for listings under ``prefix`` (an ``s3:prefix`` condition).

    Handlers list a key to tell a missing object from a refused read: without any ``s3:ListBucket`` S3 answers
    a missing key with 403, and a conditioned grant never applies to ``GetObject`` (see
    :mod:`handlers.runtime.objects`).

    Example
    -------
    >>> list_prefix("arn:aws:s3:::b", "in/", sid="ListInput").to_dict()["Condition"]
    {'StringLike': {'s3:prefix': 'in/*'}}
    """
    return Statement(sid=sid, actions=("s3:ListBucket",), resources=(bucket_arn,),
                     conditions=(Condition("StringLike", "s3:prefix", (f"{prefix}*",)),))
