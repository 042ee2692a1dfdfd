"""Public access and encryption policies: resource cases (awsguard style) and stack cases."""

from __future__ import annotations

from typing import Any

from tests.policy.helpers import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_STRING_VALUE,
    Case,
    Res,
    messages,
    run_resource,
    run_stack,
)
from tests.policy.props import KEY_ARN, QUEUE_ARN, ROLE_ARN, function, policy_doc, schedule, tls_deny

ALLOW_ROLE = {"Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "s3:GetObject", "Resource": "*"}
OPEN = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
HAPPY_RESOURCE_POLICY = {"bucket": "b", "queueUrl": "q", "policy": policy_doc(tls_deny("s3"), ALLOW_ROLE)}
PUBLIC_NOTE = ("policy", UNKNOWN_STRING_VALUE, "note")
KEY_ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*", "Resource": "*"}
SQS_SEND = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": QUEUE_ARN, "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:x:1:rule/r"}}}
PERMISSION = {"action": "lambda:InvokeFunction", "function": "sciflow-fn", "principal": "events.amazonaws.com",
              "sourceArn": "arn:aws:events:ap-south-1:123456789012:rule/r"}

CASES = [
    Case("s3-bucketpolicy-no-public", "aws:s3/bucketPolicy:BucketPolicy", HAPPY_RESOURCE_POLICY,
         failing=[("policy", policy_doc(OPEN), "allows Principal '*'"),
                  ("policy", policy_doc({**OPEN, "Principal": {"AWS": ["*"]}}), "anyone can use it")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("sqs-queuepolicy-no-public", "aws:sqs/queuePolicy:QueuePolicy", HAPPY_RESOURCE_POLICY,
         failing=[("policy", policy_doc({**OPEN, "Action": "sqs:SendMessage"}), "Queue policy statement #0")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("eventbridge-buspolicy-no-public", "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
         {"policy": policy_doc({**ALLOW_ROLE, "Action": "events:PutEvents"})},
         failing=[("policy", policy_doc({**OPEN, "Action": "events:PutEvents"}), "Event bus policy")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("sns-topicpolicy-no-public", "aws:sns/topicPolicy:TopicPolicy",
         {"arn": "t", "policy": policy_doc({**ALLOW_ROLE, "Action": "sns:Publish"})},
         failing=[("policy", policy_doc({**OPEN, "Action": "sns:Publish"}), "Topic policy statement #0"),
                  ("policy", policy_doc({**OPEN, "Action": "sns:Publish", "Condition": {
                      "IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}), "anyone can use it")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("kms-keypolicy-no-public", "aws:kms/key:Key", {"policy": policy_doc(KEY_ROOT)},
         failing=[("policy", policy_doc(KEY_ROOT, {**OPEN, "Action": "kms:Decrypt"}), "Key policy statement #1"),
                  ("policy", policy_doc({**KEY_ROOT, "Principal": {"AWS": "*"}}), "Principal '*'"),
                  ("policy", policy_doc({**OPEN, "Action": "kms:Decrypt", "Condition": {
                      "StringLike": {"kms:CallerAccount": "*"}}}), "anyone can use it")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("secretsmanager-secretpolicy-no-public", "aws:secretsmanager/secretPolicy:SecretPolicy",
         {"secretArn": "s", "policy": policy_doc({**ALLOW_ROLE, "Action": "secretsmanager:GetSecretValue"})},
         failing=[("policy", policy_doc({"Effect": "Allow", "NotPrincipal": {"AWS": ROLE_ARN},
                                         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                   "allows NotPrincipal")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("aws-resourcepolicy-no-all-actions", "aws:sqs/queuePolicy:QueuePolicy",
         {"queueUrl": "q", "policy": policy_doc(tls_deny("sqs"), SQS_SEND)},
         failing=[("policy", policy_doc({**SQS_SEND, "Action": "*"}), "allows every action (*) to events.amazonaws"),
                  ("policy", policy_doc({**SQS_SEND, "Action": "sqs:*"}), "every action (sqs:*)"),
                  ("policy", policy_doc({**SQS_SEND, "Action": ["sqs:SendMessage", "SQS:*"]}), "(SQS:*)"),
                  ("policy", policy_doc({**{k: v for k, v in SQS_SEND.items() if k != "Action"},
                                         "NotAction": "sqs:DeleteQueue"}), "every action (NotAction)")],
         missing=("policy", None), unknown=PUBLIC_NOTE),
    Case("sns-topic-encryption", "aws:sns/topic:Topic", {"name": "alarms", "kmsMasterKeyId": KEY_ARN},
         failing=[("kmsMasterKeyId", None, "Topic messages are stored unencrypted")],
         missing=("kmsMasterKeyId", "unencrypted"), unknown=("kmsMasterKeyId", UNKNOWN_STRING_VALUE, "pass")),
    Case("secretsmanager-secret-cmk", "aws:secretsmanager/secret:Secret", {"name": "db", "kmsKeyId": KEY_ARN},
         failing=[("kmsKeyId", None, "AWS managed key aws/secretsmanager"),
                  ("kmsKeyId", "alias/aws/secretsmanager", "AWS managed key")],
         missing=("kmsKeyId", "AWS managed key"), unknown=("kmsKeyId", UNKNOWN_STRING_VALUE, "pass")),
    Case("s3-bucket-no-public-acl", "aws:s3/bucketAcl:BucketAcl", {"bucket": "b", "acl": "private"},
         failing=[("acl", "public-read", "ACL 'public-read'"),
                  ("accessControlPolicy", {"grants": [{"grantee": {
                      "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                      "permission": "READ"}], "owner": {"id": "o"}}, "grants READ to")],
         missing=("acl", None), unknown=("acl", UNKNOWN_STRING_VALUE, "note")),
    Case("lambda-functionurl-auth", "aws:lambda/functionUrl:FunctionUrl",
         {"functionName": "sciflow-fn", "authorizationType": "AWS_IAM"},
         failing=[("authorizationType", "NONE", "authorizationType is NONE")],
         missing=("authorizationType", None), unknown=("authorizationType", UNKNOWN_STRING_VALUE, "note")),
    Case("lambda-permission-no-public", "aws:lambda/permission:Permission", PERMISSION,
         failing=[("principal", "*", "principal '*'"), ("functionUrlAuthType", "NONE", "functionUrlAuthType")],
         missing=("principal", None), unknown=("principal", UNKNOWN_STRING_VALUE, "note")),
    Case("lambda-permission-source-restricted", "aws:lambda/permission:Permission", PERMISSION,
         failing=[("sourceArn", None, "neither sourceArn nor sourceAccount")],
         missing=("principal", None), unknown=("sourceArn", UNKNOWN_STRING_VALUE, "pass")),
    Case("sqs-queue-encryption", "aws:sqs/queue:Queue", {"kmsMasterKeyId": KEY_ARN, "name": "q"},
         failing=[("kmsMasterKeyId", None, "Queue encryption is not set")],
         missing=("kmsMasterKeyId", "not set"), unknown=("kmsMasterKeyId", UNKNOWN_STRING_VALUE, "pass")),
    Case("dynamodb-table-cmk", "aws:dynamodb/table:Table",
         {"name": "ledger", "serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}},
         failing=[("serverSideEncryption.enabled", False, "AWS-owned key"),
                  ("serverSideEncryption.kmsKeyArn", None, "AWS managed key")],
         missing=("serverSideEncryption", "AWS-owned key"),
         unknown=("serverSideEncryption.kmsKeyArn", UNKNOWN_STRING_VALUE, "pass"),
         config=({"requireCustomerManagedKey": False}, "serverSideEncryption.kmsKeyArn", None, 0)),
    Case("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": True, "description": "k"},
         failing=[("enableKeyRotation", False, "without automatic rotation")],
         missing=("enableKeyRotation", "without automatic rotation"),
         unknown=("enableKeyRotation", UNKNOWN_BOOLEAN_VALUE, "pass")),
    Case("cloudwatch-loggroup-kms", "aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY_ARN, "retentionInDays": 30},
         failing=[("kmsKeyId", None, "CloudWatch service key")], missing=("kmsKeyId", "service key"),
         unknown=("kmsKeyId", UNKNOWN_STRING_VALUE, "pass")),
    Case("lambda-function-env-kms", "aws:lambda/function:Function", function(),
         failing=[("kmsKeyArn", None, "no kms_key_arn")], missing=("kmsKeyArn", "no kms_key_arn"),
         unknown=("kmsKeyArn", UNKNOWN_STRING_VALUE, "pass")),
    Case("scheduler-schedule-kms", "aws:scheduler/schedule:Schedule", schedule(),
         failing=[("kmsKeyArn", None, "AWS-owned key")], missing=("kmsKeyArn", "AWS-owned key"),
         unknown=("kmsKeyArn", UNKNOWN_STRING_VALUE, "pass")),
    Case("lambda-function-env-no-secrets", "aws:lambda/function:Function", function(),
         failing=[("environment.variables.DB_PASSWORD", "hunter2", "DB_PASSWORD looks like a secret"),
                  ("environment.variables.NOTES", "key AKIAABCDEFGHIJKLMNOP", "NOTES holds what looks like"),
                  ("environment.variables.DB_PASS", "hunter2", "DB_PASS looks like a secret"),
                  ("environment.variables.DATABASE_URL", "postgres://etl:s3cr3t@db.internal:5432/x",
                   "DATABASE_URL holds what looks like a credential"),
                  ("environment.variables.SLACK_VERIFICATION_CODE", "8f2a", "SLACK_VERIFICATION_CODE looks like"),
                  ("environment.variables.GH_TOKEN", "ghp_" + "a" * 36, "GH_TOKEN holds what looks like")],
         missing=("environment", None),
         unknown=("environment.variables.LEDGER_TABLE", UNKNOWN_STRING_VALUE, "pass")),
]


def test_star_principal_with_restricting_condition_is_not_public() -> None:
    scoped = {**OPEN, "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    assert run_resource("s3-bucketpolicy-no-public", "aws:s3/bucketPolicy:BucketPolicy",
                        {"policy": policy_doc(scoped)}) == []


def test_resource_policies_are_checked_inline_and_on_alias_types() -> None:
    for type_ in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:sqs/queue:Queue", "aws:sns/topic:Topic",
                  "aws:secretsmanager/secret:Secret", "aws:kms/keyPolicy:KeyPolicy"):
        policy = {"aws:s3/bucket:Bucket": "s3-bucketpolicy-no-public", "aws:s3/bucketV2:BucketV2":
                  "s3-bucketpolicy-no-public", "aws:sqs/queue:Queue": "sqs-queuepolicy-no-public",
                  "aws:sns/topic:Topic": "sns-topicpolicy-no-public", "aws:secretsmanager/secret:Secret":
                  "secretsmanager-secretpolicy-no-public", "aws:kms/keyPolicy:KeyPolicy": "kms-keypolicy-no-public"
                  }[type_]
        found = run_resource(policy, type_, {"policy": policy_doc(OPEN)})
        assert len(found) == 1 and found[0].enforcement == "mandatory", (type_, messages(found))


def test_key_policy_root_delegation_is_not_all_actions() -> None:
    assert run_resource("aws-resourcepolicy-no-all-actions", "aws:kms/key:Key", {"policy": policy_doc(KEY_ROOT)}) == []
    found = run_resource("aws-resourcepolicy-no-all-actions", "aws:kms/key:Key",
                         {"policy": policy_doc({**KEY_ROOT, "Principal": {"Service": "logs.amazonaws.com"}})})
    assert len(found) == 1 and "Key policy statement 'Root'" in found[0].message


def test_deny_statements_are_never_public_or_all_actions() -> None:
    deny = {**OPEN, "Effect": "Deny", "Action": "s3:*"}
    props = {"policy": policy_doc(deny)}
    assert run_resource("s3-bucketpolicy-no-public", "aws:s3/bucketPolicy:BucketPolicy", props) == []
    assert run_resource("aws-resourcepolicy-no-all-actions", "aws:s3/bucketPolicy:BucketPolicy", props) == []


def test_queue_require_kms_config_rejects_sqs_managed_sse() -> None:
    props = {"sqsManagedSseEnabled": True}
    queue = "aws:sqs/queue:Queue"
    assert run_resource("sqs-queue-encryption", queue, props) == []
    found = run_resource("sqs-queue-encryption", queue, props, config={"requireKms": True})
    assert len(found) == 1 and "requireKms" in found[0].message


def test_asymmetric_keys_need_no_rotation() -> None:
    assert run_resource("kms-key-rotation", "aws:kms/key:Key", {"keySpec": "RSA_2048"}) == []


def test_secret_references_are_not_secrets() -> None:
    env = {"environment": {"variables": {"DB_PASSWORD_ARN": "arn:aws:secretsmanager:x:1:secret:db",
                                         "API_TOKEN": "{{resolve:ssm:/x}}", "PASSTHROUGH_MODE": "on",
                                         "DOCS_URL": "https://example.com/a:b", "COMPASS": "north"}}}
    assert run_resource("lambda-function-env-no-secrets", "aws:lambda/function:Function", function(**env)) == []


# --------------------------------------------------------------------------- stack policies
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
FLAGS = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}


def bucket(name: str) -> Res:
    return Res(BUCKET, name, {"id": f"{name}-123", "bucket": f"{name}-123", "arn": f"arn:aws:s3:::{name}-123"})


def side(type_: str, name: str, of: str, props: dict[str, Any], *, by_dep: bool = True) -> Res:
    """A bucket side resource linked by property dependency (as the engine sends it) or only by value."""
    return Res(type_, name, {"bucket": f"{of}-123", **props}, deps={"bucket": [of]} if by_dep else {})


def urns(found: list[Any]) -> set[str]:
    return {v.urn for v in found}


def test_public_access_block_per_bucket() -> None:
    resources = [bucket("raw"), side(PAB, "raw-pab", "raw", FLAGS), bucket("out"),
                 side(PAB, "out-pab", "out", {**FLAGS, "blockPublicPolicy": False}, by_dep=False), bucket("logs")]
    found = run_stack("s3-bucket-public-access-block", resources)
    assert urns(found) == {resources[2].urn, resources[4].urn}, messages(found)
    assert "leaves blockPublicPolicy off" in messages(found)
    assert "has no BucketPublicAccessBlock" in messages(found)
    assert all(v.enforcement == "mandatory" for v in found)


def test_public_access_block_unknown_flag_counts_as_set() -> None:
    resources = [bucket("raw"), side(PAB, "raw-pab", "raw", {**FLAGS, "blockPublicAcls": UNKNOWN_BOOLEAN_VALUE})]
    assert run_stack("s3-bucket-public-access-block", resources) == []


def test_ownership_enforced_is_advisory() -> None:
    resources = [bucket("raw"), side(OWNERSHIP, "raw-own", "raw", {"rule": {"objectOwnership": "ObjectWriter"}}),
                 bucket("ok"), side(OWNERSHIP, "ok-own", "ok", {"rule": {"objectOwnership": "BucketOwnerEnforced"}})]
    found = run_stack("s3-bucket-ownership-enforced", resources)
    assert urns(found) == {resources[0].urn} and found[0].enforcement == "advisory"
    assert "ObjectWriter" in found[0].message


def sse(of: str, algo: str) -> Res:
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": algo, "kmsMasterKeyId": KEY_ARN},
            "bucketKeyEnabled": True}
    return side(SSE, f"{of}-sse", of, {"rules": [rule]})


def test_bucket_encryption_kms_required_by_default() -> None:
    resources = [bucket("kms"), sse("kms", "aws:kms"), bucket("aes"), sse("aes", "AES256"), bucket("none")]
    found = run_stack("s3-bucket-encryption", resources)
    assert urns(found) == {resources[2].urn, resources[4].urn}, messages(found)
    relaxed = run_stack("s3-bucket-encryption", resources, config={"requireKms": False})
    assert urns(relaxed) == set()  # no configuration is the AWS default AES256: the same verdict as explicit


def test_bucket_encryption_inline_and_side_resource_get_equal_verdicts() -> None:
    inline_aes = Res(BUCKET, "inline-aes", {"id": "ia", "bucket": "ia", "serverSideEncryptionConfiguration": {
        "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}})
    v2_aes = Res("aws:s3/bucketV2:BucketV2", "v2-aes", {"id": "va", "bucket": "va",
                                                         "serverSideEncryptionConfigurations": [{"rules": [{
                                                             "applyServerSideEncryptionByDefaults": [
                                                                 {"sseAlgorithm": "AES256"}]}]}]})
    inline_kms = Res(BUCKET, "inline-kms", {"id": "ik", "bucket": "ik", "serverSideEncryptionConfiguration": {
        "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}}})
    resources = [bucket("aes"), sse("aes", "AES256"), inline_aes, v2_aes, inline_kms]
    found = run_stack("s3-bucket-encryption", resources)
    assert urns(found) == {resources[0].urn, inline_aes.urn, v2_aes.urn}, messages(found)
    assert all("'AES256'" in v.message for v in found)


def test_bucket_tls_only() -> None:
    good = policy_doc(tls_deny("s3", "arn:aws:s3:::good-123/*"))
    weak = policy_doc({**tls_deny("s3"), "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    resources = [bucket("good"), side(BUCKET_POLICY, "good-pol", "good", {"policy": good}),
                 bucket("weak"), side(BUCKET_POLICY, "weak-pol", "weak", {"policy": weak}), bucket("bare")]
    found = run_stack("s3-bucket-tls-only", resources)
    assert urns(found) == {resources[2].urn, resources[4].urn}, messages(found)
    assert "does not deny requests without TLS" in found[0].message


def test_bucket_tls_only_unknown_policy_is_noted_not_passed() -> None:
    resources = [bucket("new"), side(BUCKET_POLICY, "new-pol", "new", {"policy": UNKNOWN_STRING_VALUE})]
    found = run_stack("s3-bucket-tls-only", resources)
    assert len(found) == 1 and found[0].enforcement == "advisory" and "can't run policy" in found[0].message


def test_queue_tls_only() -> None:
    queue = Res("aws:sqs/queue:Queue", "dlq", {"id": "https://sqs/q", "url": "https://sqs/q", "arn": QUEUE_ARN})
    bare = Res("aws:sqs/queue:Queue", "bare", {"id": "https://sqs/b", "url": "https://sqs/b", "arn": QUEUE_ARN + "b"})
    policy = Res("aws:sqs/queuePolicy:QueuePolicy", "dlq-pol",
                 {"queueUrl": "https://sqs/q", "policy": policy_doc(tls_deny("sqs", QUEUE_ARN))})
    found = run_stack("sqs-queue-tls-only", [queue, bare, policy])
    assert urns(found) == {bare.urn}, messages(found)
