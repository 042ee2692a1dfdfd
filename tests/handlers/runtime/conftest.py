"""Fixtures of the handler tests: moto with the scheduled-computation runtime's bucket and ledger."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.support.runtime import REGION, Aws, create_artifact_bucket, create_ledger_table


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[Aws]:
    """moto with a versioned artifact bucket and the ledger table (atomic conditional writes)."""
    from moto import mock_aws

    from sandbox.aws import atomic_dynamodb

    with mock_aws(), atomic_dynamodb():
        s3 = boto3.client("s3", region_name=REGION)
        create_artifact_bucket(s3)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_ledger_table(dynamodb)
        yield Aws(s3=s3, dynamodb=dynamodb)
