"""The Lambda runtime inside one worker process (run as ``python -I -S bootstrap.py``; stdlib only).

This file is executed by path, never imported from the sandbox: the worker's ``sys.path`` holds only the
function's code, its layers (later layers first, ``python/lib/python3.X/site-packages`` then ``python/``), the
runtime's own pinned SDK directory and the standard library, in Lambda's order, so nothing from the host
venv can shadow a layer's package or stand in for a missing one.

Protocol (one invocation at a time, like a Lambda execution environment):

* the parent writes one JSON line per message on stdin: first ``{"init": {...}}`` (paths, handler, base
  environment with the role's credentials, memory), then ``{"invoke": {...}}`` per invocation (event,
  request id, deadline, per-call environment such as the role's credentials);
* the init phase imports the handler's module right after ``init`` (Lambda's init phase, outside the
  invocation's timeout) and answers ``{"ready": true, "init_ms"}`` on the file descriptor named by the first
  argument; then one JSON line per invocation: ``{"payload", "error": bool, "init_ms", "duration_ms"}``;
* everything the handler prints, and the root logger, go to stdout/stderr, which the parent records as the
  invocation's log lines; after each invocation the worker writes the end marker the parent waits for.

A ``MemoryError`` escaping the handler ends the worker with exit code 137 (reported as
``Runtime.OutOfMemory`` by the parent, like Lambda's killed runtime); the parent also kills the worker when
its resident memory passes the function's memory size, or when the deadline passes.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

END_MARKER = "\x00sciflow-end "
OOM_EXIT = 137


def log_line(record: logging.LogRecord, request_id: str, *, json_format: bool) -> str:
    """One log line as Lambda's Python runtime writes it: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>`` in
    Text format, ``{"timestamp", "level", "message", "logger", "requestId"}`` in JSON format (the in-process
    runtime in :mod:`sandbox.runtime` writes the same lines)."""
    when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if json_format:
        return json.dumps({"timestamp": when, "level": record.levelname, "message": record.getMessage(),
                           "logger": record.name, "requestId": request_id})
    return f"[{record.levelname}]\t{when}\t{request_id}\t{record.getMessage()}"


class LambdaContext:
    """The context object the Python runtime passes to the handler."""

    def __init__(self, spec: dict[str, Any], deadline_epoch: float) -> None:
        self.function_name = spec["function_name"]
        self.function_version = spec["function_version"]
        self.invoked_function_arn = spec["invoked_function_arn"]
        self.memory_limit_in_mb = int(spec["memory_limit_in_mb"])
        self.aws_request_id = spec["aws_request_id"]
        self.log_group_name = spec["log_group_name"]
        self.log_stream_name = spec["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline_epoch

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _LambdaLogHandler(logging.Handler):
    """``[LEVEL]\\t<time>Z\\t<request id>\\t<message>`` (Text) or one JSON object per line (JSON)."""

    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""
        self.json_format = False

    def emit(self, record: logging.LogRecord) -> None:
        line = log_line(record, self.request_id, json_format=self.json_format)
        sys.stdout.write(line + "\n")


def _error(exc: BaseException, request_id: str, *, error_type: str | None = None, message: str | None = None,
           paths: dict[str, str] | None = None, trace: bool = True) -> dict[str, Any]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    lines = traceback.StackSummary.from_list(frames).format() if trace else []
    for local, remote in (paths or {}).items():
        lines = [line.replace(local, remote) for line in lines]
    return {"errorMessage": str(exc) if message is None else message,
            "errorType": type(exc).__name__ if error_type is None else error_type,
            "requestId": request_id, "stackTrace": lines}


def _load(spec: str) -> tuple[Any, tuple[str, str] | None]:
    module_name, _, attr = spec.replace("/", ".").rpartition(".")
    if not module_name:
        return None, ("Runtime.MalformedHandlerName",
                      f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    try:
        module = importlib.import_module(module_name)
    except MemoryError:
        raise
    except Exception as exc:
        return exc, ("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    handler = getattr(module, attr, None)
    if not callable(handler):
        return None, ("Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'")
    return handler, None


def main() -> int:
    control = os.fdopen(int(sys.argv[1]), "w", buffering=1, encoding="utf-8")
    init = json.loads(sys.stdin.readline())["init"]
    sys.path[:] = [*init["sys_path"], *[p for p in sys.path if p.startswith(sys.base_prefix)]]
    os.environ.clear()
    os.environ.update(init["env"])
    os.chdir(init["task_root"])
    root = logging.getLogger()
    log_handler = _LambdaLogHandler()
    log_handler.json_format = init.get("log_format") == "JSON"
    root.addHandler(log_handler)
    level = init.get("log_level")
    root.setLevel({"TRACE": "DEBUG", "FATAL": "CRITICAL", "WARN": "WARNING"}.get(level, level) if level
                  else logging.WARNING)
    paths = {init["task_root"]: "/var/task", **{p: "/opt/python" for p in init["sys_path"][1:]}}
    started = time.monotonic()
    try:  # the init phase: import the handler's module before the first invocation, as Lambda does
        loaded, load_error = _load(init["handler"])
    except MemoryError:
        sys.stdout.flush()
        os._exit(OOM_EXIT)
    init_ms: float | None = (time.monotonic() - started) * 1000
    sys.stdout.flush()
    control.write(json.dumps({"ready": True, "init_ms": init_ms}) + "\n")
    for line in sys.stdin:
        message = json.loads(line)["invoke"]
        request_id = message["context"]["aws_request_id"]
        log_handler.request_id = request_id
        os.environ.update(message.get("env", {}))
        os.environ["_X_AMZN_TRACE_ID"] = message.get("trace_id", "")
        context = LambdaContext(message["context"], float(message["deadline_epoch"]))
        call_started = time.monotonic()
        error = False
        try:
            if load_error is not None:
                cause = loaded if isinstance(loaded, BaseException) else RuntimeError(load_error[1])
                payload: Any = _error(cause, request_id, error_type=load_error[0], message=load_error[1],
                                      trace=False)
                error = True
            else:
                try:
                    result = loaded(message["event"], context)
                except MemoryError:
                    raise
                except Exception as exc:
                    payload, error = _error(exc, request_id, paths=paths), True
                else:
                    try:
                        payload = json.loads(json.dumps(result))
                    except (TypeError, ValueError) as exc:
                        payload = _error(exc, request_id, error_type="Runtime.MarshalError",
                                         message=f"Unable to marshal response: {exc}")
                        error = True
        except MemoryError:
            sys.stdout.flush()
            os._exit(OOM_EXIT)
        if error:
            print(f"[ERROR] {payload.get('errorType')}: {payload.get('errorMessage')}", flush=True)
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout.write(f"{END_MARKER}{request_id}\n")
        sys.stdout.flush()
        control.write(json.dumps({"payload": payload, "error": error, "init_ms": init_ms,
                                  "duration_ms": (time.monotonic() - call_started) * 1000}) + "\n")
        init_ms = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
