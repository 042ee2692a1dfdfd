"""Test support for scheduled computations: event factories, a Lambda context, an embedded AWS with a
bucket and ledger table. Fixtures are named ``aws`` and ``lambda_context``; import ``aws_fixture`` /
``lambda_context_fixture`` to use them. Imported by tests/handlers/test_runtime_*.py and tests/e2e (not a
conftest, so it cannot collide with other suites' fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

REGION = "ap-south-1"
BUCKET = "sciflow-test-artifacts"
TABLE = "sciflow-test-ledger"
PREFIX = "daily-stats/"
KOLKATA_1600_2026_03_01 = "2026-03-01T10:30:00Z"


def scheduled_event(scheduled_time: str = KOLKATA_1600_2026_03_01, execution_id: str = "exec-1",
                    attempt: str = "1") -> dict[str, Any]:
    """The payload EventBridge Scheduler sends for the component's input template."""
    return {"scheduledTime": scheduled_time, "executionId": execution_id, "attemptNumber": attempt,
            "scheduleArn": f"arn:aws:scheduler:{REGION}:123456789012:schedule/default/daily-stats"}


class LambdaContext:
    """The attributes of the Lambda context the runtime reads; the clock is fixed (no wall time)."""

    def __init__(self, remaining_ms: int = 120_000, request_id: str | None = None) -> None:
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.function_name = "daily-stats-fn"
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:daily-stats-fn"
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


@pytest.fixture(name="lambda_context")
def lambda_context_fixture() -> LambdaContext:
    return LambdaContext()


@dataclass
class Aws:
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


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto with a versioned artifact bucket and the ledger table (atomic conditional writes)."""
    from moto import mock_aws

    from sandbox.aws import atomic_dynamodb

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(key, value)
    with mock_aws(), atomic_dynamodb():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_ledger_table(dynamodb)
        yield Aws(s3=s3, dynamodb=dynamodb)
