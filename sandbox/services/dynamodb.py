"""DynamoDB tables (keys, indexes, streams, SSE, TTL, point-in-time recovery)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, compact, exists, named, resource, tags_kv, to_int
from synth import MockContext
from synth.graph import Resource

TABLE = "aws:dynamodb/table:Table"


@resource(TABLE)
class Table:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, max_len=255)
        arn = m.arn("dynamodb", f"table/{name}")
        out.update(arn=arn, streamArn=f"{arn}/stream/2026-01-01T00:00:00.000")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        ddb = d.client("dynamodb")
        name = str(res.outputs.get("name") or res.id)
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        billing = inputs.get("billingMode") or "PROVISIONED"
        throughput = {"ReadCapacityUnits": to_int(inputs.get("readCapacity")) or 1,
                      "WriteCapacityUnits": to_int(inputs.get("writeCapacity")) or 1}

        def index(ix: Mapping[str, Any], gsi: bool) -> dict[str, Any]:
            schema = [{"AttributeName": ix["hashKey"], "KeyType": "HASH"}] if ix.get("hashKey") else []
            if ix.get("rangeKey"):
                schema.append({"AttributeName": ix["rangeKey"], "KeyType": "RANGE"})
            out: dict[str, Any] = {"IndexName": ix["name"], "KeySchema": schema, "Projection": compact({
                "ProjectionType": ix.get("projectionType") or "ALL",
                "NonKeyAttributes": list(ix.get("nonKeyAttributes") or [])})}
            if gsi and billing == "PROVISIONED":
                out["ProvisionedThroughput"] = {"ReadCapacityUnits": to_int(ix.get("readCapacity")) or 1,
                                                "WriteCapacityUnits": to_int(ix.get("writeCapacity")) or 1}
            return out

        sse = inputs.get("serverSideEncryption") or {}
        kwargs = compact({
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                     for a in inputs.get("attributes") or []],
            "KeySchema": keys,
            "BillingMode": billing,
            "ProvisionedThroughput": throughput if billing == "PROVISIONED" else None,
            "GlobalSecondaryIndexes": [index(ix, True) for ix in inputs.get("globalSecondaryIndexes") or []],
            "LocalSecondaryIndexes": [index(ix, False) for ix in inputs.get("localSecondaryIndexes") or []],
            "StreamSpecification": ({"StreamEnabled": True, "StreamViewType": inputs.get("streamViewType")}
                                    if inputs.get("streamEnabled") else None),
            "SSESpecification": (compact({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": sse.get("kmsKeyArn")})
                                 if sse.get("enabled") else None),
            "Tags": tags_kv(inputs.get("tags")),
            "DeletionProtectionEnabled": inputs.get("deletionProtectionEnabled"),
        })
        try:
            ddb.create_table(**kwargs)
        except ClientError as exc:
            if not exists(exc):
                raise
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            try:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["attributeName"]})
            except ClientError as exc:  # already enabled on a second deploy
                if "already enabled" not in str(exc):
                    raise
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
