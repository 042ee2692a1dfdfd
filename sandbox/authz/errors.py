"""The error AWS returns for a denied request, per service and wire protocol.

AWS's message names the caller, the action, the resource and why (the form IAM has used since 2021)::

    User: arn:aws:sts::123456789012:assumed-role/etl-ingest-role/etl-ingest is not authorized to perform:
    s3:GetObject on resource: "arn:aws:s3:::raw/in/a.csv" because no identity-based policy allows the
    s3:GetObject action

The error code and HTTP status differ by service: ``AccessDenied`` (403) for S3, SQS, STS and IAM,
``AuthorizationError`` (403) for SNS, ``AccessDeniedException`` for the JSON services (400; 403 for Lambda
and Scheduler). :func:`error_response` serializes it in the service's protocol (rest-xml, query, json with
SQS's query-compatible code header, rest-json) so botocore raises the same ``ClientError`` it raises against
AWS.

Example
-------
>>> error_code("sns")
('AuthorizationError', 403)
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from sandbox.authz.policy import Decision

_CODES: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "lambda": ("AccessDeniedException", 403),
    "scheduler": ("AccessDeniedException", 403),
}
_DEFAULT = ("AccessDeniedException", 400)


def error_code(boto_service: str) -> tuple[str, int]:
    """(error code, HTTP status) of a denial by ``boto_service``."""
    return _CODES.get(boto_service, _DEFAULT)


def denial_message(decision: Decision) -> str:
    """AWS's text for a denied request (see the module docstring)."""
    request = decision.request
    return (f"User: {request.principal.arn} is not authorized to perform: {request.action} on resource: "
            f"\"{request.resource}\" {decision.reason}").rstrip()


def error_response(boto_service: str, protocol: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the denial in the service's wire ``protocol``."""
    code, status = error_code(boto_service)
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}'
                f"</Message><RequestId>{request_id}</RequestId></Error>")
        headers["Content-Type"] = "application/xml"
        return status, headers, body.encode()
    if protocol in ("query", "ec2"):
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>'
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        headers["Content-Type"] = "text/xml"
        return status, headers, body.encode()
    headers["x-amzn-ErrorType"] = code
    if protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.0"
        if boto_service == "sqs":  # JSON protocol, query-compatible error code
            headers["x-amzn-query-error"] = f"{code};Sender"
        payload = {"__type": code, "message": message}
    else:  # rest-json
        headers["Content-Type"] = "application/json"
        payload = {"Type": "User", "message": message}
    return status, headers, json.dumps(payload).encode()


def s3_access_denied() -> Exception:
    """S3's ``AccessDenied`` (403 with AWS's error document) for moto's bucket-policy check to raise: moto itself
    answers a denial there with an empty 403, which botocore reports as code ``"403"``."""
    from moto.s3.exceptions import S3ClientError

    return S3ClientError("AccessDenied", "Access Denied")
