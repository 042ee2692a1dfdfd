"""Step Functions definitions: structurally valid ASL, within the size quota, Tasks that retry and catch."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import ADVISORY, MANDATORY, UNKNOWN, AnyPolicy, Ctx, Rules

AREA = "stepfunctions"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
DEFINITION_LIMIT = 1_048_576  # bytes, UTF-8 (Step Functions quota)
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_TERMINAL = ("Choice", "Succeed", "Fail")


def _definition(ctx: Ctx) -> Any:
    raw = ctx.get("definition")
    if raw is None or raw is UNKNOWN:
        return raw
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as err:
            return ValueError(f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}")
    return raw


def asl_errors(machine: Any, where: str = "") -> list[str]:
    """Structural errors of an Amazon States Language (sub-)machine; empty when valid."""
    if not isinstance(machine, Mapping):
        return [f"{where or 'definition'} is not a JSON object"]
    states = machine.get("States")
    start = machine.get("StartAt")
    prefix = f"{where}: " if where else ""
    if not isinstance(states, Mapping) or not states:
        return [f"{prefix}States is missing or empty"]
    errors = []
    if start not in states:
        errors.append(f"{prefix}StartAt {start!r} is not a state")
    for name, state in states.items():
        at = f"{prefix}state {name!r}"
        if not isinstance(state, Mapping):
            errors.append(f"{at} is not an object")
            continue
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            errors.append(f"{at} has unknown Type {kind!r}")
            continue
        if kind not in _TERMINAL:
            has_next, has_end = "Next" in state, state.get("End") is True
            if has_next == has_end:
                errors.append(f"{at} needs exactly one of Next and End: true")
        for target in _targets(state):
            if target not in states:
                errors.append(f"{at} goes to {target!r}, which is not a state")
        if kind == "Task" and not isinstance(state.get("Resource"), str):
            errors.append(f"{at} is a Task without Resource")
        if kind == "Choice" and not state.get("Choices"):
            errors.append(f"{at} is a Choice without Choices")
        for key in ("Retry", "Catch"):
            for i, handler in enumerate(state.get(key) or []):
                if not isinstance(handler, Mapping) or not handler.get("ErrorEquals"):
                    errors.append(f"{at} {key}[{i}] has no ErrorEquals")
        for label, sub in _submachines(state):
            errors.extend(asl_errors(sub, f"{at} {label}"))
    return errors


def _targets(state: Mapping[str, Any]) -> Iterator[str]:
    if isinstance(state.get("Next"), str):
        yield state["Next"]
    if isinstance(state.get("Default"), str):
        yield state["Default"]
    for rule in state.get("Choices") or []:
        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
            yield rule["Next"]
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
            yield catcher["Next"]


def _submachines(state: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key in ("ItemProcessor", "Iterator"):
        if key in state:
            yield key, state[key]
    for i, branch in enumerate(state.get("Branches") or []):
        yield f"Branches[{i}]", branch


def tasks_missing_handlers(machine: Any, caught: bool = False, where: str = "") -> list[tuple[str, list[str]]]:
    """``(task path, missing)`` for Tasks without Retry, or without Catch when no enclosing Map/Parallel
    catches their errors."""
    out: list[tuple[str, list[str]]] = []
    if not isinstance(machine, Mapping) or not isinstance(machine.get("States"), Mapping):
        return out
    for name, state in machine["States"].items():
        if not isinstance(state, Mapping):
            continue
        path = f"{where}{name}"
        if state.get("Type") == "Task":
            missing = [k for k in ("Retry",) if not state.get(k)]
            if not state.get("Catch") and not caught:
                missing.append("Catch")
            if missing:
                out.append((path, missing))
        inner_caught = caught or bool(state.get("Catch"))
        for label, sub in _submachines(state):
            out.extend(tasks_missing_handlers(sub, inner_caught, f"{path}.{label}."))
    return out


def _valid(ctx: Ctx, args: ResourceValidationArgs) -> None:
    machine = _definition(ctx)
    if machine is None:
        ctx.report("The state machine has no definition.")
        return
    if machine is UNKNOWN:
        return
    if isinstance(machine, ValueError):
        ctx.report(f"The definition is {machine}.")
        return
    errors = asl_errors(machine)
    if errors:
        shown = "; ".join(errors[:10]) + (f"; and {len(errors) - 10} more" if len(errors) > 10 else "")
        ctx.report(f"The definition is not valid ASL: {shown}. Build it with the typed ASL builder.")


def _size(ctx: Ctx, args: ResourceValidationArgs) -> None:
    raw = ctx.get("definition")
    if isinstance(raw, str) and raw is not UNKNOWN:
        n = len(raw.encode())
        if n > DEFINITION_LIMIT:
            ctx.report(f"The definition is {n:,} bytes; Step Functions accepts at most {DEFINITION_LIMIT:,}. "
                       "Move large constants to S3 and read them in a Task.")


def _retry_catch(ctx: Ctx, args: ResourceValidationArgs) -> None:
    machine = _definition(ctx)
    if not isinstance(machine, Mapping):
        return
    for path, missing in tasks_missing_handlers(machine):
        ctx.report(f"Task {path!r} has no {' and no '.join(missing)}. Retry transient errors "
                   "(Lambda.ServiceException, Lambda.TooManyRequestsException, States.Timeout) and Catch "
                   "States.ALL into a failure-recording state, so no input is lost.")


_REPORTED = ("The definition embeds function ARNs, so it is unknown at preview when they are new: the engine "
             "reports 'can't run policy ... during preview' and the policy runs during `pulumi up`.")

_rules = Rules(area=AREA, level=MANDATORY, unknown="report", unknown_doc=_REPORTED)

SFN_STATEMACHINE_DEFINITION_VALID = _rules.resource(
    "sfn-statemachine-definition-valid", "State machine definitions must be structurally valid Amazon States "
    "Language.", (STATE_MACHINE,), _valid, Severity.HIGH,
    why="An invalid definition fails the deploy (CreateStateMachine validates it), after the functions were already "
        "created. Checks StartAt, Type, Next/End, transition targets, Task Resource, Choice rules, Retry/Catch "
        "ErrorEquals, recursively in Map and Parallel.",
    fix="Build the definition with the typed ASL builder; never hand-write JSON.", refs=("sciflow",))

SFN_STATEMACHINE_DEFINITION_SIZE = _rules.resource(
    "sfn-statemachine-definition-size", "State machine definitions must be at most 1 MiB (1,048,576 bytes).",
    (STATE_MACHINE,), _size, Severity.MEDIUM, why="Step Functions rejects larger definitions.",
    fix="Keep data out of the definition (S3, ItemReader).", refs=("sciflow", "Step Functions quotas"))

SFN_STATEMACHINE_TASK_RETRY_CATCH = _rules.resource(
    "sfn-statemachine-task-retry-catch", "Every Task state must Retry and Catch (Catch may come from an enclosing Map "
    "or Parallel).", (STATE_MACHINE,), _retry_catch, Severity.MEDIUM, level=ADVISORY,
    why="An uncaught Task error fails the whole execution and the input's outcome is never recorded.",
    fix="Retry with backoff on transient errors; Catch States.ALL into a state that records the failure and sends "
        "the input to the DLQ.", refs=("sciflow",))

POLICIES: list[AnyPolicy] = [
    SFN_STATEMACHINE_DEFINITION_VALID,
    SFN_STATEMACHINE_DEFINITION_SIZE,
    SFN_STATEMACHINE_TASK_RETRY_CATCH,
]
