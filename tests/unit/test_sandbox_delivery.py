"""sandbox.events routing on hand-made graphs: rule targets of every supported kind, disabled rules, buckets
without EventBridge notifications."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox import events
from sandbox.aws import embedded_aws
from sandbox.deploy import Deployment, deploy
from tests.unit.test_sandbox_deploy import graph, res

REGION = "ap-south-1"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:events-queue"
PATTERN = {"source": ["sciflow.test"], "detail": {"kind": [{"prefix": "run"}]}}


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    queue = res("aws:sqs/queue:Queue", "events-queue", {"name": "events-queue"},
                outputs={"arn": QUEUE_ARN, "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/events-queue"})
    quiet = res("aws:s3/bucket:Bucket", "quiet", outputs={"bucket": "quiet-bucket-0000000"})
    rules = []
    for name, state, target_input in (("enabled-rule", "ENABLED", {"inputPath": "$.detail"}),
                                      ("disabled-rule", "DISABLED", {})):
        rules.append(res("aws:cloudwatch/eventRule:EventRule", name, {
            "eventPattern": json.dumps(PATTERN), "state": state}, outputs={"name": name}))
        rules.append(res("aws:cloudwatch/eventTarget:EventTarget", f"{name}-target", {
            "rule": name, "arn": QUEUE_ARN, "targetId": f"{name}-queue", **target_input}))
    with embedded_aws(REGION) as aws:
        yield deploy(graph(queue, quiet, *rules), aws)


def test_generic_event_reaches_enabled_matching_rules_only(deployment: Deployment) -> None:
    event = {"version": "0", "id": "e-1", "detail-type": "Run", "source": "sciflow.test", "account": ACCOUNT,
             "time": "2026-03-01T10:30:00Z", "region": REGION, "resources": [], "detail": {"kind": "run-42"}}
    deliveries = events.deliver_event(deployment, event)
    assert [(d.rule, d.target_id) for d in deliveries] == [("enabled-rule", "enabled-rule-queue")]
    sqs = deployment.client("sqs")
    url = deployment.queue("events-queue").outputs["url"]
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == [{"kind": "run-42"}]  # the target's InputPath
    assert events.deliver_event(deployment, {**event, "detail": {"kind": "other"}}) == []


def test_bucket_without_eventbridge_notifications_sends_no_event(deployment: Deployment) -> None:
    assert events.put_object(deployment, "quiet", "incoming/a.csv", "x") == []
    assert deployment.aws.s3_notices == []
    body = deployment.client("s3").get_object(Bucket="quiet-bucket-0000000", Key="incoming/a.csv")["Body"].read()
    assert body == b"x"

