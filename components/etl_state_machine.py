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
