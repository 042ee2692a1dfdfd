"""The Lambda Python runtime, in this process: what runs a function's handler when the embedded AWS invokes it.

Unzips code and layers (cached by sha256), isolates each function's top-level modules per code hash, sets the
function's and the runtime's environment for the call, hands the handler a context with a remaining-time
clock, captures stdout/stderr and logging into CloudWatch Logs lines, and maps exceptions to Lambda's
``FunctionError`` payloads (see ``sandbox.aws`` for the whole contract).
"""

from __future__ import annotations

import atexit
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import boto3.session

from sandbox.authz import missing_keys
from sandbox.core import PYTHON_TAG, EmbeddedAws, Invocation, SandboxError
from sandbox.core import set_env as _set_env
from sandbox.workers.bootstrap import log_line
from sandbox.workers.pool import Throttled

_LOG = logging.getLogger("sandbox.runtime")
# Invocations hold one re-entrant lock: the environment and sys.modules are process-wide.
_INVOKE_LOCK = threading.RLock()


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
        line = log_line(record, self.request_id, json_format=self.json_format)
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
    if aws.enforcer is not None:  # the function's role credentials, as Lambda sets them
        env.update(aws.enforcer.function_session(str(fn.role), str(fn.function_name), str(fn.function_arn)).env())
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


def new_context(aws: EmbeddedAws, fn: Any, qualifier: str | None) -> LambdaContext:
    """The context of one invocation: a new request id, the version, the log group and a log stream."""
    version = "$LATEST" if not qualifier or qualifier == "$LATEST" else str(fn.version)
    now = datetime.now(UTC)
    logging_config = aws.function_logging.get(fn.function_name, {})
    log_group = logging_config.get("LogGroup") or f"/aws/lambda/{fn.function_name}"
    return LambdaContext(
        function_name=fn.function_name, function_version=version,
        invoked_function_arn=fn.function_arn if not qualifier else f"{fn.function_arn}:{qualifier}",
        memory_limit_in_mb=int(fn.memory_size), aws_request_id=str(uuid.uuid4()), log_group_name=log_group,
        log_stream_name=f"{now:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}", timeout_s=float(fn.timeout),
    )


def run_invocation(aws: EmbeddedAws, backend: Any, fn: Any, event: Any, qualifier: str | None,
         invocation_type: str, *, attempt: int = 1) -> Invocation:
    if aws.isolated:  # in a worker process (sandbox.workers), limits enforced
        from moto.awslambda.exceptions import LambdaClientError

        from sandbox.workers.moto_function import run_isolated

        try:
            return run_isolated(aws, backend, fn, event, qualifier, invocation_type, attempt=attempt)
        except Throttled as exc:
            error = LambdaClientError("TooManyRequestsException", str(exc))
            error.code = 429
            raise error from None
    ctx = new_context(aws, fn, qualifier)
    request_id, version, log_group = ctx.aws_request_id, ctx.function_version, ctx.log_group_name
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
    # boto3's default session caches the credentials it first read: each function gets its own (kept warm
    # across calls, as a Lambda execution environment keeps its SDK), so handler code signs with this
    # function's role, not the one of the function that ran first
    saved_session = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = _function_session(aws, fn, env)
    try:
        with missing_keys.acting_as(fn.role):
            yield
    finally:
        boto3.DEFAULT_SESSION = saved_session
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


def _function_session(aws: EmbeddedAws, fn: Any, env: Mapping[str, str]) -> boto3.session.Session:
    """The boto3 session a function's code gets as its default: one per function and role credentials, built
    once (a session loads the SDK's data files: per call that cost seconds under load and ate into short
    timeouts); the environment of the call is already set when it is first built."""
    key = (str(fn.function_arn), env.get("AWS_ACCESS_KEY_ID", ""))
    found = aws._sessions.get(key)
    if found is None:
        found = aws._sessions[key] = boto3.session.Session()
    return found


def _write_logs(fn: Any, log_group: str, log_stream: str, lines: list[str]) -> None:
    try:
        logs = fn.logs_backend
        logs.ensure_log_group(log_group)
        logs.create_log_stream(log_group, log_stream)
        millis = int(time.time() * 1000)
        logs.put_log_events(log_group, log_stream, [{"timestamp": millis, "message": line} for line in lines])
    except Exception as exc:  # logging must never change the invocation's outcome
        _LOG.warning("sandbox: could not write logs of %s: %s", fn.function_name, exc)


