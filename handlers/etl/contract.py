"""The ETL step contract: the step list, every step's input and output payload, and the execution state.

The EtlPipeline state machine (:mod:`components.etl_state_machine`) and every handler are built from this one
module: a payload key is spelled here once, and the state machine's JSONPaths come from :func:`state_path`
and :func:`payload_selector`, which refuse a key this module does not declare. Payloads carry S3 keys, byte
ranges and counts, never data.

The execution state (:class:`ExecutionState`) starts as the EventBridge event (``detail``); each step adds its
result under its own key::

    Ingest      IngestInput  -> IngestOutput   at $.plan
    Map item    ValidateInput (run + one PartitionSpec)
      Validate  ValidateInput -> ValidateOutput (the Transform's input)
      Transform ValidateOutput -> TransformOutput (and PartitionResult in staging)
    Output      OutputInput  -> OutputOutput   at $.result
    any error   StepError                      at $.error
    RecordFailure FailureInput -> FailureOutput at $.failure (then the DLQ message, DlqMessage)

Example
-------
>>> state_path("plan", "run")
'$.plan.run'
>>> payload_selector(OutputOutput)
{'status.$': '$.Payload.status', 'manifest_key.$': '$.Payload.manifest_key', 'counts.$': '$.Payload.counts'}
>>> state_path("plan", "nope")
Traceback (most recent call last):
...
KeyError: "'nope' is not a field of IngestOutput (fields: duplicate, distributed, run, partitions, items)"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, get_type_hints, is_typeddict

Step = Literal["ingest", "validate", "transform", "output", "on_failure"]
STEPS: tuple[Step, ...] = ("ingest", "validate", "transform", "output", "on_failure")
"""Every Lambda step of a pipeline, in run order (``on_failure`` only runs when a step fails)."""

EXECUTION_ID = "$$.Execution.Id"
"""Context path of the execution ARN (the ledger's owner of a run)."""
MAP_ITEM = "$$.Map.Item.Value"
"""Context path of the current Map item (one :class:`PartitionSpec`)."""
LAMBDA_PAYLOAD = "Payload"
"""Where ``arn:aws:states:::lambda:invoke`` puts the handler's return value."""
LAMBDA_RESULT = f"$.{LAMBDA_PAYLOAD}"
"""The handler's return value in a Lambda Task's result (an ``OutputPath``)."""


class S3Bucket(TypedDict):
    name: str


class S3Object(TypedDict):
    key: str
    size: NotRequired[int]
    etag: NotRequired[str]
    sequencer: NotRequired[str]


BATCH_SCHEDULE = "sciflow-schedule"
"""A batch run's item carries the schedule's name here (``detail``; the key of :data:`S3ObjectDetail` below, which
must spell it literally); ingest records ``schedule:<name>``."""

# ``version-id`` is not an identifier: the functional form is the only way to declare it.
S3ObjectDetail = TypedDict("S3ObjectDetail", {"bucket": S3Bucket, "object": S3Object, "version-id": NotRequired[str],
                                              "sciflow-schedule": NotRequired[str]})
"""The part of an S3 ``Object Created`` EventBridge event the pipeline reads (``detail``); a batch run's items
have the same shape (no version id: ingest reads it) plus :data:`BATCH_SCHEDULE`."""


class ListedObject(TypedDict):
    """One item of a batch run's listing (an ``s3:listObjectsV2`` ItemReader: ``$$.Map.Item.Value``); the batch
    turns it into an :data:`S3ObjectDetail` (``ETag`` quoted; ingest strips the quotes and reads the version)."""

    Key: str
    ETag: str
    Size: int


class BatchChildInput(TypedDict):
    """What a batch run starts the per-file state machine with: the same ``detail`` an upload's event has."""

    detail: S3ObjectDetail
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: str
    """AWS's field linking the child execution to the batch run in the console."""


class Run(TypedDict):
    """One run of one object version: identity, where the data is, and the plan (set by ingest)."""

    object_id: str
    run_id: str
    bucket: str
    key: str
    version_id: str | None
    dataset: str
    format: NotRequired[str]
    header_start: NotRequired[int]
    header_end: NotRequired[int]
    partition_count: NotRequired[int]
    rows: NotRequired[int]
    size: NotRequired[int]
    staged_input: NotRequired[bool]
    """The input was compressed: partitions (``part-NNNNN.input``) and the header (``header.input``) are in
    staging, decompressed, and ``start``/``end`` count decompressed bytes."""


class PartitionSpec(TypedDict):
    """A byte range ``[start, end)`` of the raw object holding ``rows`` records from ``first_row`` (1-based)."""

    index: int
    start: int
    end: int
    first_row: int
    rows: int


class Items(TypedDict, total=False):
    """Where the Distributed Map reads its items (a JSON array of :class:`PartitionSpec`); empty when inline."""

    bucket: str
    key: str


class IngestInput(TypedDict):
    detail: S3ObjectDetail
    execution_id: str


class IngestOutput(TypedDict):
    duplicate: bool
    distributed: bool
    run: Run
    partitions: list[PartitionSpec]
    items: Items


class ValidateInput(TypedDict):
    run: Run
    partition: PartitionSpec


class ValidateOutput(TypedDict):
    """The Validate step's result, which is also the Transform step's input."""

    run: Run
    partition: PartitionSpec
    rows: int
    valid: int
    rejected: int
    valid_key: str
    rejects_key: str | None


TransformInput = ValidateOutput


class TransformOutput(TypedDict):
    index: int
    result_key: str


class PartitionResult(TypedDict):
    """``part-NNNNN.result.json`` in staging: what the Output step needs from one partition.

    ``published`` rows are already rendered (``rows_key``, CSV without header); ``keys_key`` is the partition's
    key index (:mod:`handlers.etl.dedupe`), ``partial_key`` its partial aggregates, ``valid_key`` the validated
    rows (read, and transformed again, only when a duplicate across partitions removes some of them).
    """

    index: int
    first_row: int
    rows: int
    valid: int
    rejected: int
    duplicates: int
    published: int
    valid_key: str
    rows_key: str
    keys_key: str
    partial_key: str
    rejects_key: str | None


class OutputInput(TypedDict):
    run: Run


class Counts(TypedDict):
    """Every row of the file is exactly one of published, rejected (quarantined) or a dropped duplicate."""

    rows: int
    published: int
    rejected: int
    duplicates: int


class OutputOutput(TypedDict):
    status: str
    manifest_key: str
    counts: Counts


class StepError(TypedDict):
    """What a ``Catch`` puts in the state: the error name and its cause (a Lambda error's JSON document)."""

    Error: str
    Cause: NotRequired[str]


class FailureInput(TypedDict):
    detail: S3ObjectDetail
    execution_id: str
    error: StepError


class FailureOutput(TypedDict):
    object_id: str
    status: str
    error: str
    message: str
    execution_id: str
    recorded: bool


class FailureRecorded(TypedDict):
    """The part of :class:`FailureOutput` the state machine keeps."""

    recorded: bool


class DlqMessage(TypedDict):
    """One DLQ message per failed run; ``{"detail": ...}`` replays it (see the README)."""

    execution_id: str
    detail: S3ObjectDetail
    error: StepError


class ExecutionState(TypedDict):
    """The state the steps share: the event's ``detail`` plus each step's result under its own key."""

    detail: S3ObjectDetail
    plan: NotRequired[IngestOutput]
    result: NotRequired[OutputOutput]
    error: NotRequired[StepError]
    failure: NotRequired[FailureRecorded]
    failure_error: NotRequired[StepError]
    """RecordFailure itself failed (the run still goes to the DLQ)."""
    dlq_error: NotRequired[StepError]
    """Sending to the DLQ failed (the execution still fails, visibly)."""


def fields(typed: type) -> tuple[str, ...]:
    """The keys a TypedDict declares, in declaration order.

    Example
    -------
    >>> fields(TransformOutput)
    ('index', 'result_key')
    """
    if not is_typeddict(typed):
        raise TypeError(f"{typed!r} is not a TypedDict")
    return tuple(typed.__annotations__)


def _field_type(typed: type, key: str) -> Any:
    hints = get_type_hints(typed)
    if key not in hints:
        raise KeyError(f"{key!r} is not a field of {typed.__name__} (fields: {', '.join(fields(typed))})")
    hint = hints[key]
    return getattr(hint, "__args__", (hint,))[0] if getattr(hint, "__origin__", None) is NotRequired else hint


def state_path(*keys: str, root: type = ExecutionState) -> str:
    """The JSONPath of ``keys`` in the execution state, checked field by field against the contract.

    Example
    -------
    >>> state_path("plan", "items", "bucket")
    '$.plan.items.bucket'
    >>> state_path()
    '$'
    """
    typed: Any = root
    for key in keys:
        if not is_typeddict(typed):
            raise KeyError(f"{key!r}: {getattr(typed, '__name__', typed)} has no fields")
        typed = _field_type(typed, key)
    return ".".join(("$", *keys))


def payload_selector(typed: type) -> dict[str, str]:
    """A ``ResultSelector`` keeping every field of a step's output from the Lambda invoke result.

    Example
    -------
    >>> payload_selector(TransformOutput)
    {'index.$': '$.Payload.index', 'result_key.$': '$.Payload.result_key'}
    """
    return {f"{key}.$": f"{LAMBDA_RESULT}.{key}" for key in fields(typed)}


def parameters(typed: type, sources: Mapping[str, str]) -> dict[str, str]:
    """A ``Parameters`` block building a step's input: one JSONPath per field, all fields required.

    Example
    -------
    >>> parameters(OutputInput, {"run": state_path("plan", "run")})
    {'run.$': '$.plan.run'}
    >>> parameters(OutputInput, {})
    Traceback (most recent call last):
    ...
    KeyError: 'OutputInput: no source for run'
    """
    declared = fields(typed)
    missing = [k for k in declared if k not in sources]
    unknown = [k for k in sources if k not in declared]
    if missing or unknown:
        problem = f"no source for {', '.join(missing)}" if missing else f"unknown field {', '.join(unknown)}"
        raise KeyError(f"{typed.__name__}: {problem}")
    return {f"{key}.$": sources[key] for key in declared}


__all__ = [
    "BATCH_SCHEDULE",
    "EXECUTION_ID",
    "LAMBDA_PAYLOAD",
    "LAMBDA_RESULT",
    "MAP_ITEM",
    "STEPS",
    "BatchChildInput",
    "Counts",
    "DlqMessage",
    "ExecutionState",
    "FailureInput",
    "FailureOutput",
    "FailureRecorded",
    "IngestInput",
    "IngestOutput",
    "Items",
    "ListedObject",
    "OutputInput",
    "OutputOutput",
    "PartitionResult",
    "PartitionSpec",
    "Run",
    "S3ObjectDetail",
    "Step",
    "StepError",
    "TransformInput",
    "TransformOutput",
    "ValidateInput",
    "ValidateOutput",
    "fields",
    "parameters",
    "payload_selector",
    "state_path",
]
