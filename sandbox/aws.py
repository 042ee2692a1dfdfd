"""The embedded AWS: moto with Step Functions execution on and Lambda code executed in-process.

moto 5.2 runs Lambda code only in Docker. Without Docker (``{"lambda": {"use_docker": False}}``) its
``LambdaSimpleBackend.invoke`` returns a canned answer. :func:`embedded_aws` replaces that one method with
:func:`_invoke_in_process`, which does what the Lambda Python runtime does, in this process:

* unzips the function's code and each layer's zip (cached by sha256 under one temp dir per process) and
  puts the code dir, then every layer's ``python/lib/python3.X/site-packages`` and ``python/`` on
  ``sys.path`` for the call (later layers first, as if extracted over earlier ones into ``/opt``);
* imports the handler module *per function and code hash*: the top-level packages shipped in the zip
  (``handlers`` ...) are swapped in and out of ``sys.modules`` around the call, so two functions that ship
  different ``handlers`` packages never see each other's modules, and the repo's own ``handlers`` package
  imported by tests is left alone. A warm function keeps its modules between calls, like a warm sandbox;
* sets the function's environment (its variables plus the runtime's ``AWS_LAMBDA_*``/``AWS_REGION``
  variables) for the call and restores it afterwards; gives the handler a context object with a remaining
  time clock counting down from the configured timeout;
* maps a raised exception to Lambda's ``FunctionError: Unhandled`` payload
  ``{"errorMessage", "errorType", "requestId", "stackTrace"}``, so Step Functions ``Retry``/``Catch`` match
  on ``errorType``; an import failure is ``Runtime.ImportModuleError``, a missing handler
  ``Runtime.HandlerNotFound``, an unserialisable result ``Runtime.MarshalError``, and a run longer than
  the timeout ``Sandbox.Timedout`` (checked after the fact: the handler is not interrupted);
* runs ``InvocationType=Event`` calls synchronously before answering 202, retrying up to the function's
  ``MaximumRetryAttempts`` (default 2), then sends AWS's destination record to the ``OnSuccess`` /
  ``OnFailure`` destination of its event invoke config (SQS, SNS, Lambda or EventBridge);
* writes ``START``/``END``/``REPORT`` and everything the handler prints or logs to CloudWatch Logs
  (``/aws/lambda/<name>`` unless the deploy registered another log group).

DynamoDB's item writes are atomic as in AWS (moto does not lock; its backend's item methods run under one lock
here), so conditional writes of racing invocations behave as they would in the cloud.

Invocations hold one re-entrant lock (the environment and ``sys.modules`` are process-wide); Step Functions
``Map`` iterations, which moto runs in threads, therefore run one at a time.

Example
-------
>>> with embedded_aws("ap-south-1") as aws:
...     aws.client("s3").list_buckets()["Buckets"]
[]
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import hashlib
import importlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import boto3.session
from botocore.client import BaseClient
from botocore.config import Config
from moto.core.config import DefaultConfig

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "ap-south-1"
PINNED_MOTO = "5.2.5"
PATCHED_SYMBOL = "moto.awslambda_simple.models.LambdaSimpleBackend.invoke"
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
PYTHON_TAG = f"python{sys.version_info.major}.{sys.version_info.minor}"

_LOG = logging.getLogger("sandbox.aws")


class SandboxError(RuntimeError):
    """The embedded AWS cannot run as asked (wrong moto version, nested contexts ...)."""


# --------------------------------------------------------------------------------------------------
# Public objects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """One in-process Lambda invocation, as recorded by the embedded AWS (newest last)."""

    function_name: str
    request_id: str
    invocation_type: str
    event: Any
    payload: Any
    function_error: str | None
    duration_ms: float
    log_lines: tuple[str, ...]
    attempt: int = 1

    @property
    def error_type(self) -> str | None:
        if self.function_error and isinstance(self.payload, dict):
            return str(self.payload.get("errorType"))
        return None


@dataclass(frozen=True)
class S3Notice:
    """One S3 change that AWS would have published to EventBridge (the bucket has EventBridge on).

    moto's own S3->EventBridge delivery is replaced by this record (its event shape differs from AWS's and
    it cannot reach Lambda or Step Functions targets); ``sandbox.events`` builds the AWS event from it and
    routes it through the deployed rules.
    """

    event_name: str  # "s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete", ...
    bucket: str
    region: str
    key: str
    size: int
    etag: str
    version_id: str | None
    sequencer: str
    time: datetime


@dataclass
class EmbeddedAws:
    """Handle on the running embedded AWS: clients, the invocation record and deploy-time hints.

    ``endpoint_url`` is ``None`` in-process (``mock_aws`` intercepts every boto3 client) and
    ``http://127.0.0.1:<port>`` in server mode.
    """

    region: str = DEFAULT_REGION
    account_id: str = ACCOUNT_ID
    endpoint_url: str | None = None
    invocations: list[Invocation] = field(default_factory=list)
    # moto keeps neither LoggingConfig nor DeadLetterConfig: the deploy records them here (by function name)
    # LoggingConfig per function: {"LogFormat": "Text"|"JSON", "LogGroup", "ApplicationLogLevel", ...}
    function_logging: dict[str, dict[str, str]] = field(default_factory=dict)
    function_dead_letters: dict[str, str] = field(default_factory=dict)
    # S3 changes in buckets with EventBridge notifications on, not yet delivered (see sandbox.events)
    s3_notices: list[S3Notice] = field(default_factory=list)
    s3_sequence: int = 0
    # layer package name -> note, for layer packages the process had already imported from elsewhere
    shadowed_layer_packages: dict[str, str] = field(default_factory=dict)
    # what sandbox.deploy created, kept so a second deploy into the same embedded AWS reuses it
    deploy_state: dict[str, Any] = field(default_factory=dict)
    _modules: dict[tuple[str, str], dict[str, ModuleType]] = field(default_factory=dict, repr=False)
    _clients: dict[tuple[str, str], BaseClient] = field(default_factory=dict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str, region: str | None = None) -> BaseClient:
        """A boto3 client bound to the embedded AWS (fake credentials), cached per service and region."""
        key = (service, region or self.region)
        with self._clients_lock:
            found = self._clients.get(key)
            if found is None:
                kwargs: dict[str, Any] = {}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                found = _shared_session().client(
                    service,
                    region_name=key[1], aws_access_key_id="testing", aws_secret_access_key="testing",
                    config=Config(retries={"max_attempts": 1, "mode": "standard"}), **kwargs)
                self._clients[key] = found
        return found

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        """``arn:aws:<service>:<region>:<account>:<resource>`` in this embedded AWS."""
        return f"arn:aws:{service}:{self.region if region is None else region}:{self.account_id}:{resource}"

    def running_executions(self) -> list[str]:
        """ARNs of the Step Functions executions still RUNNING in the regions this embedded AWS was used in."""
        with self._clients_lock:
            regions = {self.region, *(region for _, region in self._clients)}
        running: list[str] = []
        for region in sorted(regions):
            sfn = self.client("stepfunctions", region=region)
            for page in sfn.get_paginator("list_state_machines").paginate():
                for machine in page["stateMachines"]:
                    for executions in sfn.get_paginator("list_executions").paginate(
                            stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"):
                        running.extend(e["executionArn"] for e in executions["executions"])
        return running

    def drain(self, timeout_s: float = 30.0) -> list[str]:
        """Wait until no execution is RUNNING (at most ``timeout_s``); return those still running."""
        deadline = time.monotonic() + timeout_s
        while True:
            running = self.running_executions()
            if not running or time.monotonic() >= deadline:
                return running
            time.sleep(0.05)

    def invocations_of(self, function_name: str) -> list[Invocation]:
        return [inv for inv in list(self.invocations) if inv.function_name == function_name]


_SESSION: boto3.session.Session | None = None
_SESSION_LOCK = threading.Lock()


def _shared_session() -> boto3.session.Session:
    """One botocore session per process: it caches the (large) service models clients are built from."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION


@contextlib.contextmanager
def embedded_aws(region: str = DEFAULT_REGION, *, drain_timeout_s: float = 30.0) -> Iterator[EmbeddedAws]:
    """Run moto in-process with SFN execution on and Lambda code executed in this process.

    State lives until the context exits; one embedded AWS per process at a time. On exit it waits up to
    ``drain_timeout_s`` for Step Functions executions still running (they run in moto's threads and would
    otherwise outlive the mock), and logs the ones it gave up on.
    """
    from moto import mock_aws

    aws = EmbeddedAws(region=region)
    previous_region = {k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION",)}
    with _activate(aws), mock_aws(config=MOTO_CONFIG):
        os.environ.setdefault("AWS_DEFAULT_REGION", region)
        try:
            yield aws
        finally:
            try:
                left = aws.drain(drain_timeout_s) if drain_timeout_s > 0 else []
            except Exception as exc:  # never mask the body's own exception
                _LOG.warning("sandbox: could not check for running executions: %s", exc)
                left = []
            if left:
                _LOG.warning("sandbox: %d executions still RUNNING at exit: %s", len(left), ", ".join(left))
            for key, value in previous_region.items():
                _set_env(key, value)


# --------------------------------------------------------------------------------------------------
# Patch management
# --------------------------------------------------------------------------------------------------

_ACTIVE: EmbeddedAws | None = None
_ACTIVE_LOCK = threading.Lock()
_INVOKE_LOCK = threading.RLock()
_ORIGINAL_INVOKE: Any = None
_ORIGINAL_S3_EVENTBRIDGE: Any = None
_ORIGINAL_GET_PERMISSION: Any = None


def _simple_backend_class() -> type:
    import moto

    installed = getattr(moto, "__version__", "unknown")
    try:
        from moto.awslambda_simple.models import LambdaSimpleBackend
    except ImportError as exc:  # pragma: no cover - depends on the installed moto
        raise SandboxError(
            f"sandbox: cannot import {PATCHED_SYMBOL.rsplit('.', 1)[0]} ({exc}); the embedded AWS replaces "
            f"{PATCHED_SYMBOL} and is tested with moto=={PINNED_MOTO} (installed: moto {installed})"
        ) from exc
    if not callable(LambdaSimpleBackend.__dict__.get("invoke")):
        raise SandboxError(
            f"sandbox: {PATCHED_SYMBOL} is missing; the embedded AWS is tested with moto=={PINNED_MOTO} "
            f"(installed: moto {installed})"
        )
    if installed != PINNED_MOTO:
        _LOG.warning("sandbox: tested with moto==%s, installed moto %s", PINNED_MOTO, installed)
    return LambdaSimpleBackend


@contextlib.contextmanager
def _activate(aws: EmbeddedAws) -> Iterator[None]:
    backend_cls = _simple_backend_class()
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            raise SandboxError("sandbox: an embedded AWS is already running in this process")
        _install(backend_cls, aws)
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            _uninstall(backend_cls)


# DynamoDB evaluates a condition expression and writes atomically; moto does not lock, so two in-process Lambdas
# racing on one ledger item could both pass a condition. These backend methods run under one lock.
_DYNAMODB_ATOMIC = ("put_item", "update_item", "delete_item", "get_item", "transact_write_items")
_ORIGINAL_DYNAMODB: dict[str, Any] = {}
_DYNAMODB_LOCK = threading.RLock()


def _atomic(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_LOCK:
            return method(*args, **kwargs)

    return locked


def _patch_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _DYNAMODB_ATOMIC:
        _ORIGINAL_DYNAMODB[name] = DynamoDBBackend.__dict__[name]
        setattr(DynamoDBBackend, name, _atomic(_ORIGINAL_DYNAMODB[name]))


def _unpatch_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name, method in _ORIGINAL_DYNAMODB.items():
        setattr(DynamoDBBackend, name, method)
    _ORIGINAL_DYNAMODB.clear()


@contextlib.contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """DynamoDB's atomic conditional writes for a plain ``moto.mock_aws`` (the embedded AWS always has them)."""
    _patch_dynamodb()
    try:
        yield
    finally:
        _unpatch_dynamodb()


def _install(backend_cls: type, aws: EmbeddedAws) -> None:
    global _ACTIVE, _ORIGINAL_INVOKE, _ORIGINAL_S3_EVENTBRIDGE, _ORIGINAL_GET_PERMISSION
    from moto.s3 import notifications
    from moto.s3.models import FakeBucket

    _ACTIVE = aws
    _patch_dynamodb()
    _ORIGINAL_INVOKE = backend_cls.__dict__["invoke"]
    backend_cls.invoke = _patched_invoke  # type: ignore[attr-defined]
    _ORIGINAL_S3_EVENTBRIDGE = notifications._send_event_bridge_message
    notifications._send_event_bridge_message = _record_s3_notice
    _ORIGINAL_GET_PERMISSION = FakeBucket.__dict__["get_permission"]
    FakeBucket.get_permission = _bucket_permission  # type: ignore[method-assign]


def _uninstall(backend_cls: type) -> None:
    global _ACTIVE
    from moto.s3 import notifications
    from moto.s3.models import FakeBucket

    _unpatch_dynamodb()
    backend_cls.invoke = _ORIGINAL_INVOKE  # type: ignore[attr-defined]
    notifications._send_event_bridge_message = _ORIGINAL_S3_EVENTBRIDGE
    FakeBucket.get_permission = _ORIGINAL_GET_PERMISSION  # type: ignore[method-assign]
    _ACTIVE = None


# The request context every sandbox request has: boto3 talks HTTPS to AWS, so aws:SecureTransport is true.
SANDBOX_CONDITION_CONTEXT = {"aws:securetransport": "true"}


def _condition_holds(condition: Mapping[str, Any]) -> bool | None:
    """Whether a statement's ``Condition`` block holds for a sandbox request; ``None`` if it cannot tell."""
    for operator, tests in condition.items():
        if operator not in ("Bool", "BoolIfExists") or not isinstance(tests, Mapping):
            return None
        for key, expected in tests.items():
            actual = SANDBOX_CONDITION_CONTEXT.get(str(key).lower())
            if actual is None:
                return None
            values = expected if isinstance(expected, list) else [expected]
            if actual not in {str(v).lower() for v in values}:
                return False
    return True


def _bucket_permission(self: Any, action: str, resource: str) -> Any:
    """moto's bucket-policy check, with ``Condition`` blocks evaluated instead of ignored.

    moto applies a conditional statement as if it were unconditional, so the usual TLS-only statement
    (``Deny * if aws:SecureTransport is false``) denies every request. Conditions on ``aws:SecureTransport``
    are evaluated (sandbox requests count as TLS); statements with any other condition are left out, since
    the request facts they test are not available here.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = [st for st in statements if not st.get("Condition") or _condition_holds(st["Condition"]) is True]
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)


_SEQUENCER_LOCK = threading.Lock()


def _record_s3_notice(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    aws = _ACTIVE
    name = str(getattr(event_name, "value", event_name))
    # moto also "sends" ObjectTagging/ObjectAcl events for every PutObject (it sets tags and ACL internally);
    # AWS does not, so only object creation, removal and restore are recorded.
    if aws is None or not name.startswith(("s3:ObjectCreated:", "s3:ObjectRemoved:", "s3:ObjectRestore:")):
        return
    with _SEQUENCER_LOCK:  # S3 sequencers increase per key; one counter per embedded AWS keeps runs repeatable
        aws.s3_sequence += 1
        sequence = aws.s3_sequence
    version = getattr(key, "version_id", None)
    versioned = getattr(bucket, "is_versioned", False)
    aws.s3_notices.append(S3Notice(
        event_name=name, bucket=bucket.name,
        region=bucket.region_name, key=key.name,
        size=int(key.size), etag=str(key.etag).strip('"'),
        version_id=str(version) if versioned and version not in (None, "null") else None,
        sequencer=f"{sequence:018X}", time=datetime.now(UTC),
    ))


def install_for_server(aws: EmbeddedAws) -> None:
    """Install the in-process invoke for a moto server living in this process (see ``sandbox.server``)."""
    from moto.core.config import default_user_config

    backend_cls = _simple_backend_class()
    for service, settings in MOTO_CONFIG.items():
        default_user_config.setdefault(service, {}).update(settings)  # type: ignore[misc]
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            raise SandboxError("sandbox: an embedded AWS is already running in this process")
        _install(backend_cls, aws)


def uninstall_for_server() -> None:
    """Undo :func:`install_for_server`."""
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            _uninstall(_simple_backend_class())


def _patched_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                    response_headers: dict[str, Any]) -> bytes:
    aws = _ACTIVE
    if aws is None:  # pragma: no cover - the patch is removed together with _ACTIVE
        raise SandboxError("sandbox: Lambda invoked outside an embedded AWS")
    fn = self.get_function(function_name, qualifier)
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    event = _decode_event(body)
    if invocation_type == "Event":
        _invoke_async(aws, self, fn, event, qualifier)
        return b""
    result = _run(aws, self, fn, event, qualifier, invocation_type)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if _header(headers, "X-Amz-Log-Type") == "Tail":
        tail = "\n".join(result.log_lines).encode()[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    response_headers["x-amz-executed-version"] = str(fn.version if qualifier else "$LATEST")
    payload = json.dumps(result.payload).encode() if result.payload is not None else b"null"
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name) or headers.get(name.lower())
    if value is None and isinstance(headers, Mapping):
        wanted = name.lower()
        for key, candidate in headers.items():
            if str(key).lower() == wanted:
                return str(candidate)
    return None if value is None else str(value)


def _decode_event(body: Any) -> Any:
    if body is None or body == b"" or body == "":
        return {}
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8")
    return json.loads(body)


# --------------------------------------------------------------------------------------------------
# Async invocation and destinations
# --------------------------------------------------------------------------------------------------


def _invoke_async(aws: EmbeddedAws, backend: Any, fn: Any, event: Any, qualifier: str | None) -> None:
    config: dict[str, Any] = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
    max_retries = int(config.get("MaximumRetryAttempts", 2))
    result: Invocation | None = None
    attempts = 0
    for attempt in range(1, max_retries + 2):
        attempts = attempt
        result = _run(aws, backend, fn, event, qualifier, "Event", attempt=attempt)
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


# --------------------------------------------------------------------------------------------------
# The in-process runtime
# --------------------------------------------------------------------------------------------------


class LambdaContext:
    """What the Python runtime hands a handler as ``context``."""

    def __init__(self, *, function_name: str, function_version: str, invoked_function_arn: str,
                 memory_limit_in_mb: int, aws_request_id: str, log_group_name: str, log_stream_name: str,
                 timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name!r}, request_id={self.aws_request_id!r})"


class _Capture(io.TextIOBase):
    """One ``sys.stdout``/``sys.stderr`` stand-in reused by every invocation, so a logger that kept a
    reference to it at import time still reaches the current invocation's log."""

    def __init__(self) -> None:
        self.lines: list[str] | None = None
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.lines is not None:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
            self.lines.extend(complete)
        return len(text)

    def flush(self) -> None:
        return None

    def finish(self) -> None:
        if self._partial and self.lines is not None:
            self.lines.append(self._partial)
        self._partial = ""


_CAPTURE = _Capture()


class _LambdaLogHandler(logging.Handler):
    """The runtime's root log handler: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>`` in Text format,
    ``{"timestamp", "level", "message", "logger", "requestId"}`` lines in JSON format."""

    def __init__(self, request_id: str, json_format: bool) -> None:
        super().__init__()
        self.request_id = request_id
        self.json_format = json_format

    def emit(self, record: logging.LogRecord) -> None:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        if self.json_format:
            line = json.dumps({"timestamp": when, "level": record.levelname, "message": record.getMessage(),
                               "logger": record.name, "requestId": self.request_id})
        else:
            line = f"[{record.levelname}]\t{when}\t{self.request_id}\t{record.getMessage()}"
        _CAPTURE.write(line + "\n")


_CACHE_ROOT: Path | None = None


def _cache_root() -> Path:
    global _CACHE_ROOT
    if _CACHE_ROOT is None:
        _CACHE_ROOT = Path(tempfile.mkdtemp(prefix="sciflow-sandbox-"))
        atexit.register(shutil.rmtree, _CACHE_ROOT, True)
    return _CACHE_ROOT


def _digest(data: bytes, known_hex: str | None = None) -> str:
    """Hex sha256 of a zip: moto's ``code_digest`` when it computed one (no rehash per call)."""
    if known_hex and len(known_hex) == 64:
        return known_hex
    return hashlib.sha256(data).hexdigest()


def extract_zip(data: bytes, kind: str, digest: str | None = None) -> Path:
    """Extract ``data`` once per process under ``<tmp>/<kind>/<sha256>`` and return the directory."""
    digest = digest or hashlib.sha256(data).hexdigest()
    dest = _cache_root() / kind / digest
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=dest.parent))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(staging)
    try:
        staging.rename(dest)
    except OSError:  # another thread won the race
        shutil.rmtree(staging, ignore_errors=True)
    return dest


@functools.lru_cache(maxsize=256)
def _top_level_names(code_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(isolated, shared) top-level module names in an extracted code zip.

    A top-level package that ships a compiled extension cannot be imported twice in one process, so it is
    loaded once and shared; everything else is isolated per function and code hash.
    """
    isolated: set[str] = set()
    shared: set[str] = set()
    for entry in code_dir.iterdir():
        if entry.is_dir() and entry.name.isidentifier():
            has_ext = any(entry.rglob("*.so")) or any(entry.rglob("*.pyd"))
            (shared if has_ext else isolated).add(entry.name)
        elif entry.suffix == ".py" and entry.stem.isidentifier():
            isolated.add(entry.stem)
    return frozenset(isolated), frozenset(shared)


def _layer_paths(backend: Any, fn: Any) -> list[str]:
    paths: list[str] = []
    for layer in reversed(fn.layers):
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None or not version.code_bytes:
            continue
        root = extract_zip(version.code_bytes, "layers",
                           _digest(version.code_bytes, getattr(version, "code_digest", None)))
        for candidate in (root / "python" / "lib" / PYTHON_TAG / "site-packages", root / "python"):
            if candidate.is_dir():
                paths.append(str(candidate))
    return paths


def _shadowed_layer_packages(aws: EmbeddedAws, fn: Any, layer_paths: list[str]) -> None:
    """Record (once) layer packages the process had already imported from elsewhere.

    Such a package is not re-imported from the layer (compiled packages cannot be imported twice), so the
    handler runs with the process's copy; the note makes that visible instead of silently passing.
    """
    for path in layer_paths:
        isolated, shared = _top_level_names(Path(path))
        for name in sorted(isolated | shared):
            module = sys.modules.get(name)
            origin = str(getattr(module, "__file__", "") or "")
            if module is None or not origin or origin.startswith(path) or name in aws.shadowed_layer_packages:
                continue
            note = (f"{fn.function_name}: layer package {name!r} ({path}) is shadowed by the copy this process "
                    f"already imported ({origin}); the handler uses that copy")
            aws.shadowed_layer_packages[name] = note
            _LOG.warning("sandbox: %s", note)


def _set_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def _lambda_env(aws: EmbeddedAws, fn: Any, ctx: LambdaContext, code_dir: Path) -> dict[str, str]:
    env = {
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": ctx.function_version,
        "AWS_LAMBDA_LOG_GROUP_NAME": ctx.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": ctx.log_stream_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": str(fn.handler),
        "TZ": ":UTC",
    }
    if aws.endpoint_url:  # server mode: handler code must reach the server, not AWS
        env.update({"AWS_ENDPOINT_URL": aws.endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"})
    logging_config = aws.function_logging.get(fn.function_name, {})
    if logging_config.get("LogFormat") == "JSON":
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if logging_config.get("ApplicationLogLevel"):
            env["AWS_LAMBDA_LOG_LEVEL"] = logging_config["ApplicationLogLevel"]
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    return env


def _error_payload(exc: BaseException, request_id: str, *, error_type: str | None = None,
                   message: str | None = None, paths: Mapping[str, str] | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    # drop the sandbox's own frames, as the runtime drops bootstrap's
    lines = traceback.StackSummary.from_list([f for f in frames if f.filename != __file__]).format()
    for local, remote in (paths or {}).items():  # show /var/task and /opt paths, as Lambda does
        lines = [line.replace(local, remote) for line in lines]
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": type(exc).__name__ if error_type is None else error_type,
        "requestId": request_id,
        "stackTrace": lines,
    }


def _run(aws: EmbeddedAws, backend: Any, fn: Any, event: Any, qualifier: str | None,
         invocation_type: str, *, attempt: int = 1) -> Invocation:
    request_id = str(uuid.uuid4())
    version = "$LATEST" if not qualifier or qualifier == "$LATEST" else str(fn.version)
    now = datetime.now(UTC)
    logging_config = aws.function_logging.get(fn.function_name, {})
    log_group = logging_config.get("LogGroup") or f"/aws/lambda/{fn.function_name}"
    ctx = LambdaContext(
        function_name=fn.function_name, function_version=version,
        invoked_function_arn=fn.function_arn if not qualifier else f"{fn.function_arn}:{qualifier}",
        memory_limit_in_mb=int(fn.memory_size), aws_request_id=request_id, log_group_name=log_group,
        log_stream_name=f"{now:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}", timeout_s=float(fn.timeout),
    )
    with _INVOKE_LOCK:
        if not fn.code_bytes:
            raise SandboxError(f"sandbox: function {fn.function_name} has no zipped code to run")
        digest = _digest(fn.code_bytes, getattr(fn, "code_digest", None))
        code_dir = extract_zip(fn.code_bytes, "code", digest)
        layer_paths = _layer_paths(backend, fn)
        _shadowed_layer_packages(aws, fn, layer_paths)
        key = (fn.function_arn, digest)
        lines: list[str] = []
        started = time.monotonic()
        function_error: str | None = None
        with _runtime(aws, fn, ctx, code_dir, layer_paths, key, lines):
            lines.append(f"START RequestId: {request_id} Version: {version}")
            try:
                handler = _load_handler(str(fn.handler))
            except _HandlerLoadError as exc:
                payload: Any = _error_payload(exc.cause, request_id, error_type=exc.error_type,
                                              message=exc.message)
                payload["stackTrace"] = []
                function_error = "Unhandled"
            else:
                try:
                    result = handler(event, ctx)
                except Exception as exc:
                    paths = {str(code_dir): "/var/task", **{p: "/opt/python" for p in layer_paths}}
                    payload = _error_payload(exc, request_id, paths=paths)
                    function_error = "Unhandled"
                else:
                    try:
                        payload = json.loads(json.dumps(result))
                    except (TypeError, ValueError) as exc:
                        payload = _error_payload(exc, request_id, error_type="Runtime.MarshalError",
                                                 message=f"Unable to marshal response: {exc}")
                        function_error = "Unhandled"
            elapsed = time.monotonic() - started
            if elapsed > float(fn.timeout):
                payload = {"errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                                           f"{float(fn.timeout):.2f} seconds",
                           "errorType": "Sandbox.Timedout"}
                function_error = "Unhandled"
            if function_error:
                lines.append(f"[ERROR] {payload.get('errorType')}: {payload.get('errorMessage')}")
            lines.append(f"END RequestId: {request_id}")
            lines.append(f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
                         f"Billed Duration: {max(1, int(elapsed * 1000 + 0.999))} ms\t"
                         f"Memory Size: {fn.memory_size} MB\tMax Memory Used: {fn.memory_size} MB")
        invocation = Invocation(
            function_name=fn.function_name, request_id=request_id, invocation_type=invocation_type,
            event=event, payload=payload, function_error=function_error, duration_ms=elapsed * 1000,
            log_lines=tuple(lines), attempt=attempt,
        )
        aws.invocations.append(invocation)
        _write_logs(fn, log_group, ctx.log_stream_name, lines)
    return invocation


class _HandlerLoadError(Exception):
    def __init__(self, error_type: str, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.cause = cause


def _load_handler(spec: str) -> Any:
    module_name, _, attr = spec.replace("/", ".").rpartition(".")
    if not module_name:
        exc = ValueError(spec)
        raise _HandlerLoadError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values "
                                "to unpack (expected 2, got 1)", exc)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise _HandlerLoadError("Runtime.ImportModuleError",
                                f"Unable to import module '{module_name}': {exc}", exc) from exc
    handler = getattr(module, attr, None)
    if not callable(handler):
        exc2 = AttributeError(attr)
        raise _HandlerLoadError("Runtime.HandlerNotFound",
                                f"Handler '{attr}' missing on module '{module_name}'", exc2)
    return handler


@contextlib.contextmanager
def _runtime(aws: EmbeddedAws, fn: Any, ctx: LambdaContext, code_dir: Path, layer_paths: list[str],
             key: tuple[str, str], lines: list[str]) -> Iterator[None]:
    """Swap env, sys.path, sys.modules, stdout/stderr and the root log handler for one call."""
    env = _lambda_env(aws, fn, ctx, code_dir)
    saved_env = {k: os.environ.get(k) for k in env}
    isolated, _shared = _top_level_names(code_dir)
    outside = {name: mod for name, mod in list(sys.modules.items()) if name.split(".")[0] in isolated}
    for name in outside:
        del sys.modules[name]
    sys.modules.update(aws._modules.get(key, {}))
    saved_path = list(sys.path)
    sys.path[:0] = [str(code_dir), *layer_paths]
    importlib.invalidate_caches()
    saved_streams = (sys.stdout, sys.stderr)
    saved_capture = _CAPTURE.lines
    _CAPTURE.lines = lines
    sys.stdout = sys.stderr = _CAPTURE
    root = logging.getLogger()
    logging_config = aws.function_logging.get(fn.function_name, {})
    log_handler = _LambdaLogHandler(ctx.aws_request_id, logging_config.get("LogFormat") == "JSON")
    saved_level = root.level
    root.addHandler(log_handler)
    level = logging_config.get("ApplicationLogLevel")
    if level:  # advanced logging controls set the root level; without them it stays WARNING
        root.setLevel({"TRACE": "DEBUG", "FATAL": "CRITICAL", "WARN": "WARNING"}.get(level, level))
    else:
        root.setLevel(logging.WARNING)
    for key_, value in env.items():
        os.environ[key_] = value
    try:
        yield
    finally:
        for key_, value_ in saved_env.items():
            _set_env(key_, value_)
        root.removeHandler(log_handler)
        root.setLevel(saved_level)
        _CAPTURE.finish()
        _CAPTURE.lines = saved_capture
        sys.stdout, sys.stderr = saved_streams
        sys.path[:] = saved_path
        aws._modules[key] = {name: mod for name, mod in list(sys.modules.items())
                             if name.split(".")[0] in isolated}
        for name in aws._modules[key]:
            del sys.modules[name]
        sys.modules.update(outside)


def _write_logs(fn: Any, log_group: str, log_stream: str, lines: list[str]) -> None:
    try:
        logs = fn.logs_backend
        logs.ensure_log_group(log_group)
        logs.create_log_stream(log_group, log_stream)
        millis = int(time.time() * 1000)
        logs.put_log_events(log_group, log_stream, [{"timestamp": millis, "message": line} for line in lines])
    except Exception as exc:  # logging must never change the invocation's outcome
        _LOG.warning("sandbox: could not write logs of %s: %s", fn.function_name, exc)


def current() -> EmbeddedAws | None:
    """The embedded AWS running in this process, if any."""
    return _ACTIVE
