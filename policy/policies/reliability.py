"""Reliability: nothing is lost (DLQs, failure destinations, retries), data can be recovered (PITR, versioning)."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from ._core import ADVISORY, UNKNOWN, AnyPolicy, Ctx, Rules, StackCtx
from .public_access import BUCKET, QUEUE, bucket_side

AREA = "reliability"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
SCHEDULE = "aws:scheduler/schedule:Schedule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
REDRIVE = "aws:sqs/redrivePolicy:RedrivePolicy"
TABLE = "aws:dynamodb/table:Table"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

#: Services that invoke Lambda synchronously (the caller gets the error and retries or reports it), per
#: "Invoking Lambda with events from other AWS services" in the Lambda developer guide. A permission for one of
#: them does not make a function asynchronously invoked.
SYNC_INVOKERS = frozenset((
    "apigateway", "elasticloadbalancing", "cognito-idp", "lex", "alexa-appkit", "alexa-connectedhome",
    "edgelambda", "cloudfront", "kinesisfirehose", "firehose", "secretsmanager", "states", "s3-object-lambda",
    "vpc-lattice", "connect", "appsync", "bedrock", "iot-wireless",
))
#: Services that invoke Lambda asynchronously (Lambda queues the event and drops it after two retries).
ASYNC_INVOKERS = frozenset((
    "s3", "sns", "ses", "cloudformation", "logs", "events", "scheduler", "codecommit", "config", "iot",
    "iotevents", "codepipeline", "cloudwatch", "lambda",
))


def invoker_kind(principal: Any) -> str | None:
    """``"sync"``, ``"async"`` or ``None`` (an account or unknown principal: the invocation type is the caller's
    choice) for a Lambda permission's principal.

    >>> invoker_kind("apigateway.amazonaws.com"), invoker_kind("s3.amazonaws.com"), invoker_kind("123456789012")
    ('sync', 'async', None)
    """
    if not isinstance(principal, str) or not principal.endswith((".amazonaws.com", ".amazon.com")):
        return None
    service = principal.split(".", 1)[0]
    if service in SYNC_INVOKERS:
        return "sync"
    return "async" if service in ASYNC_INVOKERS else None

_PRESENCE = "Only presence matters: a DLQ ARN unknown at preview is set, so it passes."


def _arn_targets(ctx: StackCtx, res: PolicyResource, key_path: tuple[str | int, ...], dep_key: str,
                 candidates: list[PolicyResource]) -> list[PolicyResource]:
    """Candidates a nested ARN property points at (by property dependency, else by equal ``arn``/``name``)."""
    idx = ctx.index(candidates, "arn", "name")
    found = [idx.by_urn[d.urn] for d in res.property_dependencies.get(dep_key) or [] if d.urn in idx.by_urn]
    if found:
        return found
    value = ctx.prop(res, *key_path)
    return list(idx.by_value.get(value, ())) if isinstance(value, str) else []


def _function_dlq(ctx: StackCtx) -> None:
    functions = ctx.of_type(FUNCTION)
    # function -> its asynchronous invokers, each named once (a dict keeps their order)
    async_invoked: dict[str, dict[str, None]] = {f.urn: {} for f in functions}
    for perm in ctx.of_type(PERMISSION):
        principal = ctx.prop(perm, "principal")
        if invoker_kind(principal) != "async":
            continue
        for key in ("function", "functionName"):  # pulumi-aws 7 names it ``function``
            for fn in _arn_targets(ctx, perm, (key,), key, functions):
                async_invoked[fn.urn][f"permission for {principal}"] = None
    for note in ctx.of_type(BUCKET_NOTIFICATION):
        for i, _ in enumerate(ctx.items(ctx.prop(note, "lambdaFunctions"))):
            for fn in _arn_targets(ctx, note, ("lambdaFunctions", i, "lambdaFunctionArn"), "lambdaFunctions",
                                   functions):
                async_invoked[fn.urn][f"S3 notification {note.name}"] = None
    for sub in ctx.of_type(SUBSCRIPTION):
        if ctx.prop(sub, "protocol") == "lambda":
            for fn in _arn_targets(ctx, sub, ("endpoint",), "endpoint", functions):
                async_invoked[fn.urn][f"SNS subscription {sub.name}"] = None
    for sched in ctx.of_type(SCHEDULE):
        for fn in _arn_targets(ctx, sched, ("target", "arn"), "target", functions):
            async_invoked[fn.urn][f"schedule {sched.name}"] = None
    for target in ctx.of_type(EVENT_TARGET):
        for fn in _arn_targets(ctx, target, ("arn",), "arn", functions):
            async_invoked[fn.urn][f"event target {target.name}"] = None
    on_failure: set[str] = set()
    for cfg in ctx.of_type(INVOKE_CONFIG):
        if ctx.prop(cfg, "destinationConfig", "onFailure", "destination") is None:
            continue
        for fn in _arn_targets(ctx, cfg, ("functionName",), "functionName", functions):
            on_failure.add(fn.urn)
    for fn in functions:
        invokers = async_invoked[fn.urn]
        if not invokers or fn.urn in on_failure:
            continue
        if ctx.prop(fn, "deadLetterConfig", "targetArn") is not None:
            continue
        ctx.report(f"The function is invoked asynchronously ({', '.join(invokers)}) but has neither a "
                   "dead-letter queue nor an on-failure destination: failed events are dropped after the "
                   "retries. Add a FunctionEventInvokeConfig with destination_config.on_failure (or "
                   "dead_letter_config).", fn.urn)


def _redrive_target(raw: Any) -> str | None:
    if raw is None or raw is UNKNOWN:
        return None
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    target = doc.get("deadLetterTargetArn") if hasattr(doc, "get") else None
    return target if isinstance(target, str) else None


def _queue_dlq(ctx: StackCtx) -> None:
    queues = ctx.of_type(QUEUE)
    by_arn = ctx.index(queues, "arn")
    has_redrive: set[str] = set()
    is_dlq: set[str] = set()

    def mark_target(raw: Any, deps: list[PolicyResource]) -> None:
        target = _redrive_target(raw)
        if target:
            is_dlq.update(q.urn for q in by_arn.by_value.get(target, ()))
        is_dlq.update(d.urn for d in deps if d.urn in by_arn.by_urn)

    for q in queues:
        raw = ctx.prop(q, "redrivePolicy")
        if raw is not None:
            has_redrive.add(q.urn)
            mark_target(raw, q.property_dependencies.get("redrivePolicy") or [])
    for rp in ctx.of_type(REDRIVE):
        has_redrive.update(c.urn for c in ctx.linked(rp, "queueUrl", queues, "id", "url"))
        mark_target(ctx.prop(rp, "redrivePolicy"), rp.property_dependencies.get("redrivePolicy") or [])
    # Queues used as a DLQ or failure destination by Lambda, Scheduler or EventBridge are terminal.
    for res_type, key_path, dep_key in (
            (INVOKE_CONFIG, ("destinationConfig", "onFailure", "destination"), "destinationConfig"),
            (FUNCTION, ("deadLetterConfig", "targetArn"), "deadLetterConfig"),
            (SCHEDULE, ("target", "deadLetterConfig", "arn"), "target"),
            (EVENT_TARGET, ("deadLetterConfig", "arn"), "deadLetterConfig"),
            (MAPPING, ("destinationConfig", "onFailure", "destinationArn"), "destinationConfig")):
        for res in ctx.of_type(res_type):
            is_dlq.update(q.urn for q in _arn_targets(ctx, res, key_path, dep_key, queues))
    for q in queues:
        if q.urn not in has_redrive and q.urn not in is_dlq:
            ctx.report("The queue is neither a dead-letter queue nor has a redrive policy: messages that keep "
                       "failing are retried until they expire. Set redrive_policy with deadLetterTargetArn "
                       "and maxReceiveCount.", q.urn)


def _pitr(ctx: Ctx, args: ResourceValidationArgs) -> None:
    enabled = ctx.get("pointInTimeRecovery", "enabled")
    if enabled is not True and enabled is not UNKNOWN:
        ctx.report("Point-in-time recovery is off. Set point_in_time_recovery={'enabled': True}.")


def _versioning(ctx: StackCtx) -> None:
    side = bucket_side(ctx, VERSIONING)
    for bucket in ctx.of_type(BUCKET):
        statuses = [ctx.prop(v, "versioningConfiguration", "status") for v in side[bucket.urn]]
        inline = [ctx.prop(bucket, "versioning", "enabled"), ctx.prop(bucket, "versionings", 0, "enabled")]
        if True in inline or any(s in ("Enabled", UNKNOWN) for s in statuses):
            continue
        ctx.report("Bucket versioning is not enabled: an overwrite or delete loses the artifact. Add "
                   "BucketVersioning with status 'Enabled'.", bucket.urn)


def _schedule(ctx: Ctx, args: ResourceValidationArgs) -> None:
    missing = []
    if ctx.get("target", "retryPolicy") is None:
        missing.append("target.retry_policy (maximum_retry_attempts, maximum_event_age_in_seconds)")
    if ctx.get("target", "deadLetterConfig", "arn") is None:
        missing.append("target.dead_letter_config.arn")
    if missing:
        ctx.report("The schedule has no " + " and no ".join(missing) + ": a failed invocation is lost "
                   "silently. Set them (ScheduledComputation does).")


def _event_target(ctx: Ctx, args: ResourceValidationArgs) -> None:
    if ctx.get("deadLetterConfig", "arn") is None:
        ctx.report("The rule target has no dead_letter_config: events EventBridge cannot deliver are dropped. "
                   "Set dead_letter_config.arn to an SQS queue.")


def _concurrency(ctx: Ctx, args: ResourceValidationArgs) -> None:
    value = ctx.get("reservedConcurrentExecutions")
    if value is None or (isinstance(value, int | float) and value < 0):
        ctx.report("No reserved concurrency: a burst of inputs can use the account's whole concurrency and "
                   "starve other functions (and the bill is unbounded). Set reserved_concurrent_executions where "
                   "the account's quota leaves room (Lambda keeps 100 unreserved, so accounts at the default quota "
                   "of 10 refuse any reservation); sciflow's run ledger lease already serializes scheduled runs.")


def _explicit_memory_timeout(ctx: Ctx, args: ResourceValidationArgs) -> None:
    memory, timeout = ctx.get("memorySize"), ctx.get("timeout")
    if memory is None or memory == 128:
        ctx.report("memory_size is the 128 MB default; size it for the workload (numpy/pandas jobs need "
                   "1024 MB or more, and more memory also means more CPU).")
    if timeout is None or timeout == 3:
        ctx.report("timeout is the 3 s default; set it to the job's bounded run time.")


DLQ_DOC_UNKNOWN = ("Links are followed through property dependencies (known at preview); an unknown destination "
                   "counts as set.")
_rules = Rules(area=AREA, level=ADVISORY, unknown_doc="An unknown value counts as set.")

LAMBDA_FUNCTION_DLQ = _rules.stack(
    "lambda-function-dlq", "Asynchronously invoked Lambda functions must have a DLQ or an on-failure destination.",
    (FUNCTION, INVOKE_CONFIG, PERMISSION, SCHEDULE, EVENT_TARGET, BUCKET_NOTIFICATION, SUBSCRIPTION), _function_dlq,
    Severity.MEDIUM,
    why="After 2 retries Lambda drops an asynchronous event that keeps failing; the input is lost. Functions only "
        "called synchronously are not flagged: asynchronous means a Scheduler schedule, an EventBridge target, an S3 "
        "bucket notification, an SNS subscription, or a lambda Permission for an asynchronous service (S3, SNS, SES, "
        "EventBridge, CloudWatch Logs, CloudFormation, Config, IoT, CodeCommit ...). Permissions for synchronous "
        "callers (API Gateway, ALB, Cognito, Lex, CloudFront, Firehose, Secrets Manager rotation, Step Functions ...) "
        "and for accounts are not.",
    fix="aws.lambda_.FunctionEventInvokeConfig(destination_config=on_failure -> SQS queue) or dead_letter_config.",
    unknown_doc=DLQ_DOC_UNKNOWN, refs=("cdk-nag Serverless LambdaDLQ",
                                       "cdk-nag Serverless LambdaAsyncFailureDestination", "checkov CKV_AWS_116"))

SQS_QUEUE_DLQ = _rules.stack(
    "sqs-queue-dlq", "SQS queues must have a redrive policy unless they are themselves a DLQ.",
    (QUEUE, REDRIVE, INVOKE_CONFIG, FUNCTION, SCHEDULE, EVENT_TARGET, MAPPING), _queue_dlq, Severity.MEDIUM,
    why="Poison messages otherwise cycle until retention expires and then vanish.",
    fix="redrive_policy=json.dumps({'deadLetterTargetArn': dlq.arn, 'maxReceiveCount': 5}).",
    unknown_doc=DLQ_DOC_UNKNOWN, refs=("cdk-nag AwsSolutions-SQS3", "cdk-nag Serverless SQSRedrivePolicy"))

DYNAMODB_TABLE_PITR = _rules.resource(
    "dynamodb-table-pitr", "DynamoDB tables must have point-in-time recovery enabled.", (TABLE,), _pitr,
    Severity.MEDIUM, why="The ledger is the record of what was processed; PITR restores it after a bad write.",
    fix="point_in_time_recovery={'enabled': True}.", unknown_doc="An unknown flag counts as enabled.",
    refs=("cdk-nag AwsSolutions-DDB3", "checkov CKV_AWS_28"))

S3_BUCKET_VERSIONING = _rules.stack(
    "s3-bucket-versioning", "S3 buckets must have versioning enabled.", (BUCKET, VERSIONING), _versioning,
    Severity.LOW, why="Versioning keeps overwritten or deleted inputs and artifacts recoverable.",
    fix="aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={'status': 'Enabled'}).",
    unknown_doc="Matched by property dependency; an unknown status counts as enabled.", refs=("checkov CKV_AWS_21",))

SCHEDULER_SCHEDULE_RETRY_DLQ = _rules.resource(
    "scheduler-schedule-retry-dlq", "EventBridge Scheduler schedules must set a retry policy and a dead-letter "
    "queue.", (SCHEDULE,), _schedule, Severity.MEDIUM,
    why="Without a DLQ a scheduled run that cannot be delivered is dropped without a trace.",
    fix="target.retry_policy and target.dead_letter_config.arn (an SQS queue).", unknown_doc=_PRESENCE,
    refs=("sciflow",))

EVENTBRIDGE_TARGET_DLQ = _rules.resource(
    "eventbridge-target-dlq", "EventBridge rule targets must have a dead-letter queue.", (EVENT_TARGET,),
    _event_target, Severity.MEDIUM, why="S3 -> EventBridge -> Step Functions deliveries that fail are otherwise lost.",
    fix="dead_letter_config={'arn': queue.arn} and a retry_policy.", unknown_doc=_PRESENCE,
    refs=("cdk-nag Serverless EventBusDLQ",))

LAMBDA_FUNCTION_CONCURRENCY = _rules.resource(
    "lambda-function-concurrency", "Lambda functions must set reserved concurrency.", (FUNCTION,), _concurrency,
    Severity.LOW,
    why="Bounds parallel runs (and cost) and protects the rest of the account's concurrency. The trade-off: a "
        "reservation is carved out of the account's pool and Lambda keeps 100 unreserved, so new accounts (quota 10) "
        "reject any; sciflow leaves functions unreserved by default and serializes a computation's runs with its run "
        "ledger's lease instead.",
    fix="reserved_concurrent_executions=N (config `reservedConcurrency`) where the quota allows.",
    refs=("checkov CKV_AWS_115", "cdk-nag LambdaConcurrency (NIST/HIPAA packs)"))

LAMBDA_FUNCTION_EXPLICIT_MEMORY_TIMEOUT = _rules.resource(
    "lambda-function-explicit-memory-timeout", "Lambda functions should not run with the default memory (128 MB) and "
    "timeout (3 s).", (FUNCTION,), _explicit_memory_timeout, Severity.LOW,
    why="The defaults are wrong for scientific work: 128 MB cannot import pandas, 3 s times out.",
    fix="Set memory_size and timeout from the job's measured needs.",
    refs=("cdk-nag Serverless LambdaDefaultMemorySize", "cdk-nag Serverless LambdaDefaultTimeout"))

POLICIES: list[AnyPolicy] = [
    LAMBDA_FUNCTION_DLQ,
    SQS_QUEUE_DLQ,
    DYNAMODB_TABLE_PITR,
    S3_BUCKET_VERSIONING,
    SCHEDULER_SCHEDULE_RETRY_DLQ,
    EVENTBRIDGE_TARGET_DLQ,
    LAMBDA_FUNCTION_CONCURRENCY,
    LAMBDA_FUNCTION_EXPLICIT_MEMORY_TIMEOUT,
]
