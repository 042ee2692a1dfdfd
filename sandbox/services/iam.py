"""IAM roles (inline and managed policies), role policies, managed policies and attachments."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, compact, exists, json_text, named, resource, tags_kv, to_int
from synth import MockContext
from synth.graph import Resource
from synth.mocks import suffix

ROLE = "aws:iam/role:Role"


@resource(ROLE)
class Role:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        out.update(arn=f"arn:aws:iam::{m.account}:role{out.get('path') or '/'}{name}",
                   uniqueId="AROA" + suffix(name, length=17).upper(), createDate="2026-01-01T00:00:00Z")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        iam = d.client("iam")
        name = str(res.outputs.get("name") or res.id)
        try:
            iam.create_role(**compact({
                "RoleName": name, "AssumeRolePolicyDocument": json_text(inputs.get("assumeRolePolicy")),
                "Path": inputs.get("path"), "Description": inputs.get("description"),
                "MaxSessionDuration": to_int(inputs.get("maxSessionDuration")),
                "Tags": tags_kv(inputs.get("tags")),
            }))
        except ClientError as exc:
            if not exists(exc):
                raise
            iam.update_assume_role_policy(RoleName=name,
                                          PolicyDocument=json_text(inputs.get("assumeRolePolicy")) or "{}")
        for inline in inputs.get("inlinePolicies") or []:
            if inline.get("name") and inline.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=inline["name"],
                                    PolicyDocument=json_text(inline["policy"]))
        for arn in inputs.get("managedPolicyArns") or []:
            attach(d, name, str(arn))


def attach(d: Deployer, role: str, policy_arn: str) -> None:
    """Attach a managed policy; AWS managed policies moto does not load become a warning, not an error."""
    try:
        d.client("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    except ClientError as exc:
        if ":aws:policy/" not in policy_arn:
            raise
        d.warnings.append(f"AWS managed policy {policy_arn} is not loaded in the sandbox; "
                          f"not attached to {role} ({exc.response['Error']['Code']})")


def _role_name(value: Any) -> str:
    """A role input may be its name or its ARN."""
    return str(value).rsplit("/", 1)[-1]


@resource("aws:iam/rolePolicy:RolePolicy")
class RolePolicy:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return f"{out.get('role')}:{named(m, args, out)}"

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("iam").put_role_policy(RoleName=_role_name(inputs["role"]), PolicyName=str(res.outputs.get("name")),
                                        PolicyDocument=json_text(inputs["policy"]))


@resource("aws:iam/policy:Policy")
class Policy:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        arn = f"arn:aws:iam::{m.account}:policy{out.get('path') or '/'}{name}"
        out.update(arn=arn, policyId="ANPA" + suffix(name, length=17).upper())
        return arn

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        iam = d.client("iam")
        try:
            arn = iam.create_policy(**compact({
                "PolicyName": str(res.outputs.get("name")), "Path": inputs.get("path"),
                "PolicyDocument": json_text(inputs["policy"]), "Description": inputs.get("description"),
            }))["Policy"]["Arn"]
            d.replace(res.outputs.get("arn"), arn)
        except ClientError as exc:
            if not exists(exc):
                raise


@resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
class RolePolicyAttachment:
    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        attach(d, _role_name(inputs["role"]), str(inputs["policyArn"]))
