"""Deliver events into a deployment the way AWS shapes and routes them.

Nothing fires by itself in the embedded AWS: schedules do not tick and moto's EventBridge cannot reach Lambda
or Step Functions targets. These helpers do what the AWS services would:

* :func:`invoke_schedule` — EventBridge Scheduler firing a schedule at a given time: the target's ``Input``
  with the ``<aws.scheduler.*>`` context attributes substituted, sent to the target the way Scheduler does
  (Lambda: an asynchronous invoke, so retries and the on-failure destination apply; Step Functions:
  ``StartExecution``).
* :func:`put_object_created` — a ``PutObject`` and the ``Object Created`` event S3 sends to EventBridge when
  the bucket has EventBridge notifications on, matched against every enabled rule on the default bus and
  delivered to each rule's targets (input, input path or input transformer applied).
* :func:`deliver_event` — any EventBridge event through the deployed rules; :func:`deliver_s3_notices` — the
  S3 changes handler code made (recorded by the embedded AWS) as EventBridge events.
* :func:`start_execution` / :func:`wait_execution` — named state machine executions.

The event shapes, pattern matching and input templates are pure functions in ``sandbox.routing``
(re-exported here).

Example
-------
With ``deployment`` from :func:`sandbox.deploy.deploy` (exercised on real programs in tests/e2e):

>>> arns = put_object_created(deployment, "ingest-bucket", "incoming/2026-03-01.csv", b"a,b\\n1,2\\n")  # doctest: +SKIP
>>> wait_execution(arns[0], timeout_s=60)["status"]  # doctest: +SKIP
'SUCCEEDED'
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sandbox import aws as aws_mod
from sandbox.aws import EmbeddedAws, Invocation
from sandbox.routing import (
    execution_name,
    iso_z,
    json_path,
    matches_pattern,
    render_input_transformer,
    render_scheduler_input,
    s3_eventbridge_event,
    scheduled_rule_event,
    scheduler_execution_id,
    target_input,
)

if TYPE_CHECKING:
    from sandbox.deploy import Deployment


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class InvocationResult:
    """What one scheduled (or routed) delivery did.

    For a Lambda target: the invocations it caused (retries included, oldest first); ``payload`` and
    ``function_error`` are the last attempt's. For a Step Functions target: ``execution_arn``.
    """

    target_arn: str
    input: str
    execution_id: str | None = None
    invocations: list[Invocation] = field(default_factory=list)
    execution_arn: str | None = None
    dead_letter_error: str | None = None  # Scheduler could not call the target: the error it dead-lettered

    @property
    def invocation(self) -> Invocation | None:
        return self.invocations[-1] if self.invocations else None

    @property
    def payload(self) -> Any:
        return self.invocation.payload if self.invocation else None

    @property
    def function_error(self) -> str | None:
        return self.invocation.function_error if self.invocation else None

    @property
    def succeeded(self) -> bool:
        return bool(self.invocations) and self.function_error is None


@dataclass(frozen=True)
class Delivery:
    """One event delivered to one rule target."""

    rule: str
    target_id: str
    target_arn: str
    input: str
    execution_arn: str | None = None
    invocations: tuple[Invocation, ...] = ()


# --------------------------------------------------------------------------------------------------
# Delivery into the embedded AWS
# --------------------------------------------------------------------------------------------------


def _current(aws: EmbeddedAws | None) -> EmbeddedAws:
    found = aws or aws_mod.current()
    if found is None:
        raise RuntimeError("sandbox: no embedded AWS is running (use sandbox.aws.embedded_aws())")
    return found


def invoke_schedule(deployment: Deployment, schedule_name: str, scheduled_time: datetime, *,
                    attempt: int = 1) -> InvocationResult:
    """Fire schedule ``schedule_name`` (logical or physical name) as Scheduler would at ``scheduled_time``.

    A Lambda target is invoked asynchronously (``InvocationType=Event``, as Scheduler does), so the
    function's retry attempts and on-failure destination apply; the result lists every attempt. A Step
    Functions target gets ``StartExecution`` with a name derived from the execution id. When the call to the
    target fails (the function is gone, the role may not invoke it ...) and the schedule has a dead-letter
    queue, Scheduler's message goes there as the schedule's role (``dead_letter_error`` names the error;
    Scheduler's retries of throttling and 5xx errors are not modelled); without one the error is raised.
    """
    aws = deployment.aws
    deployed = deployment.schedule(schedule_name)
    group = str(deployed.outputs.get("groupName") or "default")
    schedule = aws.client("scheduler", region=deployment.region).get_schedule(
        Name=deployed.physical_name, GroupName=group)
    if schedule.get("State") == "DISABLED":
        raise ValueError(f"schedule {schedule_name} is DISABLED; Scheduler would not fire it")
    target = schedule["Target"]
    schedule_arn = schedule["Arn"]
    execution_id = scheduler_execution_id(schedule_arn, scheduled_time, attempt)
    payload = render_scheduler_input(target.get("Input"), schedule_arn=schedule_arn,
                                     scheduled_time=scheduled_time, attempt=attempt, execution_id=execution_id)
    result = InvocationResult(target_arn=target["Arn"], input=payload, execution_id=execution_id)
    service = target["Arn"].split(":")[2]

    def as_scheduler(boto_service: str) -> Any:  # Scheduler calls every target with the target's role
        return aws.role_client(boto_service, str(target["RoleArn"]), trusted="scheduler.amazonaws.com",
                               source_arn=schedule_arn, region=deployment.region)

    try:
        if service == "lambda":
            result.invocations = _invoke_async(aws, target["Arn"], payload, as_scheduler("lambda"))
        elif service == "states":
            name = execution_name(deployed.physical_name, execution_id)
            result.execution_arn = _start(target["Arn"], payload, name, as_scheduler("stepfunctions"))
        elif service == "sqs":
            as_scheduler("sqs").send_message(QueueUrl=_queue_url(aws, target["Arn"]), MessageBody=payload)
        else:
            raise NotImplementedError(f"sandbox: schedule target {target['Arn']} is not supported "
                                      "(Lambda, Step Functions and SQS are)")
    except ClientError as exc:
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dead_letter:
            raise
        # Scheduler could not call the target (not found, access denied ...): it sends the target's input to
        # the schedule's dead-letter queue, as the schedule's role, with the error in message attributes
        error = exc.response.get("Error", {})
        result.dead_letter_error = str(error.get("Code") or "Unknown")
        attributes = {"ERROR_CODE": result.dead_letter_error, "ERROR_MESSAGE": str(error.get("Message") or ""),
                      "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "0",
                      "TARGET_ARN": str(target["Arn"]), "SCHEDULE_ARN": str(schedule_arn),
                      "GROUP_ARN": f"{str(schedule_arn).split(':schedule/')[0]}:schedule-group/{group}"}
        as_scheduler("sqs").send_message(
            QueueUrl=_queue_url(aws, str(dead_letter)), MessageBody=payload,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
    return result


def put_object_created(deployment: Deployment, bucket: str, key: str, body: bytes | str, *,
                       content_type: str | None = None) -> list[str]:
    """Put ``body`` at ``bucket/key`` (logical or physical bucket name) and deliver S3's EventBridge event.

    Returns the ARNs of the state machine executions the deployed rules started (empty when the bucket
    has no EventBridge notifications or no rule matches). Lambda/SQS/SNS targets are delivered too.
    """
    return [d.execution_arn for d in put_object(deployment, bucket, key, body, content_type=content_type)
            if d.execution_arn]


def put_object(deployment: Deployment, bucket: str, key: str, body: bytes | str, *,
               content_type: str | None = None) -> list[Delivery]:
    """Like :func:`put_object_created`, returning every delivery."""
    aws = deployment.aws
    name = deployment.bucket(bucket).physical_name
    start = len(aws.s3_notices)
    kwargs: dict[str, Any] = {"Bucket": name, "Key": key,
                              "Body": body.encode() if isinstance(body, str) else body}
    if content_type:
        kwargs["ContentType"] = content_type
    aws.client("s3", region=deployment.region).put_object(**kwargs)
    notices = [n for n in aws.s3_notices[start:] if n.bucket == name and n.key == key]
    for notice in notices:
        aws.s3_notices.remove(notice)
    deliveries: list[Delivery] = []
    for notice in notices:
        deliveries.extend(deliver_event(deployment, s3_eventbridge_event(notice, account_id=aws.account_id)))
    return deliveries


def deliver_s3_notices(deployment: Deployment) -> list[Delivery]:
    """Deliver the S3 changes recorded so far (e.g. objects handler code wrote) as EventBridge events."""
    aws = deployment.aws
    pending = list(aws.s3_notices)
    del aws.s3_notices[: len(pending)]
    deliveries: list[Delivery] = []
    for notice in pending:
        deliveries.extend(deliver_event(deployment, s3_eventbridge_event(notice, account_id=aws.account_id)))
    return deliveries


def fire_scheduled_rule(deployment: Deployment, rule_name: str, scheduled_time: datetime) -> list[Delivery]:
    """Fire an EventBridge rule that has a ``ScheduleExpression`` (the older cron mechanism) at a time."""
    deployed = deployment.rule(rule_name)
    events = deployment.aws.client("events", region=deployment.region)
    bus = str(deployed.outputs.get("eventBusName") or "default")
    rule = events.describe_rule(Name=deployed.physical_name, EventBusName=bus)
    if not rule.get("ScheduleExpression"):
        raise ValueError(f"rule {rule_name} has no schedule expression")
    if rule.get("State") == "DISABLED":
        raise ValueError(f"rule {rule_name} is DISABLED; EventBridge would not fire it")
    event = scheduled_rule_event(rule["Arn"], scheduled_time)
    targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    return [_deliver_to_target(deployment, rule, target, event) for target in sorted(targets, key=lambda t: t["Id"])]


def deliver_event(deployment: Deployment, event: Mapping[str, Any], *,
                  event_bus: str = "default") -> list[Delivery]:
    """Route ``event`` through every enabled rule on ``event_bus`` and deliver it to the matching targets."""
    aws = deployment.aws
    events = aws.client("events", region=deployment.region)
    deliveries: list[Delivery] = []
    rules: list[dict[str, Any]] = []
    for page in events.get_paginator("list_rules").paginate(EventBusName=event_bus):
        rules.extend(page["Rules"])
    for rule in sorted(rules, key=lambda r: r["Name"]):
        if rule.get("State", "ENABLED") == "DISABLED" or not rule.get("EventPattern"):
            continue
        if not matches_pattern(rule["EventPattern"], event):
            continue
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=event_bus)["Targets"]
        for target in sorted(targets, key=lambda t: t["Id"]):
            deliveries.append(_deliver_to_target(deployment, rule, target, event))
    return deliveries


def _deliver_to_target(deployment: Deployment, rule: Mapping[str, Any], target: Mapping[str, Any],
                       event: Mapping[str, Any]) -> Delivery:
    aws = deployment.aws
    payload = target_input(target, event, rule_arn=rule["Arn"], rule_name=rule["Name"])
    arn = str(target["Arn"])
    service = arn.split(":")[2]

    def as_events(boto_service: str) -> Any:
        """EventBridge calls a target with the target's role if it has one, else as events.amazonaws.com
        (the target's resource policy decides: Lambda permissions, queue and topic policies)."""
        if target.get("RoleArn"):
            return aws.role_client(boto_service, str(target["RoleArn"]), trusted="events.amazonaws.com",
                                   source_arn=str(rule["Arn"]), region=deployment.region)
        return aws.service_client(boto_service, "events.amazonaws.com", source_arn=str(rule["Arn"]),
                                  region=deployment.region)

    if service == "states":
        name = execution_name(str(target["Id"]), str(event.get("id", "")), rule["Name"])
        return Delivery(rule["Name"], target["Id"], arn, payload,
                        execution_arn=_start(arn, payload, name, as_events("stepfunctions")))
    if service == "lambda":
        return Delivery(rule["Name"], target["Id"], arn, payload,
                        invocations=tuple(_invoke_async(aws, arn, payload, as_events("lambda"))))
    if service == "sqs":
        as_events("sqs").send_message(QueueUrl=_queue_url(aws, arn), MessageBody=payload)
    elif service == "sns":
        as_events("sns").publish(TopicArn=arn, Message=payload)
    else:
        raise NotImplementedError(f"sandbox: rule {rule['Name']} target {arn} is not supported "
                                  "(Step Functions, Lambda, SQS and SNS are)")
    return Delivery(rule["Name"], target["Id"], arn, payload)


def _invoke_async(aws: EmbeddedAws, function_arn: str, payload: str, client: Any) -> list[Invocation]:
    name = function_arn.split(":")[6]
    before = len(aws.invocations)
    client.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload.encode())
    return [inv for inv in aws.invocations[before:] if inv.function_name == name]


def _queue_url(aws: EmbeddedAws, arn: str) -> str:
    parts = arn.split(":")
    return str(aws.client("sqs", region=parts[3]).get_queue_url(
        QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def _start(state_machine_arn: str, payload: str, name: str, client: Any) -> str:
    response = client.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    return str(response["executionArn"])


def start_execution(deployment: Deployment, state_machine: str, execution_input: Any, *,
                    name: str | None = None) -> str:
    """Start a named execution of ``state_machine`` (logical name, physical name or ARN); returns its ARN.

    ``execution_input`` may be a JSON string or any JSON-able value. Without ``name`` the name is derived
    from the state machine and the input (Step Functions needs one for ``$$.Execution.Name``).
    """
    arn = (state_machine if state_machine.startswith("arn:")
           else str(deployment.state_machine(state_machine).arn))
    payload = execution_input if isinstance(execution_input, str) else json.dumps(execution_input)
    client = deployment.aws.client("stepfunctions", region=arn.split(":")[3])
    return _start(arn, payload, name or execution_name(arn.split(":")[-1], payload), client)


def wait_execution(arn: str, timeout_s: float = 60.0, *, aws: EmbeddedAws | None = None,
                   poll_s: float = 0.05) -> dict[str, Any]:
    """Poll ``DescribeExecution`` until the execution leaves ``RUNNING``; return that final description.

    Raises ``TimeoutError`` (naming the last history event) if it is still running after ``timeout_s``.
    """
    found = _current(aws)
    client = found.client("stepfunctions", region=arn.split(":")[3])
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            history = execution_history(arn, aws=found)
            last = history[-1]["type"] if history else "none"
            raise TimeoutError(f"execution {arn} still RUNNING after {timeout_s:g}s (last event: {last})")
        time.sleep(poll_s)


def execution_history(arn: str, *, aws: EmbeddedAws | None = None) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first."""
    client = _current(aws).client("stepfunctions", region=arn.split(":")[3])
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def executed_states(arn: str, *, aws: EmbeddedAws | None = None) -> list[str]:
    """Names of the states an execution entered, in order (handy for asserting a path)."""
    return [e["stateEnteredEventDetails"]["name"] for e in execution_history(arn, aws=aws)
            if "stateEnteredEventDetails" in e]


__all__: Sequence[str] = (
    "Delivery", "InvocationResult", "deliver_event", "deliver_s3_notices", "executed_states",
    "execution_history", "execution_name", "fire_scheduled_rule", "invoke_schedule", "iso_z", "json_path",
    "matches_pattern", "put_object", "put_object_created", "render_input_transformer", "render_scheduler_input",
    "s3_eventbridge_event", "scheduled_rule_event", "scheduler_execution_id", "start_execution", "target_input",
    "wait_execution",
)
