"""Pulumi mocks that answer like AWS would, consistently with the embedded AWS (moto).

IDs and ARNs use account 123456789012, the stack's region and the resource's physical name. Physical names
follow Pulumi's auto-naming (``<logical>-<7 hex>``) but the suffix is derived from the stack, type and
logical name, so every synth of the same program gives the same names.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

ACCOUNT_ID = "123456789012"


class UnsupportedCall(NotImplementedError):
    pass


def _suffix(*parts: str, length: int = 7) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


class AwsMocks(Mocks):
    """Realistic outputs for the AWS resource types sciflow uses; other types echo their inputs."""

    def __init__(self, *, stack: str, region: str, account_id: str = ACCOUNT_ID) -> None:
        self.stack = stack
        self.region = region
        self.account = account_id

    # ------------------------------------------------------------------ helpers
    def autoname(self, typ: str, name: str, *, max_len: int = 64, lower: bool = False) -> str:
        base = name.lower() if lower else name
        suffix = _suffix(self.stack, typ, name)
        return f"{base[: max_len - 8]}-{suffix}"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:"
                f"{resource}")

    # ------------------------------------------------------------------ Mocks API
    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:aws:iam::{self.account}:user/sciflow",
                    "userId": "AIDASCIFLOWSANDBOX", "id": self.account}, []
        if token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}, []
        raise UnsupportedCall(f"sandbox mocks: no answer for data source {token}; add it to synth/mocks.py")

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return "", {}
        handler = getattr(self, "_" + args.typ.split(":")[-1].lower(), None)
        module = args.typ.split(":")[1].split("/")[0]
        outputs = dict(args.inputs)
        if "tags" in outputs:
            outputs["tagsAll"] = dict(outputs["tags"] or {})
        if handler is not None and module in _HANDLED_MODULES.get(args.typ.split(":")[-1].lower(), ()):
            resource_id = handler(args, outputs)
        else:
            resource_id = outputs.get("name") or self.autoname(args.typ, args.name)
        return resource_id, outputs

    # ------------------------------------------------------------------ per type
    def _bucket(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("bucket") or self.autoname(args.typ, args.name, max_len=63, lower=True)
        out.update(bucket=name, arn=f"arn:aws:s3:::{name}", region=self.region,
                   bucketDomainName=f"{name}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{name}.s3.{self.region}.amazonaws.com",
                   hostedZoneId="Z11RGJOFQNVJUP")
        return name

    def _bucketobjectv2(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        key = out.get("key") or args.name
        out.update(key=key, etag=_suffix(args.name, length=32), versionId=_suffix("v", args.name, length=32),
                   arn=f"arn:aws:s3:::{out.get('bucket')}/{key}")
        return str(key)

    def _table(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=255)
        arn = self.arn("dynamodb", f"table/{name}")
        out.update(name=name, arn=arn, streamArn=f"{arn}/stream/2026-01-01T00:00:00.000")
        return name

    def _queue(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=80)
        url = f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}"
        out.update(name=name, url=url, arn=self.arn("sqs", name))
        return url

    def _key(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        key_id = str(uuid.UUID(_suffix(self.stack, args.typ, args.name, length=32)))
        out.update(keyId=key_id, arn=self.arn("kms", f"key/{key_id}"))
        return key_id

    def _alias(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or f"alias/{self.autoname(args.typ, args.name)}"
        out.update(name=name, arn=self.arn("kms", name), targetKeyArn=self.arn("kms", f"key/{out.get('targetKeyId')}"))
        return name

    def _role(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        out.update(name=name, arn=f"arn:aws:iam::{self.account}:role{out.get('path') or '/'}{name}",
                   uniqueId="AROA" + _suffix(name, length=17).upper(), createDate="2026-01-01T00:00:00Z")
        return name

    def _rolepolicy(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        out["name"] = name
        return f"{out.get('role')}:{name}"

    def _policy(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        arn = f"arn:aws:iam::{self.account}:policy{out.get('path') or '/'}{name}"
        out.update(name=name, arn=arn, policyId="ANPA" + _suffix(name, length=17).upper())
        return arn

    def _loggroup(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=512)
        out.update(name=name, arn=self.arn("logs", f"log-group:{name}"))
        return name

    def _function(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        arn = self.arn("lambda", f"function:{name}")
        out.update(name=name, arn=arn, qualifiedArn=f"{arn}:$LATEST", version="$LATEST",
                   invokeArn=f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                   codeSha256=out.get("sourceCodeHash") or "", lastModified="2026-01-01T00:00:00.000+0000")
        return name

    def _layerversion(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        layer_arn = self.arn("lambda", f"layer:{out.get('layerName') or args.name}")
        out.update(layerArn=layer_arn, arn=f"{layer_arn}:1", version="1",
                   codeSha256=out.get("sourceCodeHash") or "", createdDate="2026-01-01T00:00:00.000+0000")
        return f"{layer_arn}:1"

    def _functioneventinvokeconfig(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return str(out.get("functionName"))

    def _permission(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        statement = out.get("statementId") or self.autoname(args.typ, args.name)
        out["statementId"] = statement
        return str(statement)

    def _statemachine(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=80)
        arn = self.arn("states", f"stateMachine:{name}")
        out.update(name=name, arn=arn, status="ACTIVE", creationDate="2026-01-01T00:00:00Z",
                   stateMachineVersionArn="", revisionId=_suffix(arn, length=32))
        return arn

    def _eventrule(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        bus = out.get("eventBusName") or "default"
        out.update(name=name, eventBusName=bus,
                   arn=self.arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"))
        return name if bus == "default" else f"{bus}/{name}"

    def _eventtarget(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        target_id = out.get("targetId") or self.autoname(args.typ, args.name)
        out["targetId"] = target_id
        return f"{out.get('rule')}-{target_id}"

    def _schedule(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        group = out.get("groupName") or "default"
        out.update(name=name, groupName=group, arn=self.arn("scheduler", f"schedule/{group}/{name}"))
        return f"{group}/{name}"

    def _schedulegroup(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name)
        out.update(name=name, arn=self.arn("scheduler", f"schedule-group/{name}"), state="ACTIVE")
        return name

    def _metricalarm(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=255)
        out.update(name=name, arn=self.arn("cloudwatch", f"alarm:{name}"))
        return name

    def _dashboard(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("dashboardName") or self.autoname(args.typ, args.name)
        out.update(dashboardName=name, dashboardArn=f"arn:aws:cloudwatch::{self.account}:dashboard/{name}")
        return str(name)

    def _topic(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = out.get("name") or self.autoname(args.typ, args.name, max_len=256)
        arn = self.arn("sns", name)
        out.update(name=name, arn=arn)
        return arn

    def _bucket_side(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return str(out.get("bucket"))

    def _queuepolicy(self, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return str(out.get("queueUrl"))


for _side in ("bucketversioning", "bucketserversideencryptionconfiguration", "bucketpublicaccessblock",
              "bucketownershipcontrols", "bucketpolicy", "bucketnotification", "bucketlifecycleconfiguration"):
    setattr(AwsMocks, f"_{_side}", AwsMocks._bucket_side)

# Which AWS module each class-name handler applies to (``Key`` is KMS, ``Policy`` is IAM, ...).
_HANDLED_MODULES: dict[str, tuple[str, ...]] = {
    "bucket": ("s3",), "bucketobjectv2": ("s3",), "table": ("dynamodb",), "queue": ("sqs",), "key": ("kms",),
    "alias": ("kms",), "role": ("iam",), "rolepolicy": ("iam",), "policy": ("iam",), "loggroup": ("cloudwatch",),
    "function": ("lambda",), "layerversion": ("lambda",), "functioneventinvokeconfig": ("lambda",),
    "permission": ("lambda",), "statemachine": ("sfn",), "eventrule": ("cloudwatch",),
    "eventtarget": ("cloudwatch",), "schedule": ("scheduler",), "schedulegroup": ("scheduler",),
    "metricalarm": ("cloudwatch",), "dashboard": ("cloudwatch",), "topic": ("sns",), "queuepolicy": ("sqs",),
    "bucketversioning": ("s3",), "bucketserversideencryptionconfiguration": ("s3",),
    "bucketpublicaccessblock": ("s3",), "bucketownershipcontrols": ("s3",), "bucketpolicy": ("s3",),
    "bucketnotification": ("s3",), "bucketlifecycleconfiguration": ("s3",),
}
