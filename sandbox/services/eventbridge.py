"""EventBridge rules and targets (Pulumi files them under ``aws:cloudwatch``)."""

from __future__ import annotations

from typing import Any

from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, DeployError, compact, json_text, named, resource, tags_kv, to_int
from synth import MockContext
from synth.graph import Resource

RULE = "aws:cloudwatch/eventRule:EventRule"


def _bus(inputs: dict[str, Any]) -> str | None:
    """The bus name for the API (``None`` for the default bus)."""
    bus = inputs.get("eventBusName")
    return bus if bus and bus != "default" else None


@resource(RULE)
class EventRule:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        bus = out.get("eventBusName") or "default"
        out.update(eventBusName=bus,
                   arn=m.arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"))
        return name if bus == "default" else f"{bus}/{name}"

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        state = inputs.get("state") or ("DISABLED" if inputs.get("isEnabled") is False else "ENABLED")
        d.client("events").put_rule(**compact({
            "Name": str(res.outputs.get("name")), "EventPattern": json_text(inputs.get("eventPattern")),
            "ScheduleExpression": inputs.get("scheduleExpression"), "State": state,
            "Description": inputs.get("description"), "RoleArn": inputs.get("roleArn"),
            "EventBusName": _bus(inputs), "Tags": tags_kv(inputs.get("tags")),
        }))


@resource("aws:cloudwatch/eventTarget:EventTarget")
class EventTarget:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        return f"{out.get('rule')}-{named(m, args, out, key='targetId')}"

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        transformer = inputs.get("inputTransformer") or {}
        retry = inputs.get("retryPolicy") or {}
        target = compact({
            "Id": str(res.outputs.get("targetId") or inputs.get("targetId")), "Arn": inputs["arn"],
            "RoleArn": inputs.get("roleArn"), "Input": inputs.get("input"), "InputPath": inputs.get("inputPath"),
            "InputTransformer": compact({"InputPathsMap": transformer.get("inputPaths"),
                                         "InputTemplate": transformer.get("inputTemplate")}),
            "DeadLetterConfig": compact({"Arn": (inputs.get("deadLetterConfig") or {}).get("arn")}),
            "RetryPolicy": compact({"MaximumRetryAttempts": to_int(retry.get("maximumRetryAttempts")),
                                    "MaximumEventAgeInSeconds": to_int(retry.get("maximumEventAgeInSeconds"))}),
            "SqsParameters": compact({"MessageGroupId": (inputs.get("sqsTarget") or {}).get("messageGroupId")}),
        })
        response = d.client("events").put_targets(**compact({
            "Rule": str(inputs["rule"]), "EventBusName": _bus(inputs), "Targets": [target]}))
        if response.get("FailedEntryCount"):
            raise DeployError(f"{res.urn}: put_targets failed: {response['FailedEntries']}")
