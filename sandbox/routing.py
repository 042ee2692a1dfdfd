"""How AWS shapes and routes events, as pure functions (no embedded AWS needed; ``sandbox.events`` delivers).

EventBridge event shapes (S3 ``Object Created``, ``Scheduled Event``), event pattern matching, target input
(``Input``, ``InputPath``, input transformers), Scheduler's ``<aws.scheduler.*>`` context attributes and
deterministic Step Functions execution names.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.core import ACCOUNT_ID, S3Notice

_EVENT_NAMESPACE = uuid.UUID("5f0b8f3e-8a54-4c55-9d0e-2d1f6b7f3a11")
_UNDEFINED = object()


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


def s3_eventbridge_event(notice: S3Notice, *, account_id: str = ACCOUNT_ID,
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
