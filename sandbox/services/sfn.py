"""Step Functions state machines (the ARN is the ID)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pulumi.runtime.mocks import MockResourceArgs

from sandbox.services._base import Deployer, compact, exists, json_text, named, resource
from synth import MockContext
from synth.graph import Resource
from synth.mocks import suffix

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"


@resource(STATE_MACHINE)
class StateMachine:
    @staticmethod
    def answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
        arn = m.arn("states", f"stateMachine:{named(m, args, out, max_len=80)}")
        out.update(arn=arn, status="ACTIVE", creationDate="2026-01-01T00:00:00Z", stateMachineVersionArn="",
                   revisionId=suffix(arn, length=32))
        return arn

    @staticmethod
    def deploy(d: Deployer, res: Resource, inputs: dict[str, Any]) -> None:
        sfn = d.client("stepfunctions")
        name = str(res.outputs.get("name"))
        definition = json_text(inputs["definition"]) or "{}"
        logging_in = inputs.get("loggingConfiguration") or {}
        logging_config = compact({
            "level": logging_in.get("level"), "includeExecutionData": logging_in.get("includeExecutionData"),
            "destinations": ([{"cloudWatchLogsLogGroup": {"logGroupArn": logging_in["logDestination"]}}]
                             if logging_in.get("logDestination") else None),
        })
        tracing = compact({"enabled": (inputs.get("tracingConfiguration") or {}).get("enabled")})
        try:
            arn = sfn.create_state_machine(**compact({
                "name": name, "definition": definition, "roleArn": inputs.get("roleArn"),
                "type": inputs.get("type") or "STANDARD", "loggingConfiguration": logging_config,
                "tracingConfiguration": tracing,
                "tags": [{"key": str(k), "value": str(v)} for k, v in sorted((inputs.get("tags") or {}).items())],
            }))["stateMachineArn"]
        except ClientError as exc:
            if not exists(exc):
                raise
            arn = str(res.outputs.get("arn") or res.id)
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=str(inputs["roleArn"]))
        d.replace(res.outputs.get("arn") or res.id, arn)
