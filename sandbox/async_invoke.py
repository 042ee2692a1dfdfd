"""Asynchronous Lambda invocation (``InvocationType=Event``): retries, then AWS's destination record to the
``OnSuccess``/``OnFailure`` destination (SQS, SNS, Lambda, EventBridge) or the dead-letter queue/topic."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.core import EmbeddedAws, Invocation
from sandbox.runtime import run_invocation

_LOG = logging.getLogger("sandbox.async_invoke")


def invoke_async(aws: EmbeddedAws, backend: Any, fn: Any, event: Any, qualifier: str | None) -> None:
    config: dict[str, Any] = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
    max_retries = int(config.get("MaximumRetryAttempts", 2))
    result: Invocation | None = None
    attempts = 0
    for attempt in range(1, max_retries + 2):
        attempts = attempt
        result = run_invocation(aws, backend, fn, event, qualifier, "Event", attempt=attempt)
        if not result.function_error:
            break
    assert result is not None
    destinations = config.get("DestinationConfig") or {}
    key = "OnFailure" if result.function_error else "OnSuccess"
    destination = (destinations.get(key) or {}).get("Destination")
    dead_letter = aws.function_dead_letters.get(fn.function_name)
    if destination:
        record = destination_record(
            function_arn=f"{fn.function_arn}:{qualifier or '$LATEST'}", request_id=result.request_id,
            event=event, response=result.payload, function_error=result.function_error,
            invoke_count=attempts,
        )
        _deliver_or_log(fn, destination, lambda: _send_to_destination(
            aws, destination, record, success=not result.function_error, fn=fn))
    elif result.function_error and dead_letter:
        _deliver_or_log(fn, dead_letter, lambda: _send_to_dead_letter(aws, dead_letter, event, result, fn=fn))


def destination_record(*, function_arn: str, request_id: str, event: Any, response: Any,
                       function_error: str | None, invoke_count: int,
                       timestamp: datetime | None = None) -> dict[str, Any]:
    """The record Lambda sends to an async invocation's OnSuccess/OnFailure destination."""
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response_context["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "RetriesExhausted" if function_error else "Success",
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": response_context,
        "responsePayload": response,
    }


def _deliver_or_log(fn: Any, target: str, send: Callable[[], None]) -> None:
    """Lambda cannot hand a record to its destination or dead-letter queue (e.g. the role may not send):
    the record is lost and the service counts a DestinationDeliveryFailures/DeadLetterErrors metric; the
    invoke itself does not fail."""
    from botocore.exceptions import ClientError

    try:
        send()
    except ClientError as exc:
        _LOG.warning("sandbox: %s could not deliver to %s (DeadLetterErrors): %s", fn.function_name, target, exc)


def _as_function(aws: EmbeddedAws, fn: Any, service: str) -> Any:
    """Lambda sends destination records and dead letters with the function's execution role."""
    return aws.role_client(service, str(fn.role), trusted="lambda.amazonaws.com", source_arn=str(fn.function_arn))


def _send_to_destination(aws: EmbeddedAws, arn: str, record: dict[str, Any], *, success: bool, fn: Any) -> None:
    service = arn.split(":")[2]
    body = json.dumps(record)
    if service == "sqs":
        _as_function(aws, fn, "sqs").send_message(QueueUrl=_queue_url(aws, arn), MessageBody=body)
    elif service == "sns":
        _as_function(aws, fn, "sns").publish(TopicArn=arn, Message=body)
    elif service == "lambda":
        _as_function(aws, fn, "lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
    elif service == "events":
        bus = arn.split(":")[5].split("/", 1)[1]
        _as_function(aws, fn, "events").put_events(Entries=[{
            "Source": "lambda",
            "DetailType": "Lambda Function Invocation Result - " + ("Success" if success else "Failure"),
            "Detail": body, "EventBusName": bus, "Resources": [],
        }])
    else:
        _LOG.warning("sandbox: destination %s is not supported; record dropped: %s", arn, body)


def _send_to_dead_letter(aws: EmbeddedAws, arn: str, event: Any, result: Invocation, *, fn: Any) -> None:
    payload = result.payload if isinstance(result.payload, dict) else {}
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": result.request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": str(payload.get("errorMessage", ""))[:1024]},
    }
    if arn.split(":")[2] == "sqs":
        _as_function(aws, fn, "sqs").send_message(QueueUrl=_queue_url(aws, arn), MessageBody=json.dumps(event),
                                       MessageAttributes=attributes)
    else:
        _as_function(aws, fn, "sns").publish(TopicArn=arn, Message=json.dumps(event), MessageAttributes=attributes)


def _queue_url(aws: EmbeddedAws, arn: str) -> str:
    parts = arn.split(":")
    return str(aws.client("sqs", region=parts[3]).get_queue_url(QueueName=parts[5],
                                                               QueueOwnerAWSAccountId=parts[4])["QueueUrl"])

