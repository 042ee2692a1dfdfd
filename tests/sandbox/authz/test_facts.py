"""The resource facts enforcement reads from moto (which key encrypts a bucket, object, queue, table or topic).

They decide the implicit KMS calls a request needs (an SSE-KMS put needs ``kms:GenerateDataKey`` on the key), so
a wrong answer would silently skip a check: each is pinned here on real moto resources, not mocks of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.authz.enforce import MotoFacts

ACCOUNT, REGION, OTHER = "123456789012", "eu-west-1", "us-east-2"


def client(service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def facts() -> Iterator[MotoFacts]:
    with mock_aws():
        yield MotoFacts(ACCOUNT)


def test_kms_key_arn_resolves_ids_aliases_and_arns_in_their_region(facts: MotoFacts) -> None:
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/data", TargetKeyId=key["KeyId"])
    assert facts.kms_key_arn(key["KeyId"], REGION) == key["Arn"]
    assert facts.kms_key_arn("alias/data", REGION) == key["Arn"]
    assert facts.kms_key_arn(key["Arn"], OTHER) == key["Arn"]  # an ARN names its own region
    far = client("kms", OTHER).create_key()["KeyMetadata"]
    assert facts.kms_key_arn(far["Arn"], REGION) == far["Arn"]
    assert facts.kms_key_arn(far["KeyId"], REGION) is None  # a bare id is looked up in the request's region
    assert facts.kms_key_arn("alias/missing", REGION) is None
    assert facts.kms_key_arn("0" * 8 + "-0000-0000-0000-" + "0" * 12, REGION) is None


@pytest.mark.parametrize(("rule", "expected"), [
    (None, (None, False)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}, (None, False)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}, (None, True)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:k"}},
     ("arn:aws:kms:k", False)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:k"},
      "BucketKeyEnabled": True}, ("arn:aws:kms:k", True)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}, ("alias/aws/s3", False)),
    ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse", "KMSMasterKeyID": "k2"}},
     ("k2", False)),
])
def test_bucket_default_encryption(facts: MotoFacts, rule: dict[str, Any] | None,
                                   expected: tuple[str | None, bool]) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
    if rule is not None:
        s3.put_bucket_encryption(Bucket="data", ServerSideEncryptionConfiguration={"Rules": [rule]})
    assert facts.bucket_encryption("data") == expected
    assert facts.bucket_encryption("no-such-bucket") == (None, False)


def test_object_key_is_the_one_of_the_asked_version(facts: MotoFacts) -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="data", Key="a", Body=b"1", ServerSideEncryption="aws:kms",
                          SSEKMSKeyId="arn:aws:kms:first")["VersionId"]
    second = s3.put_object(Bucket="data", Key="a", Body=b"2")["VersionId"]
    third = s3.put_object(Bucket="data", Key="a", Body=b"3", ServerSideEncryption="aws:kms")["VersionId"]
    assert facts.object_kms_key("data", "a", first) == "arn:aws:kms:first"
    assert facts.object_kms_key("data", "a", second) is None
    assert facts.object_kms_key("data", "a", third) == "alias/aws/s3"  # no key named: the AWS managed one
    assert facts.object_kms_key("data", "a", None) == "alias/aws/s3"  # no version: the latest
    s3.put_object(Bucket="data", Key="b", Body=b"x", ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId="k3")
    assert facts.object_kms_key("data", "b", None) == "k3"
    assert facts.object_kms_key("data", "missing", None) is None
    assert facts.object_kms_key("no-such-bucket", "a", None) is None


def test_queue_key_in_any_region(facts: MotoFacts) -> None:
    plain = client("sqs").create_queue(QueueName="plain")["QueueUrl"]
    sealed = client("sqs", OTHER).create_queue(QueueName="sealed", Attributes={"KmsMasterKeyId": "alias/q"})
    assert facts.queue_kms_key(sealed["QueueUrl"]) == "alias/q"
    assert facts.queue_kms_key(sealed["QueueUrl"] + "/") == "alias/q"
    assert facts.queue_kms_key(plain) is None
    assert facts.queue_kms_key("https://sqs.eu-west-1.amazonaws.com/123456789012/missing") is None


@pytest.mark.parametrize(("sse", "expected"), [
    (None, None),
    ({"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "arn:aws:kms:t"}, "arn:aws:kms:t"),
    ({"Enabled": False}, None),
])
def test_table_key(facts: MotoFacts, sse: dict[str, Any] | None, expected: str | None) -> None:
    extra = {"SSESpecification": sse} if sse is not None else {}
    client("dynamodb").create_table(
        TableName="runs", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], **extra)
    assert facts.table_kms_key("runs", REGION) == expected
    assert facts.table_kms_key("runs", OTHER) is None  # tables are regional
    assert facts.table_kms_key("missing", REGION) is None


def test_topic_key(facts: MotoFacts) -> None:
    sns = client("sns")
    sealed = sns.create_topic(Name="sealed", Attributes={"KmsMasterKeyId": "alias/t"})["TopicArn"]
    plain = sns.create_topic(Name="plain")["TopicArn"]
    assert facts.topic_kms_key(sealed) == "alias/t"
    assert facts.topic_kms_key(plain) is None
    assert facts.topic_kms_key(sealed.replace("sealed", "missing")) is None
    assert facts.topic_kms_key("not-an-arn") is None
