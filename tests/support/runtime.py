"""moto state for the scheduled-computation runtime tests: a versioned artifact bucket and the ledger table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REGION = "ap-south-1"
BUCKET = "sciflow-test-artifacts"
TABLE = "sciflow-test-ledger"
PREFIX = "daily-stats/"


@dataclass
class Aws:
    """Clients of the mocked AWS plus readers of the bucket and ledger the runtime writes."""

    s3: Any
    dynamodb: Any

    def object_keys(self, prefix: str = "") -> list[str]:
        response = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(obj["Key"] for obj in response.get("Contents", []))

    def versions(self) -> int:
        return len(self.s3.list_object_versions(Bucket=BUCKET).get("Versions", []))

    def item(self, date: str, computation: str = "daily-stats") -> dict[str, Any] | None:
        response = self.dynamodb.get_item(TableName=TABLE, Key={"date": {"S": date},
                                                                "computation": {"S": computation}})
        return response.get("Item")


def create_ledger_table(client: Any, table: str = TABLE) -> None:
    client.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "date", "KeyType": "HASH"}, {"AttributeName": "computation", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "date", "AttributeType": "S"},
                              {"AttributeName": "computation", "AttributeType": "S"}])


def create_artifact_bucket(client: Any, bucket: str = BUCKET) -> None:
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
