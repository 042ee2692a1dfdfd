"""Scheduled batch runs of an EtlPipeline: an EventBridge Scheduler schedule starts a batch state machine that
runs the per-file machine over every object under a prefix that is not yet in the run ledger.

One batch = a schedule (time zone, flexible window; its own role may only ``states:StartExecution`` on the batch
machine, and dead-letter into the pipeline's DLQ) -> the batch machine (:func:`components.etl_state_machine.
batch_definition`: a Distributed Map over ``ListObjectsV2`` of the raw prefix, ``startExecution.sync:2`` of the
per-file machine for each key ending in ``input_suffix``) with its own role and log group. Exactly-once with
the per-file trigger comes from the per-object ledger claim in ingest: an object whose upload already ran (or
that an earlier batch ran) ends at ``AlreadyProcessed``; its ledger ``source`` stays what first ran it.

Example
-------
>>> EtlPipelineArgs(dataset="sensor_readings", batch=BatchArgs(schedule="cron(0 2 * * ? *)",
...                 timezone="Europe/Berlin"))                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.etl_state_machine import BatchDefinitionSpec, batch_definition
from components.functions import XRAY_STATEMENT
from components.iam import Statement, create_role, kms_use, list_prefix, policy_document, s3_objects
from components.schema import knob, validate
from components.storage import create_log_group, send_to_queue
from handlers.etl import settings as etl_env
from handlers.runtime import validators as v

if TYPE_CHECKING:
    from components.etl_pipeline import EtlPipeline

BATCH_RESULTS = "batch-results/"
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
"""The managed EventBridge rule Step Functions uses to learn that a ``.sync`` child execution finished."""
LOG_DELIVERY_ACTIONS = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")
"""What Step Functions needs to deliver execution logs (AWS grants these only on ``*``)."""


@dataclass(frozen=True)
class BatchArgs:
    """A scheduled batch run over the objects under ``prefix`` (default: the pipeline's ``input_prefix``)."""

    schedule: str = knob(check=v.schedule, doc="`cron(...)` or `rate(...)`, in `timezone`")
    timezone: str = knob("UTC", check=v.timezone, doc="IANA zone of the schedule")
    flexible_window_minutes: int = knob(0, check=v.int_range(0, 1440),
                                        doc="0 = off; else Scheduler may start up to this many minutes late")
    prefix: str | None = knob(None, check=v.optional(v.s3_prefix),
                              doc="what to sweep, inside `inputPrefix` (default: all of it)")
    max_concurrency: int = knob(10, check=v.int_range(1, 1000), doc="files run at once")

    def __post_init__(self) -> None:
        validate(self)


def schedule_name(pipeline: str) -> str:
    """The batch schedule's name, recorded as the source of its runs (``schedule:<name>``).

    >>> schedule_name("sensor-etl")
    'sensor-etl-batch'
    """
    return f"{pipeline}-batch"


def _executions(state_machine_arn: pulumi.Input[str]) -> pulumi.Input[str]:
    def of(arn: str) -> str:
        return arn.replace(":stateMachine:", ":execution:", 1) + ":*"
    return state_machine_arn.apply(of) if isinstance(state_machine_arn, pulumi.Output) else of(str(state_machine_arn))


def sync_rule_arn(state_machine_arn: str) -> str:
    """The ARN of :data:`SYNC_RULE` in the state machine's partition, region and account.

    >>> sync_rule_arn("arn:aws:states:ap-south-1:123456789012:stateMachine:m")
    'arn:aws:events:ap-south-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule'
    """
    _, partition, _, region, account = state_machine_arn.split(":")[:5]
    return f"arn:{partition}:events:{region}:{account}:rule/{SYNC_RULE}"


def batch_statements(*, file_machine_arn: pulumi.Input[str], raw_arn: pulumi.Input[str], prefix: str,
                     processed_arn: pulumi.Input[str], pipeline: str,
                     kms_key_arn: pulumi.Input[str]) -> list[Statement]:
    """The batch machine role's statements (its own Distributed Map children are added separately).

    Example
    -------
    >>> [s.sid for s in batch_statements(file_machine_arn="arn:aws:states:r:1:stateMachine:f",
    ...  raw_arn="arn:aws:s3:::raw", prefix="in/", processed_arn="arn:aws:s3:::p", pipeline="p",
    ...  kms_key_arn="k")]  # doctest: +NORMALIZE_WHITESPACE
    ['ListBatchPrefix', 'StartFileRuns', 'ManageFileRuns', 'LearnFileRunsEnded', 'DistributedMapWriteResults',
     'UseKey', 'DeliverLogs', 'XRayTracing']
    """
    results = (s3_objects(processed_arn, etl_env.staging_prefix(pipeline) + BATCH_RESULTS)
               if isinstance(processed_arn, pulumi.Output)
               else f"{processed_arn}/{etl_env.staging_prefix(pipeline)}{BATCH_RESULTS}*")
    sync_rule = (file_machine_arn.apply(sync_rule_arn) if isinstance(file_machine_arn, pulumi.Output)
                 else sync_rule_arn(str(file_machine_arn)))
    return [
        list_prefix(raw_arn, prefix, sid="ListBatchPrefix"),
        Statement(sid="StartFileRuns", actions=("states:StartExecution",), resources=(file_machine_arn,)),
        Statement(sid="ManageFileRuns", actions=("states:DescribeExecution", "states:StopExecution"),
                  resources=(_executions(file_machine_arn),)),
        Statement(sid="LearnFileRunsEnded", actions=("events:PutTargets", "events:PutRule", "events:DescribeRule"),
                  resources=(sync_rule,)),
        Statement(sid="DistributedMapWriteResults",
                  actions=("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"),
                  resources=(results,)),
        kms_use(kms_key_arn),
        Statement(sid="DeliverLogs", actions=LOG_DELIVERY_ACTIONS, resources=("*",)),
        Statement(sid="XRayTracing", actions=(*XRAY_STATEMENT.actions, "xray:GetSamplingRules",
                                              "xray:GetSamplingTargets"), resources=("*",)),
    ]


def batch_spec(pipeline: EtlPipeline, name: str, batch: BatchArgs) -> BatchDefinitionSpec:
    """The batch machine's inputs for ``pipeline``."""
    args = pipeline.args
    return BatchDefinitionSpec(
        file_machine_arn=pipeline.state_machine.arn, raw_bucket=pipeline.raw_bucket_name,
        prefix=batch.prefix if batch.prefix is not None else args.input_prefix, suffix=args.input_suffix,
        schedule=schedule_name(name), results_bucket=pipeline.processed_bucket_name,
        results_prefix=etl_env.staging_prefix(name) + BATCH_RESULTS, max_concurrency=batch.max_concurrency,
        retry_interval_s=args.retry.interval_s, retry_max_attempts=args.retry.max_attempts,
        retry_backoff_rate=args.retry.backoff_rate)


@dataclass
class BatchResources:
    """What :func:`create_batch` declared."""

    state_machine: aws.sfn.StateMachine
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    scheduler_role: aws.iam.Role
    schedule: aws.scheduler.Schedule
    statements: Sequence[Statement]


def create_batch(pipeline: EtlPipeline, name: str, batch: BatchArgs) -> BatchResources:
    """Declare the batch machine, its role and logs, and the schedule starting it (children of ``pipeline``)."""
    from components.etl_pipeline import distributed_map_statements
    from components.scheduled_computation import create_schedule

    args, opts = pipeline.args, pulumi.ResourceOptions(parent=pipeline)
    identity = aws.get_caller_identity_output()
    spec = batch_spec(pipeline, name, batch)
    log_group = create_log_group(f"{name}-batch-sfn", kms_key=pipeline.kms_key, retention_days=args.log_retention_days,
                                 parent=pipeline, tags=pipeline.tags)
    statements = batch_statements(
        file_machine_arn=pipeline.state_machine.arn, raw_arn=pipeline.raw_bucket_arn, prefix=spec.prefix,
        processed_arn=pipeline.processed_bucket_arn, pipeline=name, kms_key_arn=pipeline.kms_key.arn)
    role = create_role(f"{name}-batch-sfn", service="states.amazonaws.com", statements=statements,
                       source_account=identity.account_id, parent=pipeline, tags=pipeline.tags)
    machine = aws.sfn.StateMachine(
        f"{name}-batch-sfn",
        role_arn=role.arn,
        type="STANDARD",
        definition=pulumi.Output.json_dumps(batch_definition(spec)),
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            log_destination=pulumi.Output.concat(log_group.arn, ":*"), include_execution_data=True, level="ALL"),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
        tags=dict(pipeline.tags),
        opts=pulumi.ResourceOptions(parent=pipeline, depends_on=[log_group]),
    )
    aws.iam.RolePolicy(f"{name}-batch-sfn-distributed-map-policy", role=role.id,
                       policy=policy_document(distributed_map_statements(machine.arn)), opts=opts)
    scheduler_role = create_role(
        f"{name}-batch-scheduler", service="scheduler.amazonaws.com",
        statements=[Statement(sid="StartBatchRun", actions=("states:StartExecution",), resources=(machine.arn,)),
                    *send_to_queue(pipeline.dlq, pipeline.kms_key)],
        source_account=identity.account_id, parent=pipeline, tags=pipeline.tags)
    schedule = create_schedule(
        f"{name}-batch-schedule", description=f"sciflow {name}: batch run over {spec.prefix}*{args.input_suffix}",
        expression=batch.schedule, timezone=batch.timezone, window_minutes=batch.flexible_window_minutes,
        kms_key=pipeline.kms_key, target_arn=machine.arn, role=scheduler_role, retry=args.retry, dlq=pipeline.dlq,
        parent=pipeline)
    return BatchResources(machine, role, log_group, scheduler_role, schedule, statements)
