"""handlers.runtime.objects against an S3 that answers like AWS: a missing key is 403 without s3:ListBucket.

The embedded AWS's :mod:`sandbox.authz.missing_keys` makes moto evaluate the caller role's policies for the two answers
that depend on them (missing-key reads, listings); each case creates a role with one kind of ListBucket grant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers.runtime.artifacts import ArtifactStore
from handlers.runtime.objects import ObjectAccessDenied, error_code, get_object_or_none, is_missing
from sandbox.authz import missing_keys

BUCKET = "objects-bucket"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
READ = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{BUCKET_ARN}/data/*"}
LIST_PREFIX = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET_ARN,
               "Condition": {"StringLike": {"s3:prefix": "data/*"}}}
LIST_ALL = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET_ARN}


@pytest.fixture
def s3() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        missing_keys.install()
        try:
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key="data/present.json", Body=b'{"a": 1}')
            yield client
        finally:
            missing_keys.uninstall()


def role(*statements: dict[str, Any]) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    name = f"role-{len(iam.list_roles()['Roles'])}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    return str(arn)


def test_missing_key_is_403_without_list_bucket_and_404_with_it(s3: Any) -> None:
    for statements, expected in (((READ,), "AccessDenied"), ((READ, LIST_PREFIX), "AccessDenied"),
                                 ((READ, LIST_ALL), "NoSuchKey")):
        with missing_keys.acting_as(role(*statements)), pytest.raises(ClientError) as err:
            s3.get_object(Bucket=BUCKET, Key="data/missing.json")
        assert error_code(err.value) == expected, statements
    with missing_keys.acting_as(role(READ)), pytest.raises(ClientError) as err:
        s3.head_object(Bucket=BUCKET, Key="data/missing.json")
    assert error_code(err.value) == "403"
    with pytest.raises(ClientError) as err:  # outside a Lambda: the test's own (administrator) credentials
        s3.get_object(Bucket=BUCKET, Key="data/missing.json")
    assert is_missing(err.value)


def test_listing_follows_the_prefix_condition(s3: Any) -> None:
    with missing_keys.acting_as(role(READ, LIST_PREFIX)):
        assert s3.list_objects_v2(Bucket=BUCKET, Prefix="data/present.json")["KeyCount"] == 1
        with pytest.raises(ClientError) as err:
            s3.list_objects_v2(Bucket=BUCKET, Prefix="other/")
        assert error_code(err.value) == "AccessDenied"
        with pytest.raises(ClientError):
            s3.list_objects_v2(Bucket=BUCKET)  # no prefix: the condition cannot hold


@pytest.mark.parametrize("statements", [(READ, LIST_PREFIX), (READ, LIST_ALL)])
def test_missing_object_reads_as_none(s3: Any, statements: tuple[dict[str, Any], ...]) -> None:
    with missing_keys.acting_as(role(*statements)):
        assert get_object_or_none(s3, BUCKET, "data/missing.json") is None
        assert get_object_or_none(s3, BUCKET, "data/present.json")["Body"].read() == b'{"a": 1}'  # type: ignore[index]
        assert ArtifactStore(BUCKET, "data/", client=s3).read_json("data/missing.json") is None


def test_without_any_list_grant_missing_is_a_clear_access_error(s3: Any) -> None:
    with missing_keys.acting_as(role(READ)), pytest.raises(ObjectAccessDenied) as err:
        get_object_or_none(s3, BUCKET, "data/missing.json")
    assert err.value.code == "ObjectAccessDenied"
    assert err.value.message.startswith(f"s3://{BUCKET}/data/missing.json: AccessDenied, and listing the key is "
                                        "denied too")


class _DeniedReads:
    """An S3 client whose reads are refused although the key lists (no s3:GetObject, or no kms:Decrypt)."""

    def get_object(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        return {"Contents": [{"Key": kwargs["Prefix"]}]}


def test_existing_object_with_refused_read_is_not_missing() -> None:
    with pytest.raises(ObjectAccessDenied, match=r"s3://b/k exists but the read was denied"):
        get_object_or_none(_DeniedReads(), "b", "k")
    with pytest.raises(ObjectAccessDenied, match=r"s3://b/k version v1: AccessDenied"):
        get_object_or_none(_DeniedReads(), "b", "k", VersionId="v1")


def test_other_errors_pass_through() -> None:
    class Throttled(_DeniedReads):
        def get_object(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "GetObject")

    with pytest.raises(ClientError, match="SlowDown"):
        get_object_or_none(Throttled(), "b", "k")
    assert error_code(ValueError()) is None


def test_sdk_without_conditional_writes_is_refused_naming_the_version() -> None:
    import botocore

    from handlers.runtime.sdk import SdkTooOld, require_s3_conditional_writes

    class OldModel:
        members = {"Bucket": None, "Key": None, "Body": None}

    class OldClient:
        class meta:  # botocore's attribute names
            class service_model:
                @staticmethod
                def operation_model(name: str) -> object:
                    return type("Op", (), {"input_shape": OldModel})

    expected = rf"^SdkTooOld: botocore {botocore.__version__} has no IfNoneMatch on S3 PutObject; write-once"
    with pytest.raises(SdkTooOld, match=expected + r" artifacts need botocore >= 1\.35\.0"):
        ArtifactStore(BUCKET, client=OldClient()).put_once("k", b"x")
    require_s3_conditional_writes(boto3.client("s3", region_name="us-east-1"))  # the pinned SDK has it
