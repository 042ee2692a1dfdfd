"""The EtlPipeline state machine, built with :mod:`components.asl` from the step contract.

Every payload key and JSONPath comes from :mod:`handlers.etl.contract` (``state_path``, ``parameters``,
``payload_selector``), so a renamed or missing field fails here, at synthesis, not in a running execution::

    Ingest -> IsDuplicate? -> ChooseMap -> InlineMap | DistributedMap (Validate -> Transform) -> Output
       \\________________________ Catch (States.ALL) __________________/
                                     RecordFailure -> SendToDlq -> Failed

Pure: no Pulumi imports; ARNs and URLs may be ``pulumi.Output`` values (the component serializes the dict once
with ``pulumi.Output.json_dumps``).

Example
-------
>>> spec = EtlDefinitionSpec(*"ivtof", dlq_url="q", results_bucket="b", results_prefix="p/")
>>> etl_definition(spec)["States"]["Output"]["Parameters"]
{'FunctionName': 'o', 'Payload': {'run.$': '$.plan.run'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.asl import (
    AWS_SDK_TRANSIENT_ERRORS,
    LAMBDA_INVOKE,
    LAMBDA_TRANSIENT_ERRORS,
    S3_LIST,
    SFN_START_SYNC,
    SQS_SEND,
    Catcher,
    ChoiceRule,
    ChoiceState,
    FailState,
    ItemReader,
    MapState,
    ResultWriter,
    Retrier,
    State,
    StateMachine,
    SucceedState,
    TaskState,
)
from handlers.etl import contract as c


@dataclass(frozen=True)
class EtlDefinitionSpec:
    """Inputs of :func:`etl_definition` (ARNs/URLs may be ``pulumi.Output``).

    ``retry_*`` configure the Lambda transient-error retrier of every Task. ``distributed=False`` leaves the
    Distributed Map out (EXPRESS workflows cannot run one).
    """

    ingest_arn: Any
    validate_arn: Any
    transform_arn: Any
    output_arn: Any
    on_failure_arn: Any
    dlq_url: Any
    results_bucket: Any
    results_prefix: Any
    max_concurrency: int = 4
    distributed_max_concurrency: int = 100
    tolerated_failure_percentage: int = 0
    map_execution_type: str = "STANDARD"
    distributed: bool = True
    retry_interval_s: int = 2
    retry_max_attempts: int = 3
    retry_backoff_rate: float = 2.0
    task_timeout_s: int | None = None
    timeout_s: int | None = None


def _invoke(arn: Any, payload: Mapping[str, Any] | str) -> dict[str, Any]:
    """``lambda:invoke`` parameters: a built payload, or a JSONPath passing part of the state as is."""
    key = f"{c.LAMBDA_PAYLOAD}.$" if isinstance(payload, str) else c.LAMBDA_PAYLOAD
    return {"FunctionName": arn, key: payload}


def partition_processor(spec: EtlDefinitionSpec, retry: Sequence[Retrier], suffix: str = "") -> StateMachine:
    """Validate -> Transform for one partition (the Map's processor; errors propagate to the Map's Catch).

    The Map item is a :class:`~handlers.etl.contract.ValidateInput`; Validate's output is the Transform's input.
    State names must be unique in the whole machine, so each Map gets its own ``suffix``.

    Example
    -------
    >>> partition_processor(EtlDefinitionSpec(*"ivtof", dlq_url="q", results_bucket="b", results_prefix="p/"),
    ...                     [], "Distributed").start_at
    'ValidateDistributed'
    """
    validate, transform = f"Validate{suffix}", f"Transform{suffix}"
    whole, result = c.state_path(), c.LAMBDA_RESULT
    return StateMachine(validate, {
        validate: TaskState(resource=LAMBDA_INVOKE, parameters=_invoke(spec.validate_arn, whole),
                            output_path=result, retry=retry, timeout_s=spec.task_timeout_s, next=transform),
        transform: TaskState(resource=LAMBDA_INVOKE, parameters=_invoke(spec.transform_arn, whole),
                             output_path=result, retry=retry, timeout_s=spec.task_timeout_s, end=True),
    })


def etl_definition(spec: EtlDefinitionSpec) -> dict[str, Any]:
    """The EtlPipeline state machine as a dict (serialize with ``pulumi.Output.json_dumps``).

    The input is the EventBridge S3 event; every step keeps it and adds its result under its own key of
    :class:`~handlers.etl.contract.ExecutionState`, so the failure path always has ``$.detail``.

    Example
    -------
    >>> spec = EtlDefinitionSpec(*"ivtof", dlq_url="q", results_bucket="b", results_prefix="p/")
    >>> etl_definition(spec)["StartAt"]
    'Ingest'
    """
    retry = [Retrier(errors, interval_s=spec.retry_interval_s, max_attempts=spec.retry_max_attempts,
                     backoff_rate=spec.retry_backoff_rate)
             for errors in (LAMBDA_TRANSIENT_ERRORS, AWS_SDK_TRANSIENT_ERRORS)]
    error = c.state_path("error")
    catch = [Catcher("RecordFailure", result_path=error)]
    detail, run = c.state_path("detail"), c.state_path("plan", "run")
    item = c.parameters(c.ValidateInput, {"run": run, "partition": c.MAP_ITEM})
    states: dict[str, State] = {
        "Ingest": TaskState(
            comment="Claim the object version in the ledger and plan partitions",
            resource=LAMBDA_INVOKE,
            parameters=_invoke(spec.ingest_arn, c.parameters(c.IngestInput, {"detail": detail,
                                                                              "execution_id": c.EXECUTION_ID})),
            result_selector=c.payload_selector(c.IngestOutput),
            result_path=c.state_path("plan"), retry=retry, catch=catch, timeout_s=spec.task_timeout_s,
            next="IsDuplicate"),
        "IsDuplicate": ChoiceState((ChoiceRule(c.state_path("plan", "duplicate"), True, "AlreadyProcessed"),),
                                   default="ChooseMap" if spec.distributed else "InlineMap"),
        "AlreadyProcessed": SucceedState(comment="This object version was already handled by another run"),
        "ChooseMap": ChoiceState((ChoiceRule(c.state_path("plan", "distributed"), True, "DistributedMap"),),
                                 default="InlineMap", comment="Distributed Map above the partition threshold"),
        "InlineMap": MapState(
            processor=partition_processor(spec, retry), items_path=c.state_path("plan", "partitions"),
            item_selector=item, max_concurrency=spec.max_concurrency, result_path=None, catch=catch,
            next="Output"),
        "DistributedMap": MapState(
            processor=partition_processor(spec, retry, "Distributed"), mode="DISTRIBUTED",
            execution_type=spec.map_execution_type,
            item_reader=ItemReader({"Bucket.$": c.state_path("plan", "items", "bucket"),
                                    "Key.$": c.state_path("plan", "items", "key")}),
            item_selector=item, max_concurrency=spec.distributed_max_concurrency,
            # 0 is AWS's default; omitted because moto 5.2's ASL grammar takes only a decimal here, statelint
            # only an integer
            tolerated_failure_percentage=spec.tolerated_failure_percentage or None,
            result_writer=ResultWriter(spec.results_bucket, spec.results_prefix),
            result_path=None, catch=catch, next="Output"),
        "Output": TaskState(
            comment="Assemble partitions, publish (manifest last), mark COMPLETED[_WITH_REJECTS]",
            resource=LAMBDA_INVOKE, parameters=_invoke(spec.output_arn, c.parameters(c.OutputInput, {"run": run})),
            result_selector=c.payload_selector(c.OutputOutput),
            result_path=c.state_path("result"), retry=retry, catch=catch, timeout_s=spec.task_timeout_s, end=True),
        "RecordFailure": TaskState(
            comment="Ledger FAILED with error and cause",
            resource=LAMBDA_INVOKE,
            parameters=_invoke(spec.on_failure_arn, c.parameters(c.FailureInput, {
                "detail": detail, "execution_id": c.EXECUTION_ID, "error": error})),
            result_selector=c.payload_selector(c.FailureRecorded), result_path=c.state_path("failure"),
            retry=retry, catch=[Catcher("SendToDlq", result_path=c.state_path("failure_error"))],
            timeout_s=spec.task_timeout_s, next="SendToDlq"),
        "SendToDlq": TaskState(
            comment="One message per failed run",
            resource=SQS_SEND,
            parameters={"QueueUrl": spec.dlq_url,
                        "MessageBody": c.parameters(c.DlqMessage, {"execution_id": c.EXECUTION_ID, "detail": detail,
                                                                   "error": error})},
            result_path=None,
            retry=[Retrier(("States.ALL",), interval_s=spec.retry_interval_s,
                           max_attempts=spec.retry_max_attempts, backoff_rate=spec.retry_backoff_rate)],
            catch=[Catcher("Failed", result_path=c.state_path("dlq_error"))], next="Failed"),
        "Failed": FailState(error="EtlRunFailed", cause="The run failed: see the ledger item and the DLQ message"),
    }
    if not spec.distributed:
        del states["ChooseMap"], states["DistributedMap"]
    return StateMachine("Ingest", states, comment="sciflow EtlPipeline", timeout_s=spec.timeout_s).to_dict()


# --------------------------------------------------------------------------- the batch run
SFN_TRANSIENT_ERRORS = ("StepFunctions.ExecutionLimitExceededException", "StepFunctions.ThrottlingException",
                        "StepFunctions.SdkClientException")
"""Starting a child execution can be throttled or hit the open-executions quota: retried with backoff."""


@dataclass(frozen=True)
class BatchDefinitionSpec:
    """Inputs of :func:`batch_definition` (ARNs and names may be ``pulumi.Output``).

    ``schedule`` is the name each run's ``source`` records (``schedule:<name>``); ``suffix`` filters keys as the
    per-file rule does (``""`` = every key).
    """

    file_machine_arn: Any
    raw_bucket: Any
    prefix: str
    suffix: str
    schedule: str
    results_bucket: Any
    results_prefix: Any
    max_concurrency: int = 10
    retry_interval_s: int = 2
    retry_max_attempts: int = 3
    retry_backoff_rate: float = 2.0


def batch_item(spec: BatchDefinitionSpec) -> dict[str, Any]:
    """The Distributed Map's ``ItemSelector``: each listed object as the ``detail`` an upload's event carries,
    plus the schedule's name (keys checked against :mod:`handlers.etl.contract`).

    Example
    -------
    >>> batch_item(BatchDefinitionSpec("m", "raw", "in/", ".csv", "p-batch", "b", "r/"))["detail"]["object"]
    {'key.$': '$$.Map.Item.Value.Key', 'etag.$': '$$.Map.Item.Value.ETag', 'size.$': '$$.Map.Item.Value.Size'}
    """
    listed = dict(zip(("key", "etag", "size"), c.fields(c.ListedObject), strict=True))
    unknown = set(listed) - set(c.fields(c.S3Object))
    if unknown:  # pragma: no cover - a contract edit that forgot the batch
        raise KeyError(f"S3Object has no field {', '.join(sorted(unknown))}")
    detail = {"bucket": {"name": spec.raw_bucket},
              "object": {f"{ours}.$": f"{c.MAP_ITEM}.{theirs}" for ours, theirs in listed.items()},
              c.BATCH_SCHEDULE: spec.schedule}
    if set(detail) - set(c.fields(c.S3ObjectDetail)):  # pragma: no cover - same
        raise KeyError("the batch detail does not match S3ObjectDetail")
    return {"detail": detail}


def batch_definition(spec: BatchDefinitionSpec) -> dict[str, Any]:
    """The batch run: a Distributed Map over ``ListObjectsV2`` of the raw prefix that starts the per-file
    machine (``startExecution.sync:2``) for every key ending in the suffix. The per-file machine's ledger claim
    keeps it exactly-once: an object already run (by its upload's event or an earlier batch) ends at
    ``AlreadyProcessed`` in the child. A file whose run fails is recorded there (ledger FAILED, DLQ) and does
    not fail the batch; results go to S3 (``ResultWriter``), never into the state.

    Example
    -------
    >>> d = batch_definition(BatchDefinitionSpec("m", "raw", "in/", ".csv", "p-batch", "b", "r/"))
    >>> d["States"]["Sweep"]["ItemReader"]
    {'Resource': 'arn:aws:states:::s3:listObjectsV2', 'Parameters': {'Bucket': 'raw', 'Prefix': 'in/'}}
    >>> d["States"]["Sweep"]["ItemProcessor"]["States"]["IsInput"]["Choices"][0]["StringMatches"]
    '*.csv'
    """
    retry = [Retrier(SFN_TRANSIENT_ERRORS, interval_s=spec.retry_interval_s, max_attempts=spec.retry_max_attempts,
                     backoff_rate=spec.retry_backoff_rate)]
    child_input = c.parameters(c.BatchChildInput, {"detail": c.state_path("detail"),
                                                   "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": c.EXECUTION_ID})
    run_file = TaskState(
        comment="Run the per-file machine on this object and wait (a name unique to this batch item)",
        resource=SFN_START_SYNC,
        parameters={"StateMachineArn": spec.file_machine_arn, "Input": child_input,
                    "Name.$": f"States.Hash(States.Format('{{}}#{{}}', {c.EXECUTION_ID}, "
                              f"{c.state_path('detail', 'object', 'key')}), 'SHA-1')"},
        result_selector={"status.$": "$.Status"}, result_path="$.run", retry=retry,
        catch=[Catcher("FileFailed", ("States.TaskFailed",), result_path="$.error"),
               Catcher("FileAlreadyStarted", ("StepFunctions.ExecutionAlreadyExistsException",),
                       result_path="$.error")],
        end=True)
    states: dict[str, State] = {
        "RunFile": run_file,
        "FileFailed": SucceedState(comment="The run failed and is recorded (ledger FAILED, one DLQ message)"),
        "FileAlreadyStarted": SucceedState(comment="A retry found this item's run already started"),
    }
    start = "RunFile"
    if spec.suffix:
        states["IsInput"] = ChoiceState((ChoiceRule(c.state_path("detail", "object", "key"), None, "RunFile",
                                                    string_matches=f"*{spec.suffix}"),),
                                        default="NotAnInput", comment="The per-file rule's suffix filter")
        states["NotAnInput"] = SucceedState(comment="Not a key the pipeline ingests")
        start = "IsInput"
    sweep = MapState(
        comment="Every object under the prefix, as its upload's event would describe it",
        processor=StateMachine(start, states), mode="DISTRIBUTED", execution_type="STANDARD",
        item_reader=ItemReader({"Bucket": spec.raw_bucket, "Prefix": spec.prefix}, resource=S3_LIST),
        item_selector=batch_item(spec), max_concurrency=spec.max_concurrency,
        result_writer=ResultWriter(spec.results_bucket, spec.results_prefix), result_path=None, end=True)
    return StateMachine("Sweep", {"Sweep": sweep}, comment="sciflow EtlPipeline batch run").to_dict()
