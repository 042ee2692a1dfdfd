"""One sciflow Lambda function with everything it needs to be safe by default.

``create_function`` gives a function its own least-privilege role, a KMS-encrypted log group with retention,
JSON logs, active X-Ray tracing, an encrypted environment and an async on-failure destination (the DLQ).
Both ScheduledComputation and EtlPipeline build their functions with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.code import handlers_archive
from components.iam import Statement, create_role, kms_use
from components.storage import create_log_group

_APP_LOG_LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}
# Actions AWS authorizes only on "*" (no resource-level permissions).
XRAY_STATEMENT = Statement(sid="XRayTracing", actions=("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
                           resources=("*",))


@dataclass(frozen=True)
class FunctionSpec:
    """What a component asks of one function; defaults are the safe ones.

    ``handler`` is a dotted path inside ``handlers/`` (``computations.daily_stats.handler``).
    """

    handler: str
    memory_mb: int = 1024
    timeout_s: int = 30
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    layers: Sequence[pulumi.Input[str]] = ()
    runtime: str = "python3.11"
    architecture: str = "x86_64"
    reserved_concurrency: int | None = None
    log_retention_days: int = 30
    log_level: str = "INFO"
    max_retry_attempts: int = 2
    max_event_age_s: int = 3600
    description: str = ""

    def __post_init__(self) -> None:
        if not 128 <= self.memory_mb <= 10_240:
            raise ValueError(f"{self.handler}: memory_mb {self.memory_mb} is outside 128..10240")
        if not 1 <= self.timeout_s <= 900:
            raise ValueError(f"{self.handler}: timeout_s {self.timeout_s} is outside 1..900")
        if len(self.layers) > 5:
            raise ValueError(f"{self.handler}: {len(self.layers)} layers, Lambda allows at most 5")
        if self.log_level not in _APP_LOG_LEVEL:
            raise ValueError(f"{self.handler}: log_level must be one of {', '.join(_APP_LOG_LEVEL)}")
        if not 0 <= self.max_retry_attempts <= 2:
            raise ValueError(f"{self.handler}: max_retry_attempts must be 0..2 for async invocations")
        if not 60 <= self.max_event_age_s <= 21_600:
            raise ValueError(f"{self.handler}: max_event_age_s must be 60..21600")

    @property
    def handler_path(self) -> str:
        return f"handlers.{self.handler}"


@dataclass
class FunctionResources:
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    invoke_config: aws.lambda_.FunctionEventInvokeConfig | None


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
    >>> fn = create_function("daily-stats", FunctionSpec("computations.daily_stats.handler"),
    ...                      statements=[...], kms_key=key, dlq=dlq, parent=self, tags=tags)
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
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group]),
    )
    invoke_config = None
    if dlq is not None:
        invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=function.name,
            maximum_retry_attempts=spec.max_retry_attempts,
            maximum_event_age_in_seconds=spec.max_event_age_s,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dlq.arn)),
            opts=opts,
        )
    return FunctionResources(function, role, log_group, invoke_config)
