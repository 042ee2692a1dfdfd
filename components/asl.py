"""A typed Amazon States Language builder: dataclasses for states -> plain Python dicts.

Nothing here imports Pulumi or formats JSON: values may be ``pulumi.Output`` objects (function ARNs, queue
URLs) and the component serializes the finished dict once with ``pulumi.Output.json_dumps``. Tests build the
same dicts with plain strings and validate them with statelint, and the embedded AWS executes them.

The EtlPipeline's machine is built from these states in :mod:`components.etl_state_machine`.

Example
-------
>>> machine = StateMachine(start_at="Done", states={"Done": SucceedState()})
>>> machine.to_dict()
{'StartAt': 'Done', 'States': {'Done': {'Type': 'Succeed'}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
S3_GET = "arn:aws:states:::s3:getObject"
S3_PUT = "arn:aws:states:::s3:putObject"
S3_LIST = "arn:aws:states:::s3:listObjectsV2"
SFN_START_SYNC = "arn:aws:states:::states:startExecution.sync:2"
"""Start a state machine execution and wait for it (output parsed as JSON)."""
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
"""Lambda service errors and throttling: retried with backoff (AWS's recommended set plus throttling)."""
AWS_SDK_TRANSIENT_ERRORS = (
    "ClientError",
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
)
"""What a handler raises when S3/DynamoDB throttle or the network hiccups (botocore's exception names). Data
errors (``FileRejected``, ``IncompleteRun`` ...) are not in this list: they fail the run at once."""


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Retrier:
    """One ``Retry`` entry (exponential backoff with full jitter by default).

    Example
    -------
    >>> Retrier(("States.Timeout",), interval_s=1, max_attempts=2).to_dict()["JitterStrategy"]
    'FULL'
    """

    errors: tuple[str, ...]
    interval_s: int = 2
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_s: int | None = 60
    jitter: str | None = "FULL"

    def __post_init__(self) -> None:
        if not self.errors:
            raise ValueError("a retrier needs at least one error name")
        if self.interval_s < 1 or self.max_attempts < 0 or self.backoff_rate < 1.0:
            raise ValueError("retrier: interval_s >= 1, max_attempts >= 0, backoff_rate >= 1.0")
        if self.jitter not in (None, "FULL", "NONE"):
            raise ValueError(f"retrier: jitter must be FULL or NONE, not {self.jitter!r}")

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"ErrorEquals": list(self.errors), "IntervalSeconds": self.interval_s,
                           "MaxAttempts": self.max_attempts, "BackoffRate": self.backoff_rate,
                           "MaxDelaySeconds": self.max_delay_s, "JitterStrategy": self.jitter})


@dataclass(frozen=True)
class Catcher:
    """One ``Catch`` entry.

    Example
    -------
    >>> Catcher("Fallback").to_dict()
    {'ErrorEquals': ['States.ALL'], 'Next': 'Fallback', 'ResultPath': '$.error'}
    """

    next: str
    errors: tuple[str, ...] = ("States.ALL",)
    result_path: str | None = "$.error"

    def to_dict(self) -> dict[str, Any]:
        return {"ErrorEquals": list(self.errors), "Next": self.next, "ResultPath": self.result_path}


@dataclass(frozen=True)
class _Flow:
    """Fields shared by states that continue: exactly one of ``next`` and ``end``."""

    next: str | None = None
    end: bool = False
    comment: str | None = None

    def _flow(self) -> dict[str, Any]:
        if (self.next is None) == (not self.end):
            raise ValueError("a state needs exactly one of next=... or end=True")
        return {"Next": self.next} if self.next is not None else {"End": True}


def _with_error_handling(out: dict[str, Any], result_path: str | None, retry: Sequence[Retrier],
                         catch: Sequence[Catcher], flow: dict[str, Any]) -> dict[str, Any]:
    """The tail Task and Map states share: ``ResultPath`` (left out when it is the default ``$``), ``Retry``,
    ``Catch``, then ``Next``/``End``."""
    if result_path != "$":
        out["ResultPath"] = result_path
    if retry:
        out["Retry"] = [r.to_dict() for r in retry]
    if catch:
        out["Catch"] = [c.to_dict() for c in catch]
    return {**out, **flow}


@dataclass(frozen=True)
class TaskState(_Flow):
    """A ``Task`` state.

    Example
    -------
    >>> TaskState(resource="arn:aws:states:::lambda:invoke", parameters={"FunctionName": "f"}, end=True
    ...           ).to_dict()["Type"]
    'Task'
    """

    resource: Any = None
    parameters: Mapping[str, Any] | None = None
    result_selector: Mapping[str, Any] | None = None
    result_path: str | None = "$"
    output_path: str | None = None
    timeout_s: int | None = None
    retry: Sequence[Retrier] = ()
    catch: Sequence[Catcher] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.resource is None:
            raise ValueError("a Task needs a resource")
        out = _drop_none({"Type": "Task", "Comment": self.comment, "Resource": self.resource,
                          "Parameters": dict(self.parameters) if self.parameters is not None else None,
                          "ResultSelector": dict(self.result_selector) if self.result_selector else None,
                          "TimeoutSeconds": self.timeout_s, "OutputPath": self.output_path})
        return _with_error_handling(out, self.result_path, self.retry, self.catch, self._flow())


@dataclass(frozen=True)
class ChoiceRule:
    """``{"Variable": ..., "BooleanEquals" | "StringMatches": ..., "Next": ...}`` (the comparisons the builder
    needs; exactly one).

    Example
    -------
    >>> ChoiceRule("$.x", True, "Yes").to_dict()
    {'Variable': '$.x', 'BooleanEquals': True, 'Next': 'Yes'}
    >>> ChoiceRule("$.key", None, "Csv", string_matches="*.csv").to_dict()
    {'Variable': '$.key', 'StringMatches': '*.csv', 'Next': 'Csv'}
    """

    variable: str
    boolean_equals: bool | None
    next: str
    string_matches: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if (self.boolean_equals is None) == (self.string_matches is None):
            raise ValueError("a choice rule needs exactly one of boolean_equals, string_matches")
        test = ({"BooleanEquals": self.boolean_equals} if self.boolean_equals is not None
                else {"StringMatches": self.string_matches})
        return {"Variable": self.variable, **test, "Next": self.next}


@dataclass(frozen=True)
class ChoiceState:
    """A ``Choice`` state with a default.

    Example
    -------
    >>> ChoiceState((ChoiceRule("$.x", True, "A"),), default="B").to_dict()["Default"]
    'B'
    """

    choices: tuple[ChoiceRule, ...]
    default: str
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if not self.choices:
            raise ValueError("a Choice needs at least one rule")
        return _drop_none({"Type": "Choice", "Comment": self.comment,
                           "Choices": [c.to_dict() for c in self.choices], "Default": self.default})


@dataclass(frozen=True)
class SucceedState:
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"Type": "Succeed", "Comment": self.comment})


@dataclass(frozen=True)
class FailState:
    """A ``Fail`` state with a static error and cause."""

    error: str
    cause: str
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"Type": "Fail", "Comment": self.comment, "Error": self.error, "Cause": self.cause})


@dataclass(frozen=True)
class ItemReader:
    """Distributed Map input from S3: a JSON array object (``S3_GET``), or the objects under a prefix
    (``S3_LIST``: ``ListObjectsV2``, each item ``{"Key", "ETag", "Size", "LastModified", ...}``, no
    ``ReaderConfig``).

    Example
    -------
    >>> ItemReader({"Bucket.$": "$.b", "Key.$": "$.k"}).to_dict()["ReaderConfig"]
    {'InputType': 'JSON'}
    >>> ItemReader({"Bucket": "b", "Prefix": "in/"}, resource=S3_LIST).to_dict()
    {'Resource': 'arn:aws:states:::s3:listObjectsV2', 'Parameters': {'Bucket': 'b', 'Prefix': 'in/'}}
    """

    parameters: Mapping[str, Any]
    resource: str = S3_GET
    input_type: str = "JSON"

    def to_dict(self) -> dict[str, Any]:
        if self.resource == S3_LIST:
            return {"Resource": self.resource, "Parameters": dict(self.parameters)}
        return {"Resource": self.resource, "ReaderConfig": {"InputType": self.input_type},
                "Parameters": dict(self.parameters)}


@dataclass(frozen=True)
class ResultWriter:
    """Distributed Map results written to ``s3://bucket/prefix``."""

    bucket: Any
    prefix: Any

    def to_dict(self) -> dict[str, Any]:
        return {"Resource": S3_PUT, "Parameters": {"Bucket": self.bucket, "Prefix": self.prefix}}


@dataclass(frozen=True)
class MapState(_Flow):
    """A ``Map`` state, ``INLINE`` (items from the payload) or ``DISTRIBUTED`` (items from S3).

    Example
    -------
    >>> m = MapState(processor=StateMachine("A", {"A": SucceedState()}), items_path="$.items", end=True)
    >>> m.to_dict()["ItemProcessor"]["ProcessorConfig"]
    {'Mode': 'INLINE'}
    """

    processor: StateMachine | None = None
    mode: str = "INLINE"
    execution_type: str = "STANDARD"
    items_path: str | None = None
    item_reader: ItemReader | None = None
    item_selector: Mapping[str, Any] | None = None
    max_concurrency: int | None = None
    tolerated_failure_percentage: int | None = None
    result_writer: ResultWriter | None = None
    result_path: str | None = "$"
    retry: Sequence[Retrier] = ()
    catch: Sequence[Catcher] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.processor is None:
            raise ValueError("a Map needs a processor")
        if self.mode not in ("INLINE", "DISTRIBUTED"):
            raise ValueError(f"Map mode must be INLINE or DISTRIBUTED, not {self.mode!r}")
        distributed = self.mode == "DISTRIBUTED"
        if not distributed and (self.item_reader or self.result_writer or self.tolerated_failure_percentage
                                is not None):
            raise ValueError("ItemReader, ResultWriter and ToleratedFailurePercentage need DISTRIBUTED")
        if distributed and self.items_path:
            raise ValueError("a DISTRIBUTED Map reads its items with item_reader, not items_path")
        config: dict[str, Any] = {"Mode": self.mode}
        if distributed:
            config["ExecutionType"] = self.execution_type
        out = _drop_none({
            "Type": "Map", "Comment": self.comment,
            "ItemProcessor": {"ProcessorConfig": config, **self.processor.to_dict()},
            "ItemsPath": self.items_path,
            "ItemReader": self.item_reader.to_dict() if self.item_reader else None,
            "ItemSelector": dict(self.item_selector) if self.item_selector else None,
            "MaxConcurrency": self.max_concurrency,
            "ToleratedFailurePercentage": self.tolerated_failure_percentage,
            "ResultWriter": self.result_writer.to_dict() if self.result_writer else None,
        })
        return _with_error_handling(out, self.result_path, self.retry, self.catch, self._flow())


State = TaskState | ChoiceState | MapState | SucceedState | FailState


@dataclass(frozen=True)
class StateMachine:
    """A state machine (or a Map's processor): every ``Next``/``Default`` must name a state in ``states``.

    Example
    -------
    >>> StateMachine("A", {"A": TaskState(resource="r", next="Missing")}).to_dict()
    Traceback (most recent call last):
    ...
    ValueError: state 'A' goes to unknown state 'Missing'
    """

    start_at: str
    states: Mapping[str, State]
    comment: str | None = None
    timeout_s: int | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.start_at not in self.states:
            raise ValueError(f"StartAt {self.start_at!r} is not a state")
        for name, state in self.states.items():
            targets = [getattr(state, "next", None), getattr(state, "default", None)]
            targets += [rule.next for rule in getattr(state, "choices", ())]
            targets += [c.next for c in getattr(state, "catch", ())]
            for target in targets:
                if target is not None and target not in self.states:
                    raise ValueError(f"state {name!r} goes to unknown state {target!r}")
        return _drop_none({"Comment": self.comment, "StartAt": self.start_at, "TimeoutSeconds": self.timeout_s,
                           "States": {name: state.to_dict() for name, state in self.states.items()}})
