"""sandbox.events routing on hand-made graphs: rule targets of every supported kind, disabled rules, buckets
without EventBridge notifications."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sandbox import events
from sandbox.aws import embedded_aws
from sandbox.deploy import Deployment, deploy
from tests.support.graphs import graph, res

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
    cron = [res("aws:cloudwatch/eventRule:EventRule", "nightly", {"scheduleExpression": "cron(0 2 * * ? *)"},
                outputs={"name": "nightly", "arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"}),
            res("aws:cloudwatch/eventTarget:EventTarget", "nightly-target", {
                "rule": "nightly", "arn": QUEUE_ARN, "targetId": "nightly-queue"})]
    with embedded_aws(REGION) as aws:
        yield deploy(graph(queue, quiet, *rules, *cron), aws)


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



def test_scheduled_rule_sends_the_scheduled_event(deployment: Deployment) -> None:
    when = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    deliveries = events.fire_scheduled_rule(deployment, "nightly", when)
    assert [d.target_id for d in deliveries] == ["nightly-queue"]
    url = deployment.queue("events-queue").outputs["url"]
    event = json.loads(deployment.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert event == events.scheduled_rule_event(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly", when)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-03-01T02:00:00Z" and event["detail"] == {}
    with pytest.raises(ValueError, match="no schedule expression"):
        events.fire_scheduled_rule(deployment, "enabled-rule", when)
