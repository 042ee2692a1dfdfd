"""Observability: tracing, execution logging and log retention."""

from __future__ import annotations

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from ._core import ADVISORY, UNKNOWN, AnyPolicy, Ctx, Rules, StackCtx, schema

AREA = "observability"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"

_FLAG = "An unknown value counts as set."


def _tracing(ctx: Ctx, args: ResourceValidationArgs) -> None:
    mode = ctx.get("tracingConfig", "mode")
    if mode not in ("Active", UNKNOWN):
        ctx.report(f"X-Ray tracing mode is {mode or 'not set (PassThrough)'}. Set tracing_config "
                   "{'mode': 'Active'} (and allow xray:PutTraceSegments/PutTelemetryRecords on '*').")


def _retention(ctx: Ctx, args: ResourceValidationArgs) -> None:
    days = ctx.get("retentionInDays")
    minimum = int(ctx.config["minimumDays"])
    if days is UNKNOWN:
        return
    if days is None or days == 0:
        ctx.report("Log group retention is 'never expire': logs (and their cost) grow forever. Set "
                   "retention_in_days.")
    elif days < minimum:
        ctx.report(f"Log group keeps logs {days:g} days, less than the required {minimum} days.")


def _function_log_retention(ctx: StackCtx) -> None:
    groups = ctx.of_type(LOG_GROUP)
    by_name: dict[str, PolicyResource] = {}
    for g in groups:
        name = ctx.prop(g, "name")
        if isinstance(name, str):
            by_name[name] = g
    for fn in ctx.of_type(FUNCTION):
        by_urn = ctx.index(groups).by_urn
        linked = [by_urn[d.urn] for d in fn.property_dependencies.get("loggingConfig") or [] if d.urn in by_urn]
        configured = ctx.prop(fn, "loggingConfig", "logGroup")
        if not linked and isinstance(configured, str) and configured in by_name:
            linked = [by_name[configured]]
        fn_name = ctx.prop(fn, "name")
        if not linked and isinstance(fn_name, str) and f"/aws/lambda/{fn_name}" in by_name:
            linked = [by_name[f"/aws/lambda/{fn_name}"]]
        if not linked and configured is UNKNOWN:
            continue
        if not linked:
            ctx.report("The function's log group is not managed by the stack, so Lambda creates "
                       f"{configured or '/aws/lambda/<name>'} with no retention. Create a LogGroup with "
                       "retention_in_days and set logging_config.log_group to it.", fn.urn)
            continue
        for g in linked:
            days = ctx.prop(g, "retentionInDays")
            if days is None or days == 0:
                ctx.report(f"The function logs to {g.name}, which never expires. Set retention_in_days.", fn.urn)


def _sfn_logging(ctx: Ctx, args: ResourceValidationArgs) -> None:
    level = ctx.get("loggingConfiguration", "level")
    destination = ctx.get("loggingConfiguration", "logDestination")
    if level not in ("ALL", UNKNOWN):
        ctx.report(f"Execution logging level is {level or 'OFF'}; set logging_configuration level 'ALL' with "
                   "include_execution_data and a log_destination ('<log group arn>:*').")
    elif destination is None:
        ctx.report("Execution logging has no log_destination. Set it to '<log group arn>:*'.")


def _sfn_tracing(ctx: Ctx, args: ResourceValidationArgs) -> None:
    enabled = ctx.get("tracingConfiguration", "enabled")
    if enabled is not True and enabled is not UNKNOWN:
        ctx.report("X-Ray tracing is off. Set tracing_configuration={'enabled': True}.")


_rules = Rules(area=AREA, level=ADVISORY, unknown_doc=_FLAG)

LAMBDA_FUNCTION_TRACING = _rules.resource(
    "lambda-function-tracing", "Lambda functions must have X-Ray active tracing.", (FUNCTION,), _tracing,
    Severity.LOW, why="Traces show where a slow or failed job spent its time across Lambda, S3 and DynamoDB.",
    fix="tracing_config={'mode': 'Active'}.", refs=("checkov CKV_AWS_50", "cdk-nag Serverless LambdaTracing"))

CLOUDWATCH_LOGGROUP_RETENTION = _rules.resource(
    "cloudwatch-loggroup-retention", "CloudWatch log groups must set a retention period of at least minimumDays.",
    (LOG_GROUP,), _retention, Severity.LOW,
    config_schema=schema(minimumDays={"type": "integer", "default": 30, "minimum": 1,
                                      "description": "Shortest acceptable retention (checkov CKV_AWS_338 "
                                                     "uses 365)."}),
    why="Never-expiring logs cost money forever; too-short retention loses the audit trail.",
    fix="retention_in_days=30 (or your minimumDays).",
    refs=("checkov CKV_AWS_66", "checkov CKV_AWS_338", "cdk-nag Serverless CloudWatchLogGroupRetentionPeriod"))

LAMBDA_FUNCTION_LOG_RETENTION = _rules.stack(
    "lambda-function-log-retention", "Every Lambda function must log to a stack-managed log group that expires.",
    (FUNCTION, LOG_GROUP), _function_log_retention, Severity.LOW,
    why="If the stack does not create the group, Lambda creates one that never expires and that `pulumi destroy` "
        "leaves behind.", fix="A LogGroup with retention_in_days, referenced by logging_config.log_group.",
    unknown_doc="Linked by property dependency; an unknown group name with no dependency is skipped.",
    refs=("cdk-nag Serverless CloudWatchLogGroupRetentionPeriod",))

SFN_STATEMACHINE_LOGGING = _rules.resource(
    "sfn-statemachine-logging", "State machines must log ALL execution events to CloudWatch Logs.",
    (STATE_MACHINE,), _sfn_logging, Severity.MEDIUM,
    why="Execution history of Standard workflows expires after 90 days and Express has none; logs keep why a "
        "pipeline run failed.",
    fix="logging_configuration={'level': 'ALL', 'include_execution_data': True, "
        "'log_destination': Output.concat(log_group.arn, ':*')}.",
    refs=("cdk-nag AwsSolutions-SF1", "checkov CKV_AWS_285"))

SFN_STATEMACHINE_TRACING = _rules.resource(
    "sfn-statemachine-tracing", "State machines must have X-Ray tracing enabled.", (STATE_MACHINE,), _sfn_tracing,
    Severity.LOW, why="Traces connect a pipeline run to the Lambda invocations it made.",
    fix="tracing_configuration={'enabled': True}.",
    refs=("cdk-nag AwsSolutions-SF2", "checkov CKV_AWS_284", "cdk-nag Serverless StepFunctionStateMachineXray"))

POLICIES: list[AnyPolicy] = [
    LAMBDA_FUNCTION_TRACING,
    CLOUDWATCH_LOGGROUP_RETENTION,
    LAMBDA_FUNCTION_LOG_RETENTION,
    SFN_STATEMACHINE_LOGGING,
    SFN_STATEMACHINE_TRACING,
]
