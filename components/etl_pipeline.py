"""``EtlPipeline``: S3-triggered Step Functions ETL with retries, quarantine, DLQ, ledger and fan-out.

One component = a raw bucket (EventBridge notifications on) -> an EventBridge rule for ``Object Created``
under ``input_prefix``/``input_suffix`` -> a state machine built by :func:`components.etl_state_machine.etl_definition`
(Ingest -> inline or Distributed Map of Validate -> Transform -> Output; any failure -> on_failure -> DLQ
-> Fail) -> five Lambda functions (the zipped ``handlers/`` package), each with its own least-privilege
role. Plus, unless shared ones are passed in: a KMS key, processed and quarantine buckets and the run
ledger table; always an encrypted DLQ, a KMS-encrypted state machine log group with retention, X-Ray, and
alarms on failed/timed-out executions and DLQ depth.

Key layout and the prefixes every role is scoped to come from :mod:`handlers.etl.settings`.

Example
-------
>>> etl = EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings", layers=[scientific.layer_arn]))
...                                                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import create_alarm
from components.connections import (
    InputArgs,
    Location,
    inputs_check,
    no_components,
    read_statements,
    resolve_sources,
)
from components.cost import DAYS_PER_MONTH, Estimate, estimate_pipeline
from components.dashboard import Watched
from components.etl_batch import BatchArgs, BatchResources, create_batch
from components.etl_state_machine import EtlDefinitionSpec, etl_definition
from components.functions import (
    XRAY_STATEMENT,
    FunctionSpec,
    RetryArgs,
    alarm_topic_knob,
    architecture_knob,
    create_function,
    layers_knob,
    log_level_knob,
    log_retention_knob,
    memory_knob,
    runtime_knob,
    tags_knob,
    timeout_knob,
)
from components.iam import Statement, create_role, kms_use, list_prefix, s3_objects
from components.schema import knob, validate
from components.storage import (
    AccessLogs,
    access_logs_knob,
    create_kms_key,
    create_log_group,
    create_queue,
    create_secure_bucket,
    create_table,
    lifecycle_rule,
)
from handlers.etl import settings as etl_env
from handlers.etl.contract import STEPS
from handlers.etl.ledger import KEY as LEDGER_HASH_KEY
from handlers.runtime import env
from handlers.runtime import validators as v

TYPE_TOKEN = "sciflow:index:EtlPipeline"
DATA_STEPS = ("validate", "transform", "output")
"""The steps that hold a partition (or a key window): ingest checks partitions fit the smallest of them."""
TAG_PIPELINE = "sciflow:pipeline"
TAG_STACK = "sciflow:stack"
BYTES_PER_ROW = 60  # a sensor_readings CSV row, for the cost estimate
MAP_RESULTS = "map-results/"
NO_DISTRIBUTED_MAP = 1_000_000_000
_LOG_DELIVERY_ACTIONS = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                         "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                         "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")


@dataclass(frozen=True)
class EtlRetryArgs(RetryArgs):
    """The EventBridge target's retry policy plus every Task's retry of Lambda service errors and throttling
    (full jitter): ``max_attempts`` is used by both."""

    interval_s: int = knob(2, check=v.int_range(1, 3600), doc="first Task retry interval (1..3,600 s)")
    backoff_rate: float = knob(2.0, check=v.number_at_least(1.0), doc="exponential backoff of Task retries (≥ 1)")


@dataclass
class EtlPipelineArgs:
    """Everything one pipeline needs; defaults are the safe ones. Each field's meaning, config key, default and
    check is declared once, below (the README table is generated from it).

    A shared raw bucket must have EventBridge notifications on; a shared table must have the string hash key
    ``object_id``. ``EXPRESS`` machines never use the Distributed Map (AWS runs it only in STANDARD workflows).
    """

    dataset: str = knob(check=v.dataset, doc="module in `handlers/etl/datasets/`")
    input_prefix: str = knob("incoming/", check=v.s3_prefix, doc="which raw objects start a run")
    input_suffix: str = knob(".csv", check=v.key_suffix, doc="`.csv`, `.json`, `.jsonl` ...; `''` = any key")
    sources: Sequence[InputArgs | Location] = knob(
        (), check=inputs_check,
        doc="more locations whose new objects (ending in `inputSuffix`) start a run: `{computation: <name>, prefix: "
            "...}` or `{bucket: ..., prefix: ...}` (an external bucket must send its events to EventBridge: S3 > "
            "Properties > Amazon EventBridge: On); one EventBridge rule each, read grants for ingest and validate")
    layers: Sequence[pulumi.Input[str]] = layers_knob()
    memory_mb: int = memory_knob("every step's memory (128..10,240)")
    timeout_s: int = timeout_knob(60, "every step's timeout (1..900)")
    step_memory_mb: Mapping[str, int] = knob({}, check=v.mapping(v.one_of(*STEPS), v.memory_mb),
                                             doc=f"per-step override ({', '.join(f'`{s}`' for s in STEPS)})")
    step_timeout_s: Mapping[str, int] = knob({}, check=v.mapping(v.one_of(*STEPS), v.timeout_s),
                                             doc="per-step override")
    partition_rows: int = knob(250_000, check=v.int_range(1, 10_000_000), doc="rows per partition")
    max_concurrency: int = knob(4, check=v.int_range(1, 1000), doc="parallel partitions (inline Map)")
    distributed_map_threshold: int = knob(40, check=v.int_range(1, 10_000),
                                          doc="above this many partitions use the Distributed Map")
    distributed_max_concurrency: int = knob(100, check=v.int_range(1, 10_000),
                                            doc="parallel child executions of the Distributed Map")
    tolerated_failure_percentage: int = knob(0, check=v.int_range(0, 100),
                                             doc="Distributed Map failure tolerance")
    retry: EtlRetryArgs = knob(EtlRetryArgs(), doc="Task retries and the EventBridge target's retry policy")
    state_machine_type: str = knob("STANDARD", check=v.one_of("STANDARD", "EXPRESS"),
                                   doc="`STANDARD` or `EXPRESS`")
    log_level: str = log_level_knob()
    log_retention_days: int = log_retention_knob()
    alarm_topic_arn: pulumi.Input[str] | None = alarm_topic_knob()
    reserved_concurrency: int | None = knob(None, check=v.optional(v.int_range(1, 1000)),
                                            doc="per step function; `None` = unreserved (advisory in the pack)")
    staging_retention_days: int = knob(14, check=v.int_range(1, 3650),
                                       doc="lifecycle expiry of intermediate partition files")
    runtime: str = runtime_knob()
    architecture: str = architecture_knob()
    kms_key: aws.kms.Key | None = knob(None, key=None, doc="shared key")
    raw_bucket: aws.s3.Bucket | None = knob(None, key=None, doc="shared raw bucket (EventBridge notifications on)")
    processed_bucket: aws.s3.Bucket | None = knob(None, key=None, doc="shared processed bucket")
    quarantine_bucket: aws.s3.Bucket | None = knob(None, key=None, doc="shared quarantine bucket")
    ledger_table: aws.dynamodb.Table | None = knob(None, key=None, doc="shared run ledger (key `object_id`)")
    access_logs: AccessLogs | None = access_logs_knob()
    tags: Mapping[str, str] = tags_knob()
    batch: BatchArgs | None = knob(
        None, doc="scheduled batch run over the objects under a prefix not yet in the ledger (`{schedule: "
                  "cron(...), timezone: ..., flexibleWindowMinutes: ..., prefix: ...}`); STANDARD machines only")
    expected_files_per_day: float = knob(24.0, check=v.number_at_least(0),
                                         doc="files per day the cost estimate assumes")
    expected_rows_per_file: int = knob(100_000, check=v.int_range(1, 10**10),
                                       doc="rows per file, for the cost estimate")

    def __post_init__(self) -> None:
        validate(self)
        if self.batch is not None:
            if not isinstance(self.batch, BatchArgs):
                raise v.Invalid(f"{v.show(self.batch)} is not a BatchArgs", ("batch",))
            if self.state_machine_type != "STANDARD":
                raise v.Invalid("a batch run needs stateMachineType STANDARD (it waits for each file's run)",
                                ("batch",))
            if self.batch.prefix is not None and not self.batch.prefix.startswith(self.input_prefix):
                raise v.Invalid(f"{self.batch.prefix!r} is outside inputPrefix {self.input_prefix!r} (the steps may "
                                "read only there)", ("batch", "prefix"))

    def step_spec_values(self, step: str) -> tuple[int, int]:
        """``(memory_mb, timeout_s)`` of one step: its override or the default."""
        return self.step_memory_mb.get(step, self.memory_mb), self.step_timeout_s.get(step, self.timeout_s)


# --------------------------------------------------------------------------- pure helpers
def event_pattern(bucket_name: Any, input_prefix: str, input_suffix: str) -> dict[str, Any]:
    """The rule's pattern: S3 ``Object Created`` in the raw bucket, key ``<prefix>*<suffix>``.

    Example
    -------
    >>> event_pattern("raw", "incoming/", ".csv")["detail"]["object"]
    {'key': [{'wildcard': 'incoming/*.csv'}]}
    """
    return {"source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]},
                       "object": {"key": [{"wildcard": f"{input_prefix}*{input_suffix}"}]}}}


def _objects(bucket_arn: pulumi.Input[str], prefix: str) -> pulumi.Input[str]:
    return s3_objects(bucket_arn, prefix) if isinstance(bucket_arn, pulumi.Output) else f"{bucket_arn}/{prefix}*"


def step_statements(step: str, *, pipeline: str, input_prefix: str, raw_arn: pulumi.Input[str],
                    processed_arn: pulumi.Input[str], quarantine_arn: pulumi.Input[str],
                    table_arn: pulumi.Input[str], sources: Sequence[tuple[Location, bool]] = ()) -> list[Statement]:
    """What one step's role may do beyond logs/tracing/key: exactly its prefixes and the ledger; ingest and
    validate also read each source (``(location, list_objects)``; only ingest lists, to tell a deleted input
    from a refused read).

    Example
    -------
    >>> [s.sid for s in step_statements("on_failure", pipeline="p", input_prefix="in/", raw_arn="arn:aws:s3:::r",
    ...  processed_arn="arn:aws:s3:::p", quarantine_arn="arn:aws:s3:::q", table_arn="arn:t")]
    ['RecordFailure']
    """
    staging = _objects(processed_arn, etl_env.staging_prefix(pipeline))
    read_raw = Statement(sid="ReadRawInput", actions=("s3:GetObject", "s3:GetObjectVersion"),
                         resources=(_objects(raw_arn, input_prefix),))
    staging_rw = Statement(sid="ReadWriteStaging", actions=("s3:GetObject", "s3:PutObject"), resources=(staging,))
    rejects = Statement(sid="WriteQuarantine", actions=("s3:GetObject", "s3:PutObject"),
                        resources=(_objects(quarantine_arn, etl_env.rejects_prefix(pipeline)),))
    by_step = {
        "ingest": [read_raw, staging_rw, list_prefix(raw_arn, input_prefix, sid="ListRawInput"),
                   Statement(sid="ClaimRun", actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                             resources=(table_arn,))],
        "validate": [read_raw, staging_rw, rejects, list_prefix(raw_arn, input_prefix, sid="ListRawInput")],
        "transform": [staging_rw],
        "output": [staging_rw, rejects,
                   list_prefix(processed_arn, etl_env.staging_prefix(pipeline), sid="ListStaging"),
                   list_prefix(processed_arn, etl_env.published_prefix(pipeline), sid="ListPublished"),
                   Statement(sid="PublishOnce", actions=("s3:GetObject", "s3:PutObject"),
                             resources=(_objects(processed_arn, etl_env.published_prefix(pipeline)),)),
                   Statement(sid="CompleteRun", actions=("dynamodb:UpdateItem",), resources=(table_arn,))],
        "on_failure": [Statement(sid="RecordFailure", actions=("dynamodb:UpdateItem",), resources=(table_arn,))],
    }
    if step in ("ingest", "validate"):
        by_step[step] += [st for i, (location, listing) in enumerate(sources)
                          for st in read_statements(location, index=i, what="Source", versions=True,
                                                    list_objects=listing and step == "ingest")]
    return by_step[step]


def state_machine_statements(*, function_arns: Sequence[pulumi.Input[str]], dlq_arn: pulumi.Input[str],
                             processed_arn: pulumi.Input[str], pipeline: str,
                             kms_key_arn: pulumi.Input[str]) -> list[Statement]:
    """The state machine role's base statements (the Distributed Map's self-reference is added separately).

    Example
    -------
    >>> [s.sid for s in state_machine_statements(function_arns=["f"], dlq_arn="q", processed_arn="arn:aws:s3:::p",
    ...                                          pipeline="p", kms_key_arn="k")][:2]
    ['InvokeSteps', 'SendFailuresToDlq']
    """
    staging = _objects(processed_arn, etl_env.staging_prefix(pipeline))
    results = _objects(processed_arn, etl_env.staging_prefix(pipeline) + MAP_RESULTS)
    return [
        Statement(sid="InvokeSteps", actions=("lambda:InvokeFunction",), resources=tuple(function_arns)),
        Statement(sid="SendFailuresToDlq", actions=("sqs:SendMessage",), resources=(dlq_arn,)),
        kms_use(kms_key_arn),
        Statement(sid="DistributedMapReadItems", actions=("s3:GetObject",), resources=(staging,)),
        Statement(sid="DistributedMapWriteResults",
                  actions=("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"),
                  resources=(results,)),
        Statement(sid="DeliverLogs", actions=_LOG_DELIVERY_ACTIONS, resources=("*",)),
        Statement(sid="XRayTracing", actions=(*XRAY_STATEMENT.actions, "xray:GetSamplingRules",
                                              "xray:GetSamplingTargets"), resources=("*",)),
    ]


def distributed_map_statements(state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """The Distributed Map's own needs: start child executions of this machine, describe/stop them.

    Example
    -------
    >>> [s.resources for s in distributed_map_statements("arn:aws:states:r:1:stateMachine:m")]
    [('arn:aws:states:r:1:stateMachine:m',), ('arn:aws:states:r:1:execution:m/*',)]
    """
    executions: pulumi.Input[str]
    if isinstance(state_machine_arn, pulumi.Output):
        executions = state_machine_arn.apply(_child_executions)
    else:
        executions = _child_executions(str(state_machine_arn))
    return [Statement(sid="StartMapRunChildren", actions=("states:StartExecution",), resources=(state_machine_arn,)),
            Statement(sid="ManageMapRunChildren", actions=("states:DescribeExecution", "states:StopExecution"),
                      resources=(executions,))]


def _child_executions(state_machine_arn: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + "/*"


def function_environment(name: str, args: EtlPipelineArgs, step: str, *, processed: pulumi.Input[str],
                         quarantine: pulumi.Input[str], table: pulumi.Input[str],
                         code_hash: str) -> dict[str, pulumi.Input[str]]:
    """One step's environment (names from :mod:`handlers.runtime.env`).

    Example
    -------
    >>> function_environment("p", EtlPipelineArgs(dataset="sensor_readings"), "ingest", processed="b",
    ...                      quarantine="q", table="t", code_hash="h")["SCIFLOW_ETL_DATASET"]
    'sensor_readings'
    """
    threshold = args.distributed_map_threshold if args.state_machine_type == "STANDARD" else NO_DISTRIBUTED_MAP
    return {
        env.ETL_PIPELINE: name,
        env.ETL_DATASET: args.dataset,
        env.ETL_PROCESSED_BUCKET: processed,
        env.ETL_QUARANTINE_BUCKET: quarantine,
        env.ETL_PARTITION_ROWS: str(args.partition_rows),
        env.ETL_DISTRIBUTED_THRESHOLD: str(threshold),
        env.ETL_WORKER_MEMORY_MB: str(min(args.step_spec_values(s)[0] for s in DATA_STEPS)),
        env.LEDGER_TABLE: table,
        env.CODE_HASH: code_hash,
        env.SERVICE_NAME: f"{name}-{step.replace('_', '-')}",
        env.LOG_LEVEL: args.log_level,
    }


def definition_spec(name: str, args: EtlPipelineArgs, *, function_arns: Mapping[str, Any], dlq_url: Any,
                    processed_bucket: Any) -> EtlDefinitionSpec:
    """The ASL builder's inputs for this pipeline.

    Example
    -------
    >>> spec = definition_spec("p", EtlPipelineArgs(dataset="sensor_readings"),
    ...                        function_arns={s: s for s in STEPS}, dlq_url="q", processed_bucket="b")
    >>> spec.results_prefix
    'p/staging/map-results/'
    """
    return EtlDefinitionSpec(
        ingest_arn=function_arns["ingest"], validate_arn=function_arns["validate"],
        transform_arn=function_arns["transform"], output_arn=function_arns["output"],
        on_failure_arn=function_arns["on_failure"], dlq_url=dlq_url, results_bucket=processed_bucket,
        results_prefix=etl_env.staging_prefix(name) + MAP_RESULTS, max_concurrency=args.max_concurrency,
        distributed_max_concurrency=args.distributed_max_concurrency,
        tolerated_failure_percentage=args.tolerated_failure_percentage,
        retry_interval_s=args.retry.interval_s, retry_max_attempts=args.retry.max_attempts,
        retry_backoff_rate=args.retry.backoff_rate, distributed=args.state_machine_type == "STANDARD",
        map_execution_type="STANDARD",
    )


# --------------------------------------------------------------------------- the component
class EtlPipeline(pulumi.ComponentResource):
    """An ETL pipeline; see the module docstring. Outputs: ``state_machine_arn``, ``state_machine_name``,
    ``raw_bucket_name``, ``processed_bucket_name``, ``quarantine_bucket_name``, ``table_name``, ``dlq_url``,
    ``dlq_arn``, ``rule_arn`` and ``<step>_function_arn`` for each step."""

    state_machine_arn: pulumi.Output[str]
    state_machine_name: pulumi.Output[str]
    raw_bucket_name: pulumi.Output[str]
    processed_bucket_name: pulumi.Output[str]
    quarantine_bucket_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EtlPipelineArgs, opts: pulumi.ResourceOptions | None = None, *,
                 producers: Callable[[str], Location] | None = None) -> None:
        """``producers`` resolves config sources by name (``computation:<name>`` -> its artifacts); the stack
        passes it."""
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self.sources = resolve_sources(args.sources, producers or no_components)
        args = replace(args, sources=[location for location, _ in self.sources])
        self.args = args
        self.tags = {**dict(args.tags), TAG_PIPELINE: name, TAG_STACK: pulumi.get_stack()}
        self.kms_key = args.kms_key or create_kms_key(
            name, description=f"sciflow {name}: buckets, ledger, logs, DLQ", parent=self, tags=self.tags)
        self._create_storage(name)
        self._create_rule(name)
        self.dlq = create_queue(f"{name}-dlq", kms_key=self.kms_key, parent=self, tags=self.tags,
                                service_principals=["events.amazonaws.com"],
                                source_arns=[self.rule.arn, *(r.arn for r in self.source_rules)])
        self._create_functions(name)
        self._create_state_machine(name)
        self._create_target(name)
        self.batch: BatchResources | None = create_batch(self, name, args.batch) if args.batch else None
        self._create_alarms(name)

        self.state_machine_arn = self.state_machine.arn
        self.state_machine_name = self.state_machine.name
        self.dlq_url = self.dlq.url
        self.dlq_arn = self.dlq.arn
        self.rule_arn = self.rule.arn
        outputs: dict[str, Any] = {
            "state_machine_arn": self.state_machine_arn, "state_machine_name": self.state_machine_name,
            "raw_bucket_name": self.raw_bucket_name, "processed_bucket_name": self.processed_bucket_name,
            "quarantine_bucket_name": self.quarantine_bucket_name, "table_name": self.table_name,
            "dlq_url": self.dlq_url, "dlq_arn": self.dlq_arn, "rule_arn": self.rule_arn,
        }
        for step, function in self.functions.items():
            setattr(self, f"{step}_function_arn", function.arn)
            outputs[f"{step}_function_arn"] = function.arn
        if self.batch is not None:
            outputs["batch_state_machine_arn"] = self.batch.state_machine.arn
            outputs["batch_schedule_name"] = self.batch.schedule.name
        self.register_outputs(outputs)

    @property
    def processed(self) -> Location:
        """What this pipeline publishes (its processed bucket's published prefix and key): an input for
        others."""
        return Location(self.processed_bucket_name, self.processed_bucket_arn, etl_env.published_prefix(self._name),
                        self.kms_key.arn, producer=f"pipeline:{self._name}")

    @property
    def inbox(self) -> Location:
        """Where writers put files that start this pipeline (raw bucket, ``input_prefix``, its key): an output
        for others (:attr:`ScheduledComputationArgs.outputs`). Only keys ending in ``input_suffix`` start a run."""
        return Location(self.raw_bucket_name, self.raw_bucket_arn, self.args.input_prefix, self.kms_key.arn,
                        producer=f"pipeline:{self._name}", role="inbox")

    def cost_estimate(self, region: str) -> Estimate:
        """Monthly estimate in ``region`` for the expected files and rows (see ``EtlPipelineArgs``)."""
        args = self.args
        return estimate_pipeline(
            files_per_month=args.expected_files_per_day * DAYS_PER_MONTH, rows_per_file=args.expected_rows_per_file,
            bytes_per_row=BYTES_PER_ROW, partition_rows=args.partition_rows, memory_mb=args.memory_mb,
            region=region, state_machine_type=args.state_machine_type, architecture=args.architecture,
            alarms=len(self.alarms), name=self._name)

    def watched(self) -> Watched:
        """What the stack dashboard shows for this pipeline."""
        machines = [(self._name, self.state_machine.arn)]
        if self.batch is not None:
            machines.append((f"{self._name} batch", self.batch.state_machine.arn))
        return Watched(functions=[(f"{self._name} {step}", fn.name) for step, fn in self.functions.items()],
                       state_machines=machines, queues=[(self._name, self.dlq.name)])

    def _bucket(self, name: str, shared: aws.s3.Bucket | None, *, eventbridge: bool = False,
                lifecycle_rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs] = ()
                ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        if shared is not None:
            return shared.bucket, shared.arn
        secure = create_secure_bucket(name, kms_key=self.kms_key, parent=self, tags=self.tags, eventbridge=eventbridge,
                                      lifecycle_rules=lifecycle_rules, access_logs=self.args.access_logs)
        return secure.name, secure.arn

    def _create_storage(self, name: str) -> None:
        args = self.args
        self.raw_bucket_name, self.raw_bucket_arn = self._bucket(f"{name}-raw", args.raw_bucket, eventbridge=True)
        # intermediate partition files under the staging prefix expire (their bucket's one lifecycle configuration)
        staging = lifecycle_rule("expire-staging", prefix=etl_env.staging_prefix(name),
                                 expire_days=args.staging_retention_days, noncurrent_days=1, abort_upload_days=1)
        self.processed_bucket_name, self.processed_bucket_arn = self._bucket(
            f"{name}-processed", args.processed_bucket, lifecycle_rules=[staging])
        self.quarantine_bucket_name, self.quarantine_bucket_arn = self._bucket(f"{name}-quarantine",
                                                                               args.quarantine_bucket)
        table = args.ledger_table or create_table(f"{name}-runs", hash_key=LEDGER_HASH_KEY, kms_key=self.kms_key,
                                                  parent=self, tags=self.tags)
        self.table_name, self.table_arn = table.name, table.arn

    def _create_rule(self, name: str) -> None:
        args = self.args
        self.rule = self._rule(f"{name}-rule", self.raw_bucket_name, args.input_prefix, "new objects")
        self.source_rules = [
            self._rule(f"{name}-source{i}-rule", location.bucket_name, location.prefix,
                       f"source {i} ({location.producer or 'external bucket, EventBridge notifications on'})")
            for i, (location, _) in enumerate(self.sources)]

    def _rule(self, rule_name: str, bucket: pulumi.Input[str], prefix: str, what: str) -> aws.cloudwatch.EventRule:
        suffix = self.args.input_suffix
        return aws.cloudwatch.EventRule(
            rule_name,
            description=f"sciflow {self._name}: {what} under {prefix}*{suffix} start a run",
            event_pattern=pulumi.Output.json_dumps(event_pattern(bucket, prefix, suffix)),
            state="ENABLED",
            tags=dict(self.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_functions(self, name: str) -> None:
        from components.code import handlers_archive

        args = self.args
        code_hash = handlers_archive().source_code_hash
        self.functions: dict[str, aws.lambda_.Function] = {}
        self.function_roles: dict[str, aws.iam.Role] = {}
        for step in STEPS:
            memory, timeout = args.step_spec_values(step)
            spec = FunctionSpec(
                handler=f"etl.{step}.handler", memory_mb=memory, timeout_s=timeout,
                environment=function_environment(name, args, step, processed=self.processed_bucket_name,
                                                 quarantine=self.quarantine_bucket_name, table=self.table_name,
                                                 code_hash=code_hash),
                layers=list(args.layers), runtime=args.runtime, architecture=args.architecture,
                reserved_concurrency=args.reserved_concurrency, log_retention_days=args.log_retention_days,
                log_level=args.log_level,
                description=f"sciflow {name}: {step} step ({args.dataset})",
            )
            statements = step_statements(step, pipeline=name, input_prefix=args.input_prefix,
                                         raw_arn=self.raw_bucket_arn, processed_arn=self.processed_bucket_arn,
                                         quarantine_arn=self.quarantine_bucket_arn, table_arn=self.table_arn,
                                         sources=self.sources)
            resources = create_function(f"{name}-{step.replace('_', '-')}", spec, statements=statements,
                                        kms_key=self.kms_key, dlq=None, parent=self, tags=self.tags)
            self.functions[step] = resources.function
            self.function_roles[step] = resources.role

    def _create_state_machine(self, name: str) -> None:
        args = self.args
        self.state_machine_log_group = create_log_group(
            f"{name}-sfn", kms_key=self.kms_key, retention_days=args.log_retention_days, parent=self,
            tags=self.tags)
        self.state_machine_role = create_role(
            f"{name}-sfn", service="states.amazonaws.com",
            statements=state_machine_statements(
                function_arns=[f.arn for f in self.functions.values()], dlq_arn=self.dlq.arn,
                processed_arn=self.processed_bucket_arn, pipeline=name, kms_key_arn=self.kms_key.arn),
            source_account=aws.get_caller_identity_output().account_id, parent=self, tags=self.tags)
        spec = definition_spec(name, args, function_arns={s: f.arn for s, f in self.functions.items()},
                               dlq_url=self.dlq.url, processed_bucket=self.processed_bucket_name)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-sfn",
            role_arn=self.state_machine_role.arn,
            type=args.state_machine_type,
            definition=pulumi.Output.json_dumps(etl_definition(spec)),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                log_destination=pulumi.Output.concat(self.state_machine_log_group.arn, ":*"),
                include_execution_data=True, level="ALL"),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            tags=dict(self.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.state_machine_log_group]),
        )
        if args.state_machine_type == "STANDARD":
            from components.iam import policy_document

            self.distributed_map_policy = aws.iam.RolePolicy(
                f"{name}-sfn-distributed-map-policy",
                role=self.state_machine_role.id,
                policy=policy_document(distributed_map_statements(self.state_machine.arn)),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _create_target(self, name: str) -> None:
        args = self.args
        self.events_role = create_role(
            f"{name}-events", service="events.amazonaws.com",
            statements=[Statement(sid="StartThisStateMachine", actions=("states:StartExecution",),
                                  resources=(self.state_machine.arn,))],
            source_account=aws.get_caller_identity_output().account_id, parent=self, tags=self.tags)
        self.targets = [aws.cloudwatch.EventTarget(
            target_name,
            rule=rule.name,
            arn=self.state_machine.arn,
            role_arn=self.events_role.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=args.retry.max_attempts,
                maximum_event_age_in_seconds=args.retry.max_event_age_s),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.dlq.arn),
            opts=pulumi.ResourceOptions(parent=self),
        ) for target_name, rule in ((f"{name}-target", self.rule),
                                    *((f"{name}-source{i}-target", r) for i, r in enumerate(self.source_rules)))]
        self.target = self.targets[0]

    def _create_alarms(self, name: str) -> None:
        topic = self.args.alarm_topic_arn
        machine = {"StateMachineArn": self.state_machine.arn}
        self.alarms = [
            create_alarm(f"{name}-executions-failed", namespace="AWS/States", metric_name="ExecutionsFailed",
                         dimensions=machine, parent=self, tags=self.tags, topic_arn=topic,
                         description=f"{name}: a run failed (ledger item FAILED, one DLQ message)"),
            create_alarm(f"{name}-executions-timed-out", namespace="AWS/States", metric_name="ExecutionsTimedOut",
                         dimensions=machine, parent=self, tags=self.tags, topic_arn=topic,
                         description=f"{name}: a run timed out"),
            *([create_alarm(f"{name}-batch-failed", namespace="AWS/States", metric_name="ExecutionsFailed",
                            dimensions={"StateMachineArn": self.batch.state_machine.arn}, parent=self,
                            tags=self.tags, topic_arn=topic,
                            description=f"{name}: a batch run failed (a file's failure does not fail it: see "
                                        "the batch run's execution history)")] if self.batch else []),
            create_alarm(f"{name}-dlq-depth", namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                         dimensions={"QueueName": self.dlq.name}, statistic="Maximum", parent=self, tags=self.tags,
                         topic_arn=topic,
                         description=f"{name}: failed runs or undeliverable events are waiting in the DLQ"),
        ]
