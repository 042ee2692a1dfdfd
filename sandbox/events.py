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

Example
-------
>>> arns = put_object_created(deployment, "ingest-bucket", "incoming/2026-03-01.csv", b"a,b\\n1,2\\n")
>>> wait_execution(arns[0], timeout_s=60)["status"]
'SUCCEEDED'
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox import aws as aws_mod
from sandbox.aws import EmbeddedAws, Invocation, S3Notice

if TYPE_CHECKING:
    from sandbox.deploy import Deployment

_EVENT_NAMESPACE = uuid.UUID("5f0b8f3e-8a54-4c55-9d0e-2d1f6b7f3a11")
_UNDEFINED = object()


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
# Pure parts: event shapes, pattern matching, input templates
# --------------------------------------------------------------------------------------------------


def iso_z(when: datetime) -> str:
    """``2026-03-01T10:30:00Z`` (UTC, whole seconds), the form Scheduler and EventBridge use."""
    if when.tzinfo is None:
        raise ValueError(f"{when!r} is naive; pass an aware datetime (e.g. tzinfo=UTC)")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_S3_REASONS = {
    "s3:ObjectCreated:Put": ("Object Created", "PutObject"),
    "s3:ObjectCreated:Post": ("Object Created", "POST Object"),
    "s3:ObjectCreated:Copy": ("Object Created", "CopyObject"),
    "s3:ObjectCreated:CompleteMultipartUpload": ("Object Created", "CompleteMultipartUpload"),
    "s3:ObjectRemoved:Delete": ("Object Deleted", "DeleteObject"),
    "s3:ObjectRemoved:DeleteMarkerCreated": ("Object Deleted", "DeleteObject"),
    "s3:ObjectTagging:Put": ("Object Tags Added", "PutObjectTagging"),
    "s3:ObjectTagging:Delete": ("Object Tags Deleted", "DeleteObjectTagging"),
    "s3:ObjectAcl:Put": ("Object ACL Updated", "PutObjectAcl"),
    "s3:ObjectRestore:Post": ("Object Restore Initiated", "RestoreObject"),
    "s3:ObjectRestore:Completed": ("Object Restore Completed", "RestoreObject"),
}


def s3_eventbridge_event(notice: S3Notice, *, account_id: str = aws_mod.ACCOUNT_ID,
                         requester: str | None = None, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The EventBridge event S3 sends for ``notice`` (``detail-type`` ``Object Created`` for puts).

    The event ``id`` and ``request-id`` are derived from the bucket, key and sequencer, so the same change
    gives the same event.
    """
    try:
        detail_type, reason = _S3_REASONS[notice.event_name]
    except KeyError:
        raise ValueError(f"S3 event {notice.event_name!r} has no EventBridge form in the sandbox") from None
    seed = f"{notice.region}/{notice.bucket}/{notice.key}/{notice.sequencer}/{notice.event_name}"
    event_id = str(uuid.uuid5(_EVENT_NAMESPACE, seed))
    request_id = hashlib.sha256(seed.encode()).hexdigest()[:16].upper()
    obj: dict[str, Any] = {"key": notice.key}
    if detail_type == "Object Created":
        obj.update({"size": notice.size, "etag": notice.etag})
    elif detail_type != "Object Deleted":
        obj["etag"] = notice.etag
    if notice.version_id is not None:
        obj["version-id"] = notice.version_id
    obj["sequencer"] = notice.sequencer
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": notice.bucket},
        "object": obj,
        "request-id": request_id,
        "requester": requester or account_id,
        "source-ip-address": source_ip,
        "reason": reason,
    }
    if detail_type == "Object Deleted":
        detail["deletion-type"] = ("Delete Marker Created" if notice.event_name.endswith("DeleteMarkerCreated")
                                   else "Permanently Deleted")
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        "time": iso_z(notice.time),
        "region": notice.region,
        "resources": [f"arn:aws:s3:::{notice.bucket}"],
        "detail": detail,
    }


def matches_pattern(pattern: Mapping[str, Any] | str | None, event: Mapping[str, Any]) -> bool:
    """EventBridge content filtering: does ``event`` match ``pattern``?

    Supports exact values (strings, numbers, booleans, ``null``; an array in the event matches if any element
    does), ``prefix``, ``suffix`` (both also with ``equals-ignore-case``), ``equals-ignore-case``,
    ``wildcard``, ``anything-but`` (values, ``prefix``, ``suffix``, ``wildcard``), ``numeric``, ``exists``,
    ``cidr`` and ``$or``. An empty pattern matches nothing, as in AWS (a rule needs a pattern or a schedule).

    Example
    -------
    >>> matches_pattern({"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "in/"}]}}},
    ...                 {"source": "aws.s3", "detail": {"object": {"key": "in/a.csv"}}})
    True
    """
    parsed: Mapping[str, Any] | None = json.loads(pattern) if isinstance(pattern, str) else pattern
    if not parsed:
        return False
    return _match_node(parsed, event)


def _match_node(pattern: Mapping[str, Any], node: Any) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_match_node(alternative, node) for alternative in expected):
                return False
            continue
        value = node.get(key, _UNDEFINED) if isinstance(node, Mapping) else _UNDEFINED
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not _match_node(expected, value):
                return False
        elif isinstance(expected, list):
            if not _match_field(expected, value):
                return False
        else:
            raise ValueError(f"event pattern: the value of {key!r} must be an object or an array")
    return True


def _match_field(filters: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for flt in filters:
        if isinstance(flt, Mapping):
            if "exists" in flt:
                present = value is not _UNDEFINED and not (isinstance(value, Mapping) and value)
                if present == bool(flt["exists"]):
                    return True
                continue
            if value is _UNDEFINED:
                continue
            if any(_match_named(flt, v) for v in values):
                return True
        elif value is not _UNDEFINED and any(_same(flt, v) for v in values):
            return True
    return False


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return bool(expected == actual)


def _match_named(flt: Mapping[str, Any], value: Any) -> bool:
    if len(flt) != 1 and "numeric" not in flt:
        raise ValueError(f"event pattern: unsupported filter {flt!r}")
    name, arg = next(iter(flt.items()))
    if name in ("prefix", "suffix"):
        if not isinstance(value, str):
            return False
        if isinstance(arg, Mapping):
            target = str(arg["equals-ignore-case"]).lower()
            value = value.lower()
        else:
            target = str(arg)
        return value.startswith(target) if name == "prefix" else value.endswith(target)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if name == "wildcard":
        return isinstance(value, str) and _wildcard(str(arg), value)
    if name == "anything-but":
        if isinstance(arg, Mapping):
            return not _match_named(arg, value)
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_same(e, value) for e in excluded)
    if name == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        ops = {"<": float.__lt__, "<=": float.__le__, "=": float.__eq__, ">=": float.__ge__, ">": float.__gt__}
        pairs = list(zip(arg[::2], arg[1::2], strict=True))
        return all(ops[op](float(value), float(bound)) for op, bound in pairs)
    if name == "cidr":
        try:
            return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(arg), strict=False)
        except ValueError:
            return False
    raise ValueError(f"event pattern: unsupported filter {name!r}")


def _wildcard(pattern: str, value: str) -> bool:
    regex = "".join(".*" if part == "*" else re.escape(part.replace("\\*", "*"))
                    for part in re.split(r"(?<!\\)(\*)", pattern))
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def json_path(document: Any, path: str) -> Any:
    """Resolve a simple JSONPath (``$``, ``$.a.b``, ``$.a[0].b``, ``$['a-b']``) as EventBridge does."""
    if path == "$":
        return document
    if not path.startswith("$"):
        raise ValueError(f"JSONPath must start with '$': {path!r}")
    tokens = re.findall(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']+)'\]", path[1:])
    current = document
    for name, index, quoted in tokens:
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
        else:
            key = name or quoted
            if not isinstance(current, Mapping) or key not in current:
                return None
            current = current[key]
    return current


def render_input_transformer(template: str, paths: Mapping[str, str], event: Mapping[str, Any], *,
                             rule_arn: str = "", rule_name: str = "") -> str:
    """EventBridge ``InputTransformer``: substitute ``<var>`` placeholders in ``template``.

    Inside a JSON string a string value is inserted without quotes (escaped); elsewhere values are inserted
    as JSON. ``<aws.events.event>``, ``<aws.events.event.json>``, ``<aws.events.rule-arn>``,
    ``<aws.events.rule-name>`` and ``<aws.events.event.ingestion-time>`` are predefined.
    """
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths.items()}
    values.setdefault("aws.events.event", dict(event))
    values.setdefault("aws.events.event.json", dict(event))
    values.setdefault("aws.events.rule-arn", rule_arn)
    values.setdefault("aws.events.rule-name", rule_name)
    values.setdefault("aws.events.event.ingestion-time", event.get("time", ""))
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            end = template.find(">", i)
            name = template[i + 1:end] if end > 0 else ""
            if name in values:
                value = values[name]
                if in_string and isinstance(value, str):
                    out.append(json.dumps(value)[1:-1])
                elif value is None:
                    out.append("null")
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def target_input(target: Mapping[str, Any], event: Mapping[str, Any], *, rule_arn: str = "",
                 rule_name: str = "") -> str:
    """What a rule target receives: ``Input``, else ``InputPath``, else ``InputTransformer``, else the event."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(json_path(event, str(target["InputPath"])))
    transformer = target.get("InputTransformer")
    if transformer:
        return render_input_transformer(str(transformer["InputTemplate"]),
                                        transformer.get("InputPathsMap") or {}, event,
                                        rule_arn=rule_arn, rule_name=rule_name)
    return json.dumps(event)


def scheduler_execution_id(schedule_arn: str, scheduled_time: datetime, attempt: int) -> str:
    """A 16-hex-digit id (like ``d32c5kddcf5bb8c3``) that is the same for the same firing and attempt."""
    seed = f"{schedule_arn}|{iso_z(scheduled_time)}|{attempt}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def render_scheduler_input(template: str | None, *, schedule_arn: str, scheduled_time: datetime,
                           attempt: int = 1, execution_id: str | None = None) -> str:
    """Scheduler's target ``Input`` with its context attributes substituted (``{}`` when no input is set).

    Example
    -------
    >>> render_scheduler_input('{"t": "<aws.scheduler.scheduled-time>"}', schedule_arn="arn:...",
    ...                        scheduled_time=datetime(2026, 3, 1, 10, 30, tzinfo=UTC))
    '{"t": "2026-03-01T10:30:00Z"}'
    """
    if template is None or template == "":
        return "{}"
    replacements = {
        "<aws.scheduler.schedule-arn>": schedule_arn,
        "<aws.scheduler.scheduled-time>": iso_z(scheduled_time),
        "<aws.scheduler.execution-id>": execution_id or scheduler_execution_id(schedule_arn, scheduled_time,
                                                                               attempt),
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    rendered = template
    for placeholder, value in replacements.items():
        rendered = rendered.replace(placeholder, value)
    return rendered


def execution_name(*parts: str) -> str:
    """A valid, deterministic Step Functions execution name (``[A-Za-z0-9_-]``, at most 80 characters)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    head = re.sub(r"[^A-Za-z0-9_-]", "-", parts[0] if parts else "run")[:47]
    return f"{head}-{digest}"


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
    Functions target gets ``StartExecution`` with a name derived from the execution id.
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
    if service == "lambda":
        result.invocations = _invoke_async(aws, target["Arn"], payload, deployment.region)
    elif service == "states":
        result.execution_arn = _start(aws, target["Arn"], payload,
                                      execution_name(deployed.physical_name, execution_id))
    elif service == "sqs":
        aws.client("sqs", region=deployment.region).send_message(
            QueueUrl=_queue_url(aws, target["Arn"]), MessageBody=payload)
    else:
        raise NotImplementedError(f"sandbox: schedule target {target['Arn']} is not supported "
                                  "(Lambda, Step Functions and SQS are)")
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


def scheduled_rule_event(rule_arn: str, scheduled_time: datetime) -> dict[str, Any]:
    """The ``Scheduled Event`` EventBridge sends to a scheduled rule's targets."""
    parts = rule_arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, f"{rule_arn}|{iso_z(scheduled_time)}")),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": parts[4],
        "time": iso_z(scheduled_time),
        "region": parts[3],
        "resources": [rule_arn],
        "detail": {},
    }


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
    if service == "states":
        name = execution_name(str(target["Id"]), str(event.get("id", "")), rule["Name"])
        return Delivery(rule["Name"], target["Id"], arn, payload, execution_arn=_start(aws, arn, payload, name))
    if service == "lambda":
        return Delivery(rule["Name"], target["Id"], arn, payload,
                        invocations=tuple(_invoke_async(aws, arn, payload, deployment.region)))
    if service == "sqs":
        aws.client("sqs", region=deployment.region).send_message(QueueUrl=_queue_url(aws, arn),
                                                                 MessageBody=payload)
    elif service == "sns":
        aws.client("sns", region=deployment.region).publish(TopicArn=arn, Message=payload)
    else:
        raise NotImplementedError(f"sandbox: rule {rule['Name']} target {arn} is not supported "
                                  "(Step Functions, Lambda, SQS and SNS are)")
    return Delivery(rule["Name"], target["Id"], arn, payload)


def _invoke_async(aws: EmbeddedAws, function_arn: str, payload: str, region: str) -> list[Invocation]:
    name = function_arn.split(":")[6]
    before = len(aws.invocations)
    aws.client("lambda", region=region).invoke(FunctionName=function_arn, InvocationType="Event",
                                               Payload=payload.encode())
    return [inv for inv in aws.invocations[before:] if inv.function_name == name]


def _queue_url(aws: EmbeddedAws, arn: str) -> str:
    parts = arn.split(":")
    return str(aws.client("sqs", region=parts[3]).get_queue_url(
        QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def _start(aws: EmbeddedAws, state_machine_arn: str, payload: str, name: str) -> str:
    region = state_machine_arn.split(":")[3]
    response = aws.client("stepfunctions", region=region).start_execution(
        stateMachineArn=state_machine_arn, name=name, input=payload)
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
    return _start(deployment.aws, arn, payload, name or execution_name(arn.split(":")[-1], payload))


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
