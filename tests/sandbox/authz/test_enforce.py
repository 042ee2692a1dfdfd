"""IAM enforcement inside moto: role sessions, identity + resource policies, implicit KMS, AWS's errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.authz.enforce import Enforcer, Session

ACCOUNT, REGION = "123456789012", "ap-south-1"
VERSION = "2012-10-17"


def admin(service: str) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def as_session(service: str, session: Session) -> Any:
    return boto3.client(service, region_name=REGION, aws_access_key_id=session.access_key_id,
                        aws_secret_access_key=session.secret_access_key, aws_session_token=session.session_token)


def trust(service: str = "lambda.amazonaws.com", **condition: Any) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": VERSION, "Statement": [statement]})


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    with mock_aws():
        iam, s3, kms = admin("iam"), admin("s3"), admin("kms")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket="raw-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_encryption(Bucket="raw-bucket", ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
        s3.put_object(Bucket="raw-bucket", Key="in/a.csv", Body=b"a,b\n")
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=trust())["Role"]["Arn"]
        enforcer = Enforcer(ACCOUNT, REGION)
        with enforcer.installed():
            yield {"iam": iam, "s3": s3, "key": key, "role": role, "enforcer": enforcer}


def grant(world: dict[str, Any], *statements: dict[str, Any]) -> Session:
    world["iam"].put_role_policy(RoleName="fn-role", PolicyName="fn-policy",
                                 PolicyDocument=json.dumps({"Version": VERSION, "Statement": list(statements)}))
    enforcer: Enforcer = world["enforcer"]
    return enforcer.role_session(world["role"], "fn", service="lambda.amazonaws.com")


def denied(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response)


def test_get_object_allowed_with_implicit_kms_decrypt(world: dict[str, Any]) -> None:
    session = grant(world, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-bucket/in/*"},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": world["key"]})
    assert as_session("s3", session).get_object(Bucket="raw-bucket", Key="in/a.csv")["Body"].read() == b"a,b\n"
    used = [(r.action, r.allowed) for r in world["enforcer"].records if r.service != "sts"]
    assert used == [("s3:GetObject", True), ("kms:Decrypt", True)]


def test_missing_kms_decrypt_denies_the_get(world: dict[str, Any]) -> None:
    session = grant(world, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-bucket/*"})
    error = denied(lambda: as_session("s3", session).get_object(Bucket="raw-bucket", Key="in/a.csv"))
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f'kms:Decrypt on resource: "{world["key"]}"' in error["Error"]["Message"]
    assert error["Error"]["Message"].startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn ")


def test_sse_kms_put_needs_generate_data_key(world: dict[str, Any]) -> None:
    session = grant(world, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::raw-bucket/*"})
    error = denied(lambda: as_session("s3", session).put_object(Bucket="raw-bucket", Key="out/x", Body=b"1"))
    assert "kms:GenerateDataKey" in error["Error"]["Message"]
    assert "out/x" not in [o["Key"] for o in world["s3"].list_objects_v2(Bucket="raw-bucket").get("Contents", [])]


def test_list_bucket_with_prefix_condition(world: dict[str, Any]) -> None:
    session = grant(world, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::raw-bucket",
                            "Condition": {"StringLike": {"s3:prefix": ["in/*"]}}})
    client = as_session("s3", session)
    assert client.list_objects_v2(Bucket="raw-bucket", Prefix="in/")["KeyCount"] == 1
    error = denied(lambda: client.list_objects_v2(Bucket="raw-bucket", Prefix="secret/"))
    assert 's3:ListBucket on resource: "arn:aws:s3:::raw-bucket"' in error["Error"]["Message"]


def test_tls_only_bucket_policy_is_evaluated(world: dict[str, Any]) -> None:
    world["s3"].put_bucket_policy(Bucket="raw-bucket", Policy=json.dumps({"Version": VERSION, "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::raw-bucket", "arn:aws:s3:::raw-bucket/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOtherPrefixes", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "NotResource": "arn:aws:s3:::raw-bucket/in/*"}]}))
    session = grant(world, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    client = as_session("s3", session)
    assert client.get_object(Bucket="raw-bucket", Key="in/a.csv")["Body"].read()
    error = denied(lambda: client.get_object(Bucket="raw-bucket", Key="out/b"))
    assert "explicit deny in a resource-based policy" in error["Error"]["Message"]


def test_json_and_query_services_answer_their_own_error(world: dict[str, Any]) -> None:
    session = grant(world, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    dynamodb = denied(lambda: as_session("dynamodb", session).get_item(TableName="t", Key={"k": {"S": "1"}}))
    assert dynamodb["Error"]["Code"] == "AccessDeniedException"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"
    assert f'dynamodb:GetItem on resource: "{table}"' in dynamodb["Error"]["Message"]
    sns = denied(lambda: as_session("sns", session).publish(TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", Message="m"))
    assert sns["Error"]["Code"] == "AuthorizationError"


def test_queue_policy_allows_a_service_principal_only_from_its_source(world: dict[str, Any]) -> None:
    sqs = admin("sqs")
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": VERSION, "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
    enforcer: Enforcer = world["enforcer"]
    ok = enforcer.service_session("events.amazonaws.com", source_arn=rule)
    as_session("sqs", ok).send_message(QueueUrl=url, MessageBody="x")
    other = enforcer.service_session("events.amazonaws.com", source_arn=f"{rule}-other")
    error = denied(lambda: as_session("sqs", other).send_message(QueueUrl=url, MessageBody="x"))
    assert error["Error"]["Code"] == "AccessDenied"


def test_trust_policy_is_checked_when_a_service_assumes_the_role(world: dict[str, Any]) -> None:
    enforcer: Enforcer = world["enforcer"]
    with pytest.raises(PermissionError, match=r"states\.amazonaws\.com cannot assume"):
        enforcer.role_session(world["role"], "x", service="states.amazonaws.com")


def test_admin_credentials_are_not_checked_and_records_say_who(world: dict[str, Any]) -> None:
    world["s3"].get_object(Bucket="raw-bucket", Key="in/a.csv")
    assert world["enforcer"].records == []


def test_enforcement_off_records_but_allows(world: dict[str, Any]) -> None:
    enforcer: Enforcer = world["enforcer"]
    enforcer.enforce = False
    session = grant(world, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::raw-bucket/*"})
    as_session("s3", session).get_object(Bucket="raw-bucket", Key="in/a.csv")
    assert [r.action for r in enforcer.denied()] == ["s3:GetObject", "kms:Decrypt"]


@pytest.mark.parametrize(("statement", "allowed"), [
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-bucket/in/*"},
     False),
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-bucket/in/*",
      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, True),  # the sandbox's requests count as TLS
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-bucket/out/*"},
     True),
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::raw-bucket/*"}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::raw-bucket/*"}, True),  # an allow for someone else denies no one
])
def test_an_explicit_bucket_policy_deny_binds_callers_without_a_role_session(
        world: dict[str, Any], statement: dict[str, Any], allowed: bool) -> None:
    """Requests signed with plain credentials (the demo's own setup calls) are not authorized as a role, but a
    bucket policy's explicit deny still stops them, as it stops every principal on AWS."""
    world["s3"].put_bucket_policy(Bucket="raw-bucket", Policy=json.dumps({"Version": VERSION,
                                                                          "Statement": [statement]}))
    if allowed:
        assert world["s3"].get_object(Bucket="raw-bucket", Key="in/a.csv")["Body"].read() == b"a,b\n"
    else:
        error = denied(lambda: world["s3"].get_object(Bucket="raw-bucket", Key="in/a.csv"))
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
