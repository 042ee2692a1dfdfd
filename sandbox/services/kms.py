"""KMS: keys (moto generates the key ID; the graph's is replaced) and aliases."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, compact, exists, json_text, resource, tags_kv
from synth import MockContext
from synth.graph import Resource
from synth.mocks import suffix

KEY = "aws:kms/key:Key"


@resource(KEY)
class Key:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        key_id = str(uuid.UUID(suffix(m.stack, args.typ, args.name, length=32)))
        out.update(keyId=key_id, arn=m.arn("kms", f"key/{key_id}"))
        return key_id

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        kms = d.client("kms")
        known: dict[str, str] = d.state.setdefault("kms_keys", {})
        key_id = known.get(res.urn)
        if key_id is None:
            spec = inputs.get("customerMasterKeySpec") or inputs.get("keySpec")
            created = kms.create_key(**compact({
                "Description": inputs.get("description") or "",
                "KeyUsage": inputs.get("keyUsage"),
                "KeySpec": spec,
                "Policy": json_text(inputs.get("policy")),
                "MultiRegion": inputs.get("multiRegion"),
                "Tags": tags_kv(inputs.get("tags"), "TagKey", "TagValue"),
            }))["KeyMetadata"]
            key_id = str(created["KeyId"])
            known[res.urn] = key_id
            if inputs.get("enableKeyRotation"):
                kms.enable_key_rotation(KeyId=key_id)
        arn = str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"])
        d.replace(res.outputs.get("arn"), arn)
        d.replace(res.outputs.get("keyId") or res.id, key_id)


@resource("aws:kms/alias:Alias")
class Alias:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or f"alias/{m.autoname(args.typ, args.name)}"
        out.update(name=name, arn=m.arn("kms", name), targetKeyArn=m.arn("kms", f"key/{out.get('targetKeyId')}"))
        return str(name)

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        kms = d.client("kms")
        name = str(res.outputs.get("name") or inputs.get("name"))
        try:
            kms.create_alias(AliasName=name, TargetKeyId=str(inputs["targetKeyId"]))
        except ClientError as exc:
            if not exists(exc):
                raise
            kms.update_alias(AliasName=name, TargetKeyId=str(inputs["targetKeyId"]))
