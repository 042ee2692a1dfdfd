"""SNS topics (the ARN is the ID) and subscriptions."""

from __future__ import annotations

from typing import Any

from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, json_text, named, resource, tags_kv
from synth import MockContext
from synth.graph import Resource

TOPIC = "aws:sns/topic:Topic"


@resource(TOPIC)
class Topic:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        arn = m.arn("sns", named(m, args, out, max_len=256))
        out["arn"] = arn
        return arn

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        attributes = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in {
            "KmsMasterKeyId": inputs.get("kmsMasterKeyId"), "FifoTopic": inputs.get("fifoTopic") or None,
            "Policy": json_text(inputs.get("policy")), "DisplayName": inputs.get("displayName"),
        }.items() if v is not None}
        arn = d.client("sns").create_topic(Name=str(res.outputs.get("name")), Attributes=attributes,
                                           Tags=tags_kv(inputs.get("tags")))["TopicArn"]
        d.replace(res.outputs.get("arn"), arn)


@resource("aws:sns/topicSubscription:TopicSubscription")
class TopicSubscription:
    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        d.client("sns").subscribe(TopicArn=str(inputs["topic"]), Protocol=str(inputs["protocol"]),
                                  Endpoint=str(inputs["endpoint"]))
