"""The patches that turn moto into the embedded AWS, installed while one is running.

* ``LambdaSimpleBackend.invoke`` runs the handler in-process (``sandbox.runtime``; ``Event`` invocations via
  ``sandbox.async_invoke``) instead of returning a canned answer;
* DynamoDB item writes run under one lock (atomic conditional writes, as in AWS);
* S3's EventBridge notifications are recorded as :class:`~sandbox.core.S3Notice` for ``sandbox.events``;
* bucket policies evaluate ``aws:SecureTransport`` conditions instead of applying them unconditionally;
* Step Functions' ``states:startExecution`` integration maps the ASL's parameter names (``sandbox.moto_sfn``);
* a Lambda's reads of missing keys and its listings answer by its role's policies
  (``sandbox.authz.missing_keys``: a missing key is ``403 AccessDenied`` without ``s3:ListBucket``, as in AWS);
* Parameter Store path listings use a sorted name index (``sandbox.ssm_paths``), not a scan of every name.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox import moto_sfn, ssm_paths
from sandbox.async_invoke import invoke_async
from sandbox.authz import missing_keys
from sandbox.authz.errors import s3_access_denied
from sandbox.core import MOTO_CONFIG, PATCHED_SYMBOL, PINNED_MOTO, EmbeddedAws, S3Notice, SandboxError
from sandbox.runtime import run_invocation

_LOG = logging.getLogger("sandbox.moto_patches")

_ACTIVE: EmbeddedAws | None = None
_ACTIVE_LOCK = threading.Lock()
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
def activate(aws: EmbeddedAws) -> Iterator[None]:
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
    missing_keys.install()
    ssm_paths.install()
    moto_sfn.install()


def _uninstall(backend_cls: type) -> None:
    global _ACTIVE
    from moto.s3 import notifications
    from moto.s3.models import FakeBucket

    _unpatch_dynamodb()
    backend_cls.invoke = _ORIGINAL_INVOKE  # type: ignore[attr-defined]
    notifications._send_event_bridge_message = _ORIGINAL_S3_EVENTBRIDGE
    FakeBucket.get_permission = _ORIGINAL_GET_PERMISSION  # type: ignore[method-assign]
    missing_keys.uninstall()
    ssm_paths.uninstall()
    moto_sfn.uninstall()
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
    result = IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)
    if result == PermissionResult.DENIED:
        raise s3_access_denied()
    return result


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
        if aws.enforcer is not None:
            _SERVER_CONTEXTS.enter_context(aws.enforcer.installed())


_SERVER_CONTEXTS = contextlib.ExitStack()


def uninstall_for_server() -> None:
    """Undo :func:`install_for_server`."""
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            _ACTIVE.close()
            _SERVER_CONTEXTS.close()
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
        invoke_async(aws, self, fn, event, qualifier)
        return b""
    result = run_invocation(aws, self, fn, event, qualifier, invocation_type)
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



def current() -> EmbeddedAws | None:
    """The embedded AWS running in this process, if any."""
    return _ACTIVE
