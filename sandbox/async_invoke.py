"""Asynchronous Lambda invocation (``InvocationType=Event``): retries, then AWS's destination record to the
``OnSuccess``/``OnFailure`` destination (SQS, SNS, Lambda, EventBridge) or the dead-letter queue/topic."""

from __future__ import annotations

import json
import logging
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
        _send_to_destination(aws, destination, record, success=not result.function_error)
    elif result.function_error and dead_letter:
        _send_to_dead_letter(aws, dead_letter, event, result)


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


def _send_to_destination(aws: EmbeddedAws, arn: str, record: dict[str, Any], *, success: bool) -> None:
    service = arn.split(":")[2]
    body = json.dumps(record)
    if service == "sqs":
        aws.client("sqs").send_message(QueueUrl=_queue_url(aws, arn), MessageBody=body)
    elif service == "sns":
        aws.client("sns").publish(TopicArn=arn, Message=body)
    elif service == "lambda":
        aws.client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=body.encode())
    elif service == "events":
        bus = arn.split(":")[5].split("/", 1)[1]
        aws.client("events").put_events(Entries=[{
            "Source": "lambda",
            "DetailType": "Lambda Function Invocation Result - " + ("Success" if success else "Failure"),
            "Detail": body, "EventBusName": bus, "Resources": [],
        }])
    else:
        _LOG.warning("sandbox: destination %s is not supported; record dropped: %s", arn, body)


def _send_to_dead_letter(aws: EmbeddedAws, arn: str, event: Any, result: Invocation) -> None:
    payload = result.payload if isinstance(result.payload, dict) else {}
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": result.request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": str(payload.get("errorMessage", ""))[:1024]},
    }
    if arn.split(":")[2] == "sqs":
        aws.client("sqs").send_message(QueueUrl=_queue_url(aws, arn), MessageBody=json.dumps(event),
                                       MessageAttributes=attributes)
    else:
        aws.client("sns").publish(TopicArn=arn, Message=json.dumps(event), MessageAttributes=attributes)


def _queue_url(aws: EmbeddedAws, arn: str) -> str:
    parts = arn.split(":")
    return str(aws.client("sqs", region=parts[3]).get_queue_url(QueueName=parts[5],
                                                               QueueOwnerAWSAccountId=parts[4])["QueueUrl"])

