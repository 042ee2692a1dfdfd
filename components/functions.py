"""One sciflow Lambda function with everything it needs to be safe by default.

``create_function`` gives a function its own least-privilege role, a KMS-encrypted log group with retention,
JSON logs, active X-Ray tracing, an encrypted environment and an async on-failure destination (the DLQ).
Both ScheduledComputation and EtlPipeline build their functions with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.code import handlers_archive
from components.iam import Statement, create_role, kms_use
from components.schema import knob, validate
from components.storage import create_log_group
from handlers.runtime import validators as v

_APP_LOG_LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}
SNAP_START_RUNTIMES = ("python3.12", "python3.13", "python3.14")
"""Python runtimes Lambda offers SnapStart for."""
SNAP_START_ALIAS = "live"
# Actions AWS authorizes only on "*" (no resource-level permissions).
XRAY_STATEMENT = Statement(sid="XRayTracing", actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
                           resources=("*",))


# --------------------------------------------------------------------------- knobs every function-owning Args has
# One declaration per knob (default, validator, doc line, config key); the Args of ScheduledComputation,
# EtlPipeline and LayerBundle call these instead of repeating them.
def runtime_knob(key: str | None = "", doc: str = "") -> Any:
    return knob("python3.11", check=v.runtime, key=key,
                doc=doc or f"Lambda runtime ({', '.join(v.LAMBDA_RUNTIMES)}; default: `sciflow:runtime`)")


def snap_start_knob(key: str | None = "") -> Any:
    return knob(False, check=v.boolean, key=key,
                doc="python3.12+: SnapStart on a published version behind the alias `live`, which is what gets "
                    "invoked")


def architecture_knob(key: str | None = "") -> Any:
    return knob("x86_64", check=v.architecture, key=key, doc="`x86_64` or `arm64`")


def layers_knob(doc: str = "layer ARNs (stack config: layer names from `sciflow:layers`), at most 5") -> Any:
    return knob((), check=v.layers, doc=doc)


def memory_knob(doc: str = "128..10,240") -> Any:
    return knob(1024, check=v.memory_mb, doc=doc)


def timeout_knob(default: int, doc: str = "1..900") -> Any:
    return knob(default, check=v.timeout_s, doc=doc)


def log_level_knob() -> Any:
    return knob("INFO", check=v.log_level, doc="application log level (`DEBUG`, `INFO`, `WARNING`, `ERROR`)")


def log_retention_knob() -> Any:
    return knob(30, check=v.log_retention_days, doc="CloudWatch Logs retention (a value CloudWatch accepts)")


def alarm_topic_knob(doc: str = "SNS topic for the alarms") -> Any:
    return knob(None, check=v.optional(v.when_str(v.arn)), doc=doc)


def tags_knob() -> Any:
    return knob({}, key=None, doc="tags on every taggable child (stack config: `sciflow:tags`)")


@dataclass(frozen=True)
class RetryArgs:
    """How often and for how long an event is retried before it goes to the DLQ (the target's retry policy)."""

    max_attempts: int = knob(3, check=v.int_range(0, 185), doc="retries before the event goes to the DLQ (0..185)")
    max_event_age_s: int = knob(3600, check=v.int_range(60, 86_400),
                                doc="seconds an event may wait for delivery before the DLQ (60..86,400)")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class FunctionSpec:
    """What a component asks of one function; defaults are the safe ones.

    ``handler`` is a dotted path inside ``handlers/`` (``computations.daily_stats.handler``).
    """

    handler: str = knob(check=v.handler_path, key=None, doc="dotted path inside `handlers/`")
    memory_mb: int = memory_knob()
    timeout_s: int = timeout_knob(30)
    environment: Mapping[str, pulumi.Input[str]] = knob({}, key=None, doc="environment variables")
    layers: Sequence[pulumi.Input[str]] = layers_knob()
    runtime: str = runtime_knob()
    architecture: str = architecture_knob()
    reserved_concurrency: int | None = knob(None, check=v.optional(v.int_range(1, 1000)), key=None,
                                            doc="reserved concurrency; `None` = unreserved")
    log_retention_days: int = log_retention_knob()
    log_level: str = log_level_knob()
    max_retry_attempts: int = knob(2, check=v.int_range(0, 2), key=None, doc="async retries (0..2)")
    max_event_age_s: int = knob(3600, check=v.int_range(60, 21_600), key=None,
                                doc="async event age before the DLQ (60..21,600)")
    description: str = knob("", key=None, doc="function description")
    snap_start: bool = snap_start_knob(key=None)

    def __post_init__(self) -> None:
        validate(self)
        if self.snap_start and self.runtime not in SNAP_START_RUNTIMES:
            raise ValueError(f"{self.handler}: snap_start needs python3.12 or newer (runtime is {self.runtime}); "
                             "Lambda offers SnapStart for Python only from python3.12")

    @property
    def handler_path(self) -> str:
        return f"handlers.{self.handler}"


@dataclass
class FunctionResources:
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    invoke_config: aws.lambda_.FunctionEventInvokeConfig | None
    alias: aws.lambda_.Alias | None = None

    @property
    def invoke_arn(self) -> pulumi.Output[str]:
        """What schedules, state machines and IAM statements must name: the alias when SnapStart is on (only
        published versions are restored from a snapshot; ``$LATEST`` always cold-starts), else the function."""
        return self.alias.arn if self.alias is not None else self.function.arn


def base_statements(log_group: aws.cloudwatch.LogGroup, kms_key: aws.kms.Key,
                    dlq: aws.sqs.Queue | None) -> list[Statement]:
    """What every sciflow function may do: write its own logs, trace, use its key, dead-letter."""
    statements = [
        Statement(sid="WriteOwnLogs", actions=("logs:CreateLogStream", "logs:PutLogEvents"),
                  resources=(pulumi.Output.concat(log_group.arn, ":*"),)),
        XRAY_STATEMENT,
        kms_use(kms_key.arn),
    ]
    if dlq is not None:
        statements.append(Statement(sid="SendToDeadLetterQueue", actions=("sqs:SendMessage",),
                                    resources=(dlq.arn,)))
    return statements


def create_function(name: str, spec: FunctionSpec, *, statements: Sequence[Statement], kms_key: aws.kms.Key,
                    dlq: aws.sqs.Queue | None, parent: pulumi.Resource, tags: Mapping[str, str]
                    ) -> FunctionResources:
    """Create ``<name>-fn`` with its role ``<name>-role``, log group ``<name>-logs`` and invoke config.

    Example
    -------
    Inside a component's constructor (a resource needs a running Pulumi program):

    >>> fn = create_function("daily-stats", FunctionSpec("computations.daily_stats.handler"),
    ...                      statements=[...], kms_key=key, dlq=dlq, parent=self, tags=tags)  # doctest: +SKIP
    """
    opts = pulumi.ResourceOptions(parent=parent)
    log_group = create_log_group(name, kms_key=kms_key, retention_days=spec.log_retention_days, parent=parent,
                                 tags=tags)
    role = create_role(name, service="lambda.amazonaws.com",
                       statements=[*base_statements(log_group, kms_key, dlq), *statements],
                       parent=parent, tags=tags)
    archive = handlers_archive()
    function = aws.lambda_.Function(
        f"{name}-fn",
        description=spec.description or f"sciflow {name}: handlers.{spec.handler}",
        role=role.arn,
        runtime=spec.runtime,
        architectures=[spec.architecture],
        handler=spec.handler_path,
        code=pulumi.FileArchive(str(archive.path)),
        source_code_hash=archive.source_code_hash,
        memory_size=spec.memory_mb,
        timeout=spec.timeout_s,
        layers=list(spec.layers),
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(spec.environment)),
        kms_key_arn=kms_key.arn,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="JSON", log_group=log_group.name,
            application_log_level=_APP_LOG_LEVEL[spec.log_level], system_log_level="INFO"),
        reserved_concurrent_executions=spec.reserved_concurrency,
        publish=True if spec.snap_start else None,
        snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions") if spec.snap_start else None,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group]),
    )
    alias = None
    if spec.snap_start:
        alias = aws.lambda_.Alias(
            f"{name}-live", name=SNAP_START_ALIAS, function_name=function.name, function_version=function.version,
            description=f"sciflow {name}: the published version restored from its SnapStart snapshot",
            opts=pulumi.ResourceOptions(parent=parent))
    invoke_config = None
    if dlq is not None:
        invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=function.name,
            qualifier=alias.name if alias is not None else None,
            maximum_retry_attempts=spec.max_retry_attempts,
            maximum_event_age_in_seconds=spec.max_event_age_s,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dlq.arn)),
            opts=opts,
        )
    return FunctionResources(function, role, log_group, invoke_config, alias)
