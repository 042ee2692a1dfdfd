"""API call -> IAM requests from AWS's service authorization data; AWS's denial errors per protocol."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from requests.structures import CaseInsensitiveDict

from sandbox.authz import catalog
from sandbox.authz.calls import ApiCall, NoFacts, authorizations
from sandbox.authz.conditions import condition_block_holds
from sandbox.authz.errors import denial_message, error_response
from sandbox.authz.policy import AuthRequest, Decision, Principal

R, A = "ap-south-1", "123456789012"
ROLE = Principal(f"arn:aws:sts::{A}:assumed-role/fn-role/fn", role_arn=f"arn:aws:iam::{A}:role/fn-role")
KEY = f"arn:aws:kms:{R}:{A}:key/1234"


def pairs(service: str, operation: str, params: dict[str, Any], facts: Any = None) -> list[tuple[str, str]]:
    return [(r.action, r.resource) for r in authorizations(ApiCall(service, operation, params, R, A), ROLE, facts)]


@pytest.mark.parametrize(("service", "operation", "params", "expected"), [
    ("s3", "GetObject", {"Bucket": "b", "Key": "in/a.csv"}, [("s3:GetObject", "arn:aws:s3:::b/in/a.csv")]),
    ("s3", "GetObject", {"Bucket": "b", "Key": "a", "VersionId": "v1"}, [("s3:GetObjectVersion", "arn:aws:s3:::b/a")]),
    ("s3", "HeadObject", {"Bucket": "b", "Key": "a"}, [("s3:GetObject", "arn:aws:s3:::b/a")]),
    ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "p/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("s3", "PutObject", {"Bucket": "b", "Key": "o/x.json"}, [("s3:PutObject", "arn:aws:s3:::b/o/x.json")]),
    ("s3", "DeleteObject", {"Bucket": "b", "Key": "a", "VersionId": "v"},
     [("s3:DeleteObjectVersion", "arn:aws:s3:::b/a")]),
    ("s3", "CopyObject", {"Bucket": "d", "Key": "k", "CopySource": "s/src.csv"},
     [("s3:PutObject", "arn:aws:s3:::d/k"), ("s3:GetObject", "arn:aws:s3:::s/src.csv")]),
    ("dynamodb", "UpdateItem", {"TableName": "ledger"},
     [("dynamodb:UpdateItem", f"arn:aws:dynamodb:{R}:{A}:table/ledger")]),
    ("dynamodb", "BatchGetItem", {"RequestItems": {"b": {}, f"arn:aws:dynamodb:{R}:{A}:table/a": {}}},
     [("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{R}:{A}:table/a"),
      ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{R}:{A}:table/b")]),
    ("dynamodb", "BatchWriteItem", {"RequestItems": {"runs": []}},
     [("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:{R}:{A}:table/runs")]),
    ("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t"}}, {"Update": {"TableName": "t"}}, {"Delete": {"TableName": "u"}},
        {"ConditionCheck": {"TableName": "t"}}, {"Put": {"TableName": "t"}}]},
     [("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:{R}:{A}:table/t"),
      ("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{A}:table/t"),
      ("dynamodb:UpdateItem", f"arn:aws:dynamodb:{R}:{A}:table/t"),
      ("dynamodb:DeleteItem", f"arn:aws:dynamodb:{R}:{A}:table/u")]),
    ("dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "t"}}]},
     [("dynamodb:GetItem", f"arn:aws:dynamodb:{R}:{A}:table/t")]),
    ("lambda", "Invoke", {"FunctionName": "f"}, [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{A}:function:f")]),
    ("lambda", "Invoke", {"FunctionName": f"arn:aws:lambda:{R}:{A}:function:f:live"},
     [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{A}:function:f:live")]),
    ("lambda", "Invoke", {"FunctionName": "f", "Qualifier": "3"},
     [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{A}:function:f:3")]),
    ("sqs", "SendMessage", {"QueueUrl": f"https://sqs.{R}.amazonaws.com/{A}/dlq", "MessageBody": "x"},
     [("sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:dlq")]),
    ("stepfunctions", "StartExecution", {"stateMachineArn": f"arn:aws:states:{R}:{A}:stateMachine:m", "name": "n"},
     [("states:StartExecution", f"arn:aws:states:{R}:{A}:stateMachine:m")]),
    ("stepfunctions", "DescribeExecution", {"executionArn": f"arn:aws:states:{R}:{A}:execution:m:e1"},
     [("states:DescribeExecution", f"arn:aws:states:{R}:{A}:execution:m:e1")]),
    ("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/f", "logStreamName": "s", "logEvents": []},
     [("logs:PutLogEvents", f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/f:log-stream:s")]),
    ("sns", "Publish", {"TopicArn": f"arn:aws:sns:{R}:{A}:alerts", "Message": "m"},
     [("sns:Publish", f"arn:aws:sns:{R}:{A}:alerts")]),
    ("kms", "Decrypt", {"KeyId": KEY}, [("kms:Decrypt", KEY)]),
    ("xray", "PutTraceSegments", {"TraceSegmentDocuments": []}, [("xray:PutTraceSegments", "*")]),
    ("sts", "GetCallerIdentity", {}, [("sts:GetCallerIdentity", "*")]),
])
def test_actions_and_resources(service: str, operation: str, params: dict[str, Any],
                               expected: list[tuple[str, str]]) -> None:
    assert pairs(service, operation, params) == expected


def test_unknown_operation_is_reported() -> None:
    with pytest.raises(catalog.UnknownAction):
        catalog.privileges_for("s3", "NoSuchOperation", {})


def test_request_condition_keys_from_the_model() -> None:
    call = ApiCall("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "staging/r1/", "Delimiter": "/"}, R, A)
    [request] = authorizations(call, ROLE)
    assert request.context["s3:prefix"] == "staging/r1/"
    assert request.context["s3:delimiter"] == "/"
    assert request.context["aws:SecureTransport"] == "true"
    assert request.context["aws:RequestedRegion"] == R
    put = authorizations(ApiCall("s3", "PutObject", {"Bucket": "b", "Key": "k", "IfNoneMatch": "*"}, R, A), ROLE)
    assert put[0].context["s3:if-none-match"] == "*"


def test_the_sandbox_account_owns_every_resource() -> None:
    """A write pinned to its bucket's owner (s3:ResourceAccount, as sciflow outputs into external buckets are) holds
    for the sandbox's account and fails for another."""
    [put] = authorizations(ApiCall("s3", "PutObject", {"Bucket": "drop-zone", "Key": "in/a.csv"}, R, A), ROLE)
    assert put.context["s3:ResourceAccount"] == put.context["aws:ResourceAccount"] == A
    assert condition_block_holds({"StringEquals": {"s3:ResourceAccount": A}}, put.context)
    assert not condition_block_holds({"StringEquals": {"s3:ResourceAccount": "210987654321"}}, put.context)
    [send] = authorizations(ApiCall("sqs", "SendMessage", {"QueueUrl": f"https://sqs.{R}.amazonaws.com/{A}/q",
                                                            "MessageBody": "x"}, R, A), ROLE)
    assert send.context["aws:ResourceAccount"] == A and "s3:ResourceAccount" not in send.context


class Facts(NoFacts):
    def kms_key_arn(self, key_id: str, region: str) -> str | None:
        return KEY if key_id in (KEY, "1234", "alias/data") else None

    def bucket_encryption(self, bucket: str) -> tuple[str | None, bool]:
        return ("alias/data", bucket == "bk") if bucket in ("enc", "bk") else (None, False)

    def object_kms_key(self, bucket: str, key: str, version_id: str | None) -> str | None:
        return "1234" if bucket in ("enc", "bk") else None

    def table_kms_key(self, table: str, region: str) -> str | None:
        return "alias/data" if table.startswith("sealed") and region == R else None

    def topic_kms_key(self, topic_arn: str) -> str | None:
        return KEY if topic_arn.endswith(":sealed") else None

    def queue_kms_key(self, queue_url: str) -> str | None:
        return KEY if queue_url.endswith("/dlq") else None


def test_sse_kms_put_needs_generate_data_key_with_context() -> None:
    requests = authorizations(ApiCall("s3", "PutObject", {"Bucket": "enc", "Key": "o/a"}, R, A), ROLE, Facts())
    assert [(r.action, r.resource) for r in requests] == [("s3:PutObject", "arn:aws:s3:::enc/o/a"),
                                                        ("kms:GenerateDataKey", KEY)]
    kms = requests[1].context
    assert kms["kms:ViaService"] == f"s3.{R}.amazonaws.com"
    assert kms["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::enc/o/a"


def test_bucket_key_uses_the_bucket_arn_as_context() -> None:
    requests = authorizations(ApiCall("s3", "GetObject", {"Bucket": "bk", "Key": "a"}, R, A), ROLE, Facts())
    assert requests[1].action == "kms:Decrypt"
    assert requests[1].context["kms:EncryptionContext:aws:s3:arn"] == "arn:aws:s3:::bk"


def test_unencrypted_bucket_needs_no_kms() -> None:
    expected = [("s3:PutObject", "arn:aws:s3:::plain/a")]
    assert pairs("s3", "PutObject", {"Bucket": "plain", "Key": "a"}, Facts()) == expected


def test_encrypted_queue_send_needs_both_kms_actions() -> None:
    url = f"https://sqs.{R}.amazonaws.com/{A}/dlq"
    assert pairs("sqs", "SendMessage", {"QueueUrl": url, "MessageBody": "x"}, Facts())[1:] == [
        ("kms:GenerateDataKey", KEY), ("kms:Decrypt", KEY)]


TABLE_ARN = f"arn:aws:dynamodb:{R}:{A}:table/sealed-runs"


@pytest.mark.parametrize(("operation", "params", "tables"), [
    ("GetItem", {"TableName": "sealed-runs"}, ["sealed-runs"]),
    ("UpdateItem", {"TableName": TABLE_ARN}, ["sealed-runs"]),  # a table named by its ARN
    ("PutItem", {"TableName": "plain"}, []),
    ("BatchGetItem", {"RequestItems": {"plain": {}, "sealed-b": {}, "sealed-a": {}}}, ["sealed-a", "sealed-b"]),
    ("BatchWriteItem", {"RequestItems": {TABLE_ARN: []}}, ["sealed-runs"]),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "sealed-a"}}, {"Update": {"TableName": "plain"}},
                                              {"ConditionCheck": {"TableName": TABLE_ARN}}]},
     ["sealed-a", "sealed-runs"]),
    ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "sealed-x"}}, {"Get": {"TableName": "sealed-x"}}]},
     ["sealed-x"]),
    ("DescribeTable", {"TableName": "sealed-runs"}, []),  # not an item call: no data key used
])
def test_items_of_a_table_under_a_customer_key_need_kms_decrypt_per_table(
        operation: str, params: dict[str, Any], tables: list[str]) -> None:
    requests = authorizations(ApiCall("dynamodb", operation, params, R, A), ROLE, Facts())
    kms = [r for r in requests if r.action.startswith("kms:")]
    assert [(r.action, r.resource) for r in kms] == [("kms:Decrypt", KEY)] * len(tables)
    assert [r.context["kms:EncryptionContext:aws:dynamodb:tableName"] for r in kms] == tables
    for request in kms:
        assert request.context["kms:EncryptionContext:aws:dynamodb:subscriberId"] == A
        assert request.context["kms:ViaService"] == f"dynamodb.{R}.amazonaws.com"
        assert request.context["kms:CallerAccount"] == A


def test_a_topic_under_a_customer_key_needs_both_kms_actions() -> None:
    topic = f"arn:aws:sns:{R}:{A}:sealed"
    requests = authorizations(ApiCall("sns", "Publish", {"TopicArn": topic, "Message": "m"}, R, A), ROLE, Facts())
    assert [(r.action, r.resource) for r in requests[1:]] == [("kms:GenerateDataKey", KEY), ("kms:Decrypt", KEY)]
    assert requests[1].context["kms:EncryptionContext:aws:sns:topicArn"] == topic
    assert pairs("sns", "Publish", {"TopicArn": f"arn:aws:sns:{R}:{A}:plain", "Message": "m"}, Facts()) == [
        ("sns:Publish", f"arn:aws:sns:{R}:{A}:plain")]


def _decision(service_action: str = "s3:GetObject") -> Decision:
    request = AuthRequest(ROLE, service_action, "arn:aws:s3:::b/k")
    reason = f"because no identity-based policy allows the {service_action} action"
    return Decision(request, "implicit-deny", (), reason)


def test_denial_message_names_principal_action_and_resource() -> None:
    assert denial_message(_decision()) == (
        f'User: {ROLE.arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" '
        "because no identity-based policy allows the s3:GetObject action")


@pytest.mark.parametrize(("service", "operation", "code", "status"), [
    ("s3", "GetObject", "AccessDenied", 403),
    ("sqs", "SendMessage", "AccessDenied", 403),
    ("sns", "Publish", "AuthorizationError", 403),
    ("dynamodb", "GetItem", "AccessDeniedException", 400),
    ("kms", "Decrypt", "AccessDeniedException", 400),
    ("lambda", "Invoke", "AccessDeniedException", 403),
    ("stepfunctions", "StartExecution", "AccessDeniedException", 400),
    ("logs", "PutLogEvents", "AccessDeniedException", 400),
    ("sts", "AssumeRole", "AccessDenied", 403),
])
def test_error_response_parses_as_botocore_client_error(service: str, operation: str, code: str, status: int) -> None:
    model = botocore.session.get_session().get_service_model(service)
    status_code, headers, body = error_response(service, model.protocol, "User: x is not authorized")
    response = {"status_code": status_code, "headers": CaseInsensitiveDict(headers), "body": body}
    parsed = create_parser(model.protocol).parse(response, model.operation_model(operation).output_shape)
    assert status_code == status
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == "User: x is not authorized"


def test_ssm_parameters_are_authorized_per_name_and_public_ones_have_no_account() -> None:
    assert pairs("ssm", "GetParametersByPath", {"Path": "/aws/service/global-infrastructure/regions",
                                                   "Recursive": False}) == [
        ("ssm:GetParametersByPath", f"arn:aws:ssm:{R}::parameter/aws/service/global-infrastructure/regions")]
    assert pairs("ssm", "GetParameters", {"Names": ["/app/a", "/app/b:2"]}) == [
        ("ssm:GetParameters", f"arn:aws:ssm:{R}:{A}:parameter/app/a"),
        ("ssm:GetParameters", f"arn:aws:ssm:{R}:{A}:parameter/app/b")]
    assert pairs("ssm", "GetParameter", {"Name": f"arn:aws:ssm:{R}:{A}:parameter/app/a:label"}) == [
        ("ssm:GetParameter", f"arn:aws:ssm:{R}:{A}:parameter/app/a")]
