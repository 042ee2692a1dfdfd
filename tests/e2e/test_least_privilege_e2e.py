"""Least privilege proven by execution: every statement of a component's role is either needed (removing it
makes the scenario fail with AccessDenied naming its action) or explained in the access report's reasons;
resource policies deny requests outside them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.authz.reasons import RoleFacts, unused_reason
from sandbox.deploy import Deployment
from sandbox.events import invoke_schedule
from synth.graph import Graph
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("least-privilege-e2e")
FIRST_DAY = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("scheduled_e2e", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    with deployed(graph) as deployment:
        yield deployment


def function_role(stack: Deployment, function: str) -> tuple[str, str, dict[str, Any]]:
    """(role name, inline policy name, policy document) of a deployed function's execution role."""
    role_arn = stack.client("lambda").get_function(
        FunctionName=stack.function(function).physical_name)["Configuration"]["Role"]
    iam = stack.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    [policy_name] = iam.list_role_policies(RoleName=name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
    return name, policy_name, document if isinstance(document, dict) else json.loads(document)


def error_paths(stack: Deployment, day: datetime) -> str:
    """The replay and dead-letter paths ``sandbox access`` runs (:mod:`sandbox.scenarios`), on ``day``: the
    text of every failure they met ("" when both ended as they should)."""
    dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")
    table = stack.table("daily-stats-ledger-table").physical_name
    key = {"date": {"S": day.date().isoformat()}, "computation": {"S": "daily-stats"}}
    texts = []
    if dynamodb.get_item(TableName=table, Key=key).get("Item", {}).get("status", {}).get("S") == "SUCCESS":
        dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :f",
                             ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":f": {"S": "FAILED"}})
        replay = invoke_schedule(stack, "daily-stats-schedule", day, attempt=2)
        if not replay.succeeded:
            texts.append(json.dumps(replay.payload))
    queue = stack.queue("daily-stats-dlq-queue").outputs["url"]
    enforcer = stack.aws.enforcer
    assert enforcer is not None
    before = len(enforcer.records)
    stack.client("lambda").invoke(FunctionName=stack.function("daily-stats-fn").physical_name,
                                  InvocationType="Event", Payload=b'{"scheduledTime": "not-a-time"}')
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in got:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    if not got:  # Lambda could not send it (DeadLetterErrors): the denial is in the embedded AWS's record
        texts.append("no dead letter, AccessDenied: " + " ".join(r.message for r in enforcer.records[before:]
                                                                if not r.allowed))
    return "\n".join(texts)


def test_every_statement_of_the_computation_role_is_needed_or_explained(stack: Deployment) -> None:
    """Removing a statement makes the scheduled run, its replay or its dead-lettering fail with AccessDenied
    naming its action; else the statement has a reason (:mod:`sandbox.authz.reasons`)."""
    iam = stack.client("iam")
    role, policy_name, document = function_role(stack, "daily-stats-fn")
    facts = RoleFacts("ScheduledComputation/function", ("lambda.amazonaws.com",))
    statements = document["Statement"]
    assert len(statements) >= 4
    needed, explained = [], []
    for offset, statement in enumerate(statements):
        day = FIRST_DAY + timedelta(days=offset)
        reduced = {**document, "Statement": [s for s in statements if s is not statement]}
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(reduced))
        try:
            result = invoke_schedule(stack, "daily-stats-schedule", day)
            text = json.dumps(result.payload) + "\n".join(line for inv in result.invocations for line in inv.log_lines)
            if result.succeeded:
                text = error_paths(stack, day)
        finally:
            iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not text:
            assert unused_reason(statement, facts)[1], f"{statement.get('Sid')} is granted but never needed"
            explained.append(statement.get("Sid"))
            continue
        assert "AccessDenied" in text, (statement.get("Sid"), text[:2000])
        assert any(action in text for action in actions), (statement.get("Sid"), text[:2000])
        needed.append(statement.get("Sid"))
    assert needed, "no statement was proven necessary: enforcement is not biting"
    assert {"ReadBackArtifacts", "SendToDeadLetterQueue", "UseKey"} <= set(needed), needed
    # with the full policy back, the computation succeeds again
    assert invoke_schedule(stack, "daily-stats-schedule", FIRST_DAY + timedelta(days=len(statements))).succeeded


def test_tls_only_bucket_policy_denies_plain_http(stack: Deployment) -> None:
    enforcer = stack.aws.enforcer
    assert enforcer is not None
    bucket = stack.bucket("daily-stats-artifacts-bucket").physical_name
    policy, _ = enforcer.resource_policy(f"arn:aws:s3:::{bucket}/any")
    assert policy is not None
    from sandbox.authz.policy import AuthRequest, Principal, evaluate

    role = "arn:aws:iam::123456789012:role/reader"
    principal = Principal("arn:aws:sts::123456789012:assumed-role/reader/s", role_arn=role)
    grant = [policy.parse("grant", {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})]
    over_tls = AuthRequest(principal, "s3:GetObject", f"arn:aws:s3:::{bucket}/k", {"aws:SecureTransport": "true"})
    plain = AuthRequest(principal, "s3:GetObject", f"arn:aws:s3:::{bucket}/k", {"aws:SecureTransport": "false"})
    assert evaluate(over_tls, grant, policy).allowed
    assert evaluate(plain, grant, policy).outcome == "explicit-deny"


def test_queue_policy_and_key_policy_deny_requests_outside_them(stack: Deployment) -> None:
    """The DLQ accepts a service principal only from its source ARN; the key admits only its delegation."""
    enforcer = stack.aws.enforcer
    assert enforcer is not None
    sqs = stack.client("sqs")
    [dlq_url] = [url for url in sqs.list_queues()["QueueUrls"] if "daily-stats" in url and "dlq" in url]
    queue_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stranger = enforcer.service_session("sns.amazonaws.com", source_arn="arn:aws:sns:ap-south-1:999999999999:x")
    with pytest.raises(ClientError) as denied:
        stack.aws.session_client("sqs", stranger.env()).send_message(QueueUrl=dlq_url, MessageBody="x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert queue_arn in denied.value.response["Error"]["Message"]
    # the key policy: CloudWatch Logs may use the key only for this account's log groups (encryption context)
    from sandbox.authz.policy import AuthRequest, Principal, evaluate

    key = stack.of_type("aws:kms/key:Key")[0]
    key_policy, required = enforcer.resource_policy(str(key.arn))
    assert key_policy is not None and required
    logs = Principal.for_service("logs.ap-south-1.amazonaws.com")
    mine = "arn:aws:logs:ap-south-1:123456789012:log-group:/aws/lambda/x"
    theirs = "arn:aws:logs:ap-south-1:999999999999:log-group:/aws/lambda/x"
    for context_arn, allowed in ((mine, True), (theirs, False)):
        request = AuthRequest(logs, "kms:GenerateDataKey", str(key.arn),
                              {"kms:EncryptionContext:aws:logs:arn": context_arn})
        assert evaluate(request, [], key_policy, resource_policy_required=True).allowed is allowed
    outsider = AuthRequest(Principal.for_service("sns.amazonaws.com"), "kms:Decrypt", str(key.arn), {})
    assert not evaluate(outsider, [], key_policy, resource_policy_required=True).allowed
