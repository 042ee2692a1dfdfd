"""EventBridge Scheduler: schedules and schedule groups."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import (
    Deployer,
    compact,
    exists,
    named,
    parse_datetime,
    resource,
    tags_kv,
    to_int,
)
from synth import MockContext
from synth.graph import Resource

SCHEDULE = "aws:scheduler/schedule:Schedule"


@resource(SCHEDULE)
class Schedule:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        group = out.get("groupName") or "default"
        out.update(groupName=group, arn=m.arn("scheduler", f"schedule/{group}/{name}"))
        return f"{group}/{name}"

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        scheduler = d.client("scheduler")
        target_in = inputs.get("target") or {}
        retry = target_in.get("retryPolicy") or {}
        window = inputs.get("flexibleTimeWindow") or {"mode": "OFF"}
        kwargs = compact({
            "Name": str(res.outputs.get("name")), "GroupName": inputs.get("groupName"),
            "ScheduleExpression": inputs.get("scheduleExpression"),
            "ScheduleExpressionTimezone": inputs.get("scheduleExpressionTimezone"),
            "Description": inputs.get("description"), "State": inputs.get("state") or "ENABLED",
            "StartDate": parse_datetime(inputs.get("startDate")), "EndDate": parse_datetime(inputs.get("endDate")),
            "KmsKeyArn": inputs.get("kmsKeyArn"), "ActionAfterCompletion": inputs.get("actionAfterCompletion"),
            "FlexibleTimeWindow": compact({"Mode": window.get("mode") or "OFF",
                                           "MaximumWindowInMinutes": to_int(window.get("maximumWindowInMinutes"))}),
            "Target": compact({
                "Arn": target_in.get("arn"), "RoleArn": target_in.get("roleArn"), "Input": target_in.get("input"),
                "RetryPolicy": compact({"MaximumRetryAttempts": to_int(retry.get("maximumRetryAttempts")),
                                        "MaximumEventAgeInSeconds": to_int(retry.get("maximumEventAgeInSeconds"))}),
                "DeadLetterConfig": compact({"Arn": (target_in.get("deadLetterConfig") or {}).get("arn")}),
            }),
        })
        try:
            scheduler.create_schedule(**kwargs)
        except ClientError as exc:
            if not exists(exc):
                raise
            scheduler.update_schedule(**kwargs)


@resource("aws:scheduler/scheduleGroup:ScheduleGroup")
class ScheduleGroup:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        name = named(m, args, out)
        out.update(arn=m.arn("scheduler", f"schedule-group/{name}"), state="ACTIVE")
        return name

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        try:
            d.client("scheduler").create_schedule_group(Name=str(res.outputs.get("name")),
                                                        Tags=tags_kv(inputs.get("tags")))
        except ClientError as exc:
            if not exists(exc):
                raise
