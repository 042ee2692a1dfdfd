"""SQS queues (the queue URL is the ID, as in AWS) and queue policies."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, exists, json_text, named, resource, tags_map
from synth import MockContext
from synth.graph import Resource

QUEUE = "aws:sqs/queue:Queue"

#: Pulumi input -> SQS attribute
ATTRIBUTES = {
    "delaySeconds": "DelaySeconds", "maxMessageSize": "MaximumMessageSize",
    "messageRetentionSeconds": "MessageRetentionPeriod", "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "visibilityTimeoutSeconds": "VisibilityTimeout", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "contentBasedDeduplication": "ContentBasedDeduplication", "deduplicationScope": "DeduplicationScope",
    "fifoThroughputLimit": "FifoThroughputLimit", "policy": "Policy",
}


@resource(QUEUE)
class Queue:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out, max_len=80)
        url = f"https://sqs.{m.region}.amazonaws.com/{m.account}/{name}"
        out.update(url=url, arn=m.arn("sqs", name))
        return url

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        sqs = d.client("sqs")
        name = str(res.outputs.get("name"))
        attributes: dict[str, str] = {}
        for key, attr in ATTRIBUTES.items():
            value = inputs.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                attributes[attr] = "true" if value else "false"
            elif isinstance(value, float) and value.is_integer():
                attributes[attr] = str(int(value))
            else:
                attributes[attr] = json_text(value) or ""
        if inputs.get("fifoQueue"):
            attributes["FifoQueue"] = "true"
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags_map(inputs.get("tags")))["QueueUrl"]
        except ClientError as exc:
            if not exists(exc):
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            if attributes:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        d.replace(res.outputs.get("url") or res.id, url)


@resource("aws:sqs/queuePolicy:QueuePolicy")
class QueuePolicy:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return str(out.get("queueUrl"))

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("sqs").set_queue_attributes(QueueUrl=str(inputs["queueUrl"]),
                                             Attributes={"Policy": json_text(inputs["policy"]) or ""})
