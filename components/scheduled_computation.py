"""``ScheduledComputation``: a daily scientific job with a run ledger, write-once artifacts and safe defaults.

One component = one EventBridge Scheduler schedule → one Lambda function (the zipped ``handlers/`` package),
plus (unless shared ones are passed in) its KMS key, artifact bucket and ledger table, an encrypted DLQ and
alarms. The function's role may only write, read back and list objects under ``bucket/prefix/*``, get/put/update
items of the ledger table, use the key, write its own logs, and send to its DLQ; the schedule's role may only
invoke this one function and dead-letter into the DLQ.

Example
-------
>>> comp = ScheduledComputation("daily-stats", ScheduledComputationArgs(
...     handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
...     layers=[scientific.layer_arn]))                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from components.alarms import create_alarm
from components.code import handlers_archive
from components.connections import (
    GrantArgs,
    InputArgs,
    Location,
    OutputArgs,
    grants_check,
    inputs_check,
    location_settings,
    no_components,
    outputs_check,
    read_statements,
    resolve_inputs,
    resolve_outputs,
    write_statements,
)
from components.cost import Estimate, estimate_computation, runs_per_month
from components.dashboard import Watched
from components.functions import (
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
    snap_start_knob,
    tags_knob,
    timeout_knob,
)
from components.iam import Statement, create_role, list_prefix, s3_objects
from components.schema import knob, validate
from components.storage import (
    AccessLogs,
    access_logs_knob,
    create_kms_key,
    create_queue,
    create_secure_bucket,
    create_table,
    send_to_queue,
)
from handlers.runtime import env
from handlers.runtime import validators as v
from handlers.runtime.env import SCHEDULER_INPUT

TYPE_TOKEN = "sciflow:index:ScheduledComputation"
LEDGER_HASH_KEY = "date"
LEDGER_RANGE_KEY = "computation"
LEASE_EXTRA_S = 60
TAG_COMPUTATION = "sciflow:computation"
TAG_STACK = "sciflow:stack"
_LAMBDA_MAX_ASYNC_RETRIES = 2
ARTIFACTS_PER_RUN = 4  # result.json, stats.json, data.csv, plot.png (+ the manifest, counted by the estimate)


_MANAGED_ENV = sorted(set(env.ALL) - set(env.USER_SETTABLE))


@dataclass
class ScheduledComputationArgs:
    """Everything one scheduled computation needs; defaults are the safe ones. Each field's meaning, config
    key, default and check is declared once, below (the README table is generated from it).

    A shared ``ledger_table`` must have hash key ``date`` and range key ``computation`` (strings); a shared
    ``kms_key``'s policy must let CloudWatch Logs use it.
    """

    handler: str = knob(check=v.handler_path, doc="dotted path inside `handlers/`")
    schedule: str = knob(check=v.schedule, doc="`cron(...)`, `rate(...)` or `at(...)`, in `timezone`")
    timezone: str = knob("UTC", check=v.timezone, doc="IANA zone of the schedule and of the business date")
    flexible_window_minutes: int = knob(0, check=v.int_range(0, 1440),
                                        doc="0 = off; else Scheduler may fire up to this many minutes late")
    layers: Sequence[pulumi.Input[str]] = layers_knob()
    memory_mb: int = memory_knob()
    timeout_s: int = timeout_knob(30)
    environment: Mapping[str, pulumi.Input[str]] = knob(
        {}, check=v.mapping(v.all_of(v.env_var_name, v.not_in(_MANAGED_ENV, "is set by the component")),
                            v.input_text),
        doc=f"extra variables (encrypted with the component key); `{env.INPUT_URI}` is the one managed name "
            "users may set")
    artifact_prefix: str = knob("", check=v.s3_prefix, doc="default `<name>/`; the role is scoped to it")
    inputs: Sequence[InputArgs | Location] = knob(
        (), check=inputs_check,
        doc="what the code reads: `{pipeline: <name>}`, `{computation: <name>}` or `{bucket: ..., prefix: ...}` "
            "(Python: `pipeline.processed`, `computation.artifacts`, `Location.external(...)`); read-only grants "
            "under each prefix, locations in `Settings.inputs`")
    outputs: Sequence[OutputArgs | Location] = knob(
        (), check=outputs_check,
        doc="where the code writes: `{pipeline: <name>}` (its inbox: each object starts a run) or `{bucket: ..., "
            "prefix: ...}` (Python: `pipeline.inbox`, `Location.external(...)`); `s3:PutObject` only under each "
            "prefix, locations in `Settings.outputs` (`handlers.runtime.outputs.write_output`)")
    grants: Sequence[GrantArgs] = knob(
        (), check=grants_check, doc="extra IAM statements for the code (`{actions: [...], resources: [...]}`): "
                                    "exact actions, no wildcard resource unless AWS grants the action on `*` only")
    reserved_concurrency: int | None = knob(
        None, check=v.optional(v.int_range(1, 1000)),
        doc="`None` = unreserved (the run ledger's lease already runs one computation per date at a time; "
            "accounts at the default quota of 10 refuse any reservation); N reserves N")
    retry: RetryArgs = knob(RetryArgs(), doc="the schedule target's retry policy (Lambda async retries: "
                                             "min(max_attempts, 2))")
    log_retention_days: int = log_retention_knob()
    log_level: str = log_level_knob()
    alarm_topic_arn: pulumi.Input[str] | None = alarm_topic_knob(
        "SNS topic for the alarms (errors, throttles, DLQ depth)")
    runtime: str = runtime_knob()
    architecture: str = architecture_knob()
    snap_start: bool = snap_start_knob()
    kms_key: aws.kms.Key | None = knob(None, key=None, doc="shared key instead of its own")
    artifact_bucket: aws.s3.Bucket | None = knob(None, key=None, doc="shared bucket instead of its own")
    ledger_table: aws.dynamodb.Table | None = knob(None, key=None,
                                                   doc="shared ledger (keys `date`, `computation`)")
    access_logs: AccessLogs | None = access_logs_knob()
    tags: Mapping[str, str] = tags_knob()
    expected_duration_s: float = knob(20.0, check=v.number_at_least(0),
                                      doc="seconds per run the cost estimate assumes")
    expected_artifact_bytes: int = knob(2_000_000, check=v.int_range(0, 10**12),
                                        doc="bytes of artifacts per run, for the cost estimate")

    def __post_init__(self) -> None:
        validate(self)


# --------------------------------------------------------------------------- pure helpers
def artifact_prefix(name: str, args: ScheduledComputationArgs) -> str:
    """The effective artifact prefix: ``args.artifact_prefix`` or ``<name>/``.

    Example
    -------
    >>> artifact_prefix("daily-stats", ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)"))
    'daily-stats/'
    """
    return args.artifact_prefix or f"{name}/"


def function_statements(bucket_arn: pulumi.Input[str], prefix: str, table_arn: pulumi.Input[str], *,
                        inputs: Sequence[tuple[Location, bool]] = (), outputs: Sequence[Location] = (),
                        grants: Sequence[GrantArgs] = (), account: pulumi.Input[str] | None = None
                        ) -> list[Statement]:
    """What the function may do beyond logs/tracing/key/DLQ: write-once artifacts, the ledger, read its inputs
    (``(location, list_objects)``, see :func:`components.connections.read_statements`), write its outputs
    (:func:`components.connections.write_statements`; writes into external buckets pinned to their owner, by default
    ``account``, the stack's own) and the user's grants.

    Example
    -------
    >>> [s.sid for s in function_statements("arn:aws:s3:::b", "p/", "arn:aws:dynamodb:r:1:table/t")]
    ['WriteArtifactsOnce', 'ReadBackArtifacts', 'ListArtifacts', 'KeepRunLedger']
    """
    objects = s3_objects(bucket_arn, prefix) if isinstance(bucket_arn, pulumi.Output) else f"{bucket_arn}/{prefix}*"
    return [
        Statement(sid="WriteArtifactsOnce", actions=("s3:PutObject",), resources=(objects,)),
        Statement(sid="ReadBackArtifacts", actions=("s3:GetObject",), resources=(objects,)),
        list_prefix(bucket_arn, prefix, sid="ListArtifacts"),
        Statement(sid="KeepRunLedger", actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
                  resources=(table_arn,)),
        *(st for i, (location, listing) in enumerate(inputs)
          for st in read_statements(location, index=i, list_objects=listing)),
        *(st for i, location in enumerate(outputs) for st in write_statements(location, index=i, account=account)),
        *(grant.statement(i) for i, grant in enumerate(grants)),
    ]


def function_environment(name: str, args: ScheduledComputationArgs, *, bucket: pulumi.Input[str],
                         table: pulumi.Input[str], code_hash: str) -> dict[str, pulumi.Input[str]]:
    """The function's environment: the user's variables plus the runtime's settings (names in ``env``).

    Example
    -------
    >>> environment = function_environment("c", ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)"),
    ...                                    bucket="b", table="t", code_hash="h")
    >>> environment[env.SERVICE_NAME], environment[env.SCHEDULE], environment[env.ARTIFACT_BUCKET]
    ('c', 'rate(1 day)', 'b')
    """
    return {
        **dict(args.environment),
        env.COMPUTATION_NAME: name,
        env.ARTIFACT_BUCKET: bucket,
        env.ARTIFACT_PREFIX: artifact_prefix(name, args),
        env.LEDGER_TABLE: table,
        env.TIMEZONE: args.timezone,
        env.SCHEDULE: args.schedule,
        env.CODE_HASH: code_hash,
        env.LEASE_SECONDS: str(args.timeout_s + LEASE_EXTRA_S),
        env.SERVICE_NAME: name,
        env.LOG_LEVEL: args.log_level,
        **({env.INPUTS: location_settings([loc for loc in args.inputs if isinstance(loc, Location)])}
           if args.inputs else {}),
        **({env.OUTPUTS: location_settings([loc for loc in args.outputs if isinstance(loc, Location)])}
           if args.outputs else {}),
    }


def flexible_window(minutes: int) -> aws.scheduler.ScheduleFlexibleTimeWindowArgs:
    """``OFF`` for 0, else ``FLEXIBLE`` with that maximum window."""
    if minutes == 0:
        return aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF")
    return aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="FLEXIBLE", maximum_window_in_minutes=minutes)


def create_schedule(name: str, *, description: str, expression: str, timezone: str, window_minutes: int,
                    kms_key: aws.kms.Key, target_arn: pulumi.Input[str], role: aws.iam.Role, retry: RetryArgs,
                    dlq: aws.sqs.Queue, parent: pulumi.Resource) -> aws.scheduler.Schedule:
    """An EventBridge Scheduler schedule (encrypted with ``kms_key``) sending :data:`SCHEDULER_INPUT` to
    ``target_arn`` as ``role``, with a retry policy and ``dlq`` as its dead-letter queue."""
    return aws.scheduler.Schedule(
        name,
        description=description,
        schedule_expression=expression,
        schedule_expression_timezone=timezone,
        flexible_time_window=flexible_window(window_minutes),
        kms_key_arn=kms_key.arn,
        state="ENABLED",
        target=aws.scheduler.ScheduleTargetArgs(
            arn=target_arn,
            role_arn=role.arn,
            input=pulumi.Output.json_dumps(SCHEDULER_INPUT),
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_retry_attempts=retry.max_attempts, maximum_event_age_in_seconds=retry.max_event_age_s),
            dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


# --------------------------------------------------------------------------- the component
class ScheduledComputation(pulumi.ComponentResource):
    """A scheduled computation; see the module docstring. Outputs: ``function_name``, ``function_arn``,
    ``schedule_name``, ``schedule_arn``, ``bucket_name``, ``bucket_arn``, ``table_name``, ``table_arn``,
    ``dlq_url``, ``dlq_arn``; :attr:`artifacts` is what it produces, as a :class:`Location` for other
    components' ``inputs``."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    schedule_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduledComputationArgs, opts: pulumi.ResourceOptions | None = None, *,
                 producers: Callable[[str], Location] | None = None,
                 inboxes: Callable[[str], Location] | None = None) -> None:
        """``producers`` resolves config inputs by name (``pipeline:<name>`` -> its output :class:`Location`),
        ``inboxes`` config outputs (``pipeline:<name>`` -> its inbox); the stack passes both."""
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self.inputs = resolve_inputs(args.inputs, producers or no_components)
        self.outputs = resolve_outputs(args.outputs, inboxes or no_components)
        args = replace(args, inputs=[location for location, _ in self.inputs], outputs=self.outputs)
        self.args = args
        tags = {**dict(args.tags), TAG_COMPUTATION: name, TAG_STACK: pulumi.get_stack()}
        self.tags = tags
        self.kms_key = args.kms_key or create_kms_key(name, description=f"sciflow {name}: artifacts, ledger, "
                                                                         "logs, DLQ", parent=self, tags=tags)
        self._create_storage(name)
        self.dlq = create_queue(f"{name}-dlq", kms_key=self.kms_key, parent=self, tags=tags)
        self._create_function(name)
        self._create_schedule(name)
        self._create_alarms(name)

        self.function_name = self.function.name
        self.function_arn = self.function.arn
        self.schedule_name = self.schedule.name
        self.schedule_arn = self.schedule.arn
        self.dlq_url = self.dlq.url
        self.dlq_arn = self.dlq.arn
        self.register_outputs({
            "function_name": self.function_name, "function_arn": self.function_arn,
            "schedule_name": self.schedule_name, "schedule_arn": self.schedule_arn,
            "bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn,
            "table_name": self.table_name, "table_arn": self.table_arn,
            "dlq_url": self.dlq_url, "dlq_arn": self.dlq_arn,
        })

    @property
    def artifacts(self) -> Location:
        """What this computation produces: its bucket, artifact prefix and key (an input for others)."""
        return Location(self.bucket_name, self.bucket_arn, artifact_prefix(self._name, self.args),
                        self.kms_key.arn, producer=f"computation:{self._name}")

    def cost_estimate(self, region: str) -> Estimate:
        """Monthly estimate in ``region``: schedule, function, ledger, artifacts, key, logs and alarms."""
        args = self.args
        return estimate_computation(
            runs_per_month=runs_per_month(args.schedule), duration_s=args.expected_duration_s,
            memory_mb=args.memory_mb, region=region, artifacts_per_run=ARTIFACTS_PER_RUN,
            artifact_bytes=args.expected_artifact_bytes, architecture=args.architecture,
            alarms=len(self.alarms), name=self._name)

    def watched(self) -> Watched:
        """What the stack dashboard shows for this computation."""
        return Watched(functions=[(self._name, self.function.name)], queues=[(self._name, self.dlq.name)])

    def _create_storage(self, name: str) -> None:
        if self.args.artifact_bucket is not None:
            self.bucket_name = self.args.artifact_bucket.bucket
            self.bucket_arn = self.args.artifact_bucket.arn
        else:
            # EventBridge notifications on (free for AWS service events): a pipeline may ingest from the artifacts
            secure = create_secure_bucket(f"{name}-artifacts", kms_key=self.kms_key, parent=self, tags=self.tags,
                                          access_logs=self.args.access_logs, eventbridge=True)
            self.bucket_name, self.bucket_arn = secure.name, secure.arn
        table = self.args.ledger_table or create_table(
            f"{name}-ledger", hash_key=LEDGER_HASH_KEY, range_key=LEDGER_RANGE_KEY, kms_key=self.kms_key,
            parent=self, tags=self.tags)
        self.table_name, self.table_arn = table.name, table.arn

    def _create_function(self, name: str) -> None:
        args = self.args
        spec = FunctionSpec(
            handler=args.handler, memory_mb=args.memory_mb, timeout_s=args.timeout_s,
            environment=function_environment(name, args, bucket=self.bucket_name, table=self.table_name,
                                             code_hash=handlers_archive().source_code_hash),
            layers=list(args.layers), runtime=args.runtime, architecture=args.architecture,
            reserved_concurrency=args.reserved_concurrency, log_retention_days=args.log_retention_days,
            log_level=args.log_level, max_retry_attempts=min(args.retry.max_attempts, _LAMBDA_MAX_ASYNC_RETRIES),
            max_event_age_s=min(args.retry.max_event_age_s, 21_600),
            description=f"sciflow {name}: {args.schedule} {args.timezone}", snap_start=args.snap_start,
        )
        resources = create_function(
            name, spec, statements=function_statements(self.bucket_arn, artifact_prefix(name, args), self.table_arn,
                                                       inputs=self.inputs, outputs=self.outputs,
                                                       grants=args.grants,
                                                       account=aws.get_caller_identity_output().account_id),
            kms_key=self.kms_key, dlq=self.dlq, parent=self, tags=self.tags)
        self.function = resources.function
        self.function_alias = resources.alias
        self.invoke_arn = resources.invoke_arn
        self.function_role = resources.role
        self.log_group = resources.log_group
        self.invoke_config = resources.invoke_config

    def _create_schedule(self, name: str) -> None:
        args = self.args
        self.scheduler_role = create_role(
            f"{name}-scheduler", service="scheduler.amazonaws.com",
            statements=[Statement(sid="InvokeThisFunction", actions=("lambda:InvokeFunction",),
                                  resources=(self.invoke_arn,)),
                        *send_to_queue(self.dlq, self.kms_key)],
            source_account=aws.get_caller_identity_output().account_id,
            parent=self, tags=self.tags)
        self.schedule = create_schedule(
            f"{name}-schedule", description=f"sciflow {name}: {args.handler}", expression=args.schedule,
            timezone=args.timezone, window_minutes=args.flexible_window_minutes, kms_key=self.kms_key,
            target_arn=self.invoke_arn, role=self.scheduler_role, retry=args.retry, dlq=self.dlq, parent=self)

    def _create_alarms(self, name: str) -> None:
        function_dims = {"FunctionName": self.function.name}
        self.alarms = [
            create_alarm(f"{name}-errors", namespace="AWS/Lambda", metric_name="Errors", dimensions=function_dims,
                         parent=self, tags=self.tags, topic_arn=self.args.alarm_topic_arn,
                         description=f"{name}: the computation failed (see the ledger's FAILED row and logs)"),
            create_alarm(f"{name}-throttles", namespace="AWS/Lambda", metric_name="Throttles",
                         dimensions=function_dims, parent=self, tags=self.tags, topic_arn=self.args.alarm_topic_arn,
                         description=f"{name}: invocations were throttled (reserved or account concurrency reached)"),
            create_alarm(f"{name}-dlq-depth", namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                         dimensions={"QueueName": self.dlq.name}, statistic="Maximum", parent=self, tags=self.tags,
                         topic_arn=self.args.alarm_topic_arn,
                         description=f"{name}: events reached the dead-letter queue; run backfill after fixing"),
        ]
