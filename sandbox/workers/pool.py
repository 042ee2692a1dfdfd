"""Process-isolated Lambda execution environments: warm worker processes per function, limits enforced.

Each function version (code, layers, configuration) gets its own workers, started on demand as
``python -I -S -u bootstrap.py``: no site-packages, no ``PYTHON*`` variables, ``sys.path`` = the function's
code, its layers, the runtime SDK (:mod:`sandbox.workers.runtime_sdk`) and the standard library. A worker
serves one invocation at a time and stays warm for the next, like a Lambda execution environment.

Limits, enforced from the parent while an invocation runs:

* **init** — a new worker imports the handler's module first (Lambda's init phase, up to :data:`INIT_TIMEOUT_S`,
  not counted in the invocation's timeout; past it the rest of the import counts, as on Lambda);
* **timeout** — at the deadline the worker is killed (SIGKILL, its whole process group) and the invocation
  ends as ``Sandbox.Timedout``, ``Task timed out after N.00 seconds``; side effects after that never happen;
* **memory** — the worker's resident memory (``VmRSS``, what Lambda's cgroup counts) is sampled every
  :data:`SAMPLE_S`; past the configured size the worker is killed and the invocation ends as
  ``Runtime.OutOfMemory`` (``Runtime exited with error: signal: killed``). ``RLIMIT_AS`` is set as a
  backstop (memory size + :data:`ADDRESS_SPACE_HEADROOM_MB`), and a ``MemoryError`` escaping the handler ends
  the same way. The ``REPORT`` line's ``Max Memory Used`` is the sampled peak;
* **concurrency** — at most the function's reserved concurrency (else the account's limit) invocations run
  at once; past that a synchronous invoke raises :class:`Throttled` (Lambda's ``TooManyRequestsException``),
  while ``wait=True`` callers (asynchronous invocations, which Lambda queues) wait for a free worker.

Example
-------
>>> pool = WorkerPool()
>>> result = pool.invoke(config, {"x": 1}, context={...})      # doctest: +SKIP
>>> result.payload, result.function_error, result.max_memory_mb  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.workers.bootstrap import END_MARKER, OOM_EXIT
from sandbox.workers.runtime_sdk import sdk_dir

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
SAMPLE_S = 0.01
ADDRESS_SPACE_HEADROOM_MB = 8192
ACCOUNT_CONCURRENCY = 1000
LOG_DRAIN_S = 5.0
INIT_TIMEOUT_S = 10.0  # Lambda's limit on the init phase of an on-demand function


class Throttled(RuntimeError):
    """The function is at its concurrency limit (Lambda: ``TooManyRequestsException``, ``Rate Exceeded.``)."""


@dataclass(frozen=True)
class FunctionConfig:
    """What a worker needs to run one function version."""

    function_arn: str
    handler: str
    code_dir: Path
    layer_paths: tuple[str, ...]  # already in sys.path order (later layers first)
    env: Mapping[str, str]  # the function's variables plus the runtime's (AWS_LAMBDA_*, AWS_REGION ...)
    memory_mb: int = 128
    timeout_s: float = 3.0
    reserved_concurrency: int | None = None
    log_format: str = "Text"
    log_level: str | None = None
    python: str | None = None  # the runtime's interpreter (sandbox.workers.interpreter); None: the pool's

    def key(self) -> str:
        """Workers are reused only for the same code, layers and configuration (an update starts new ones)."""
        data = json.dumps([self.function_arn, self.handler, str(self.code_dir), self.layer_paths,
                           sorted(self.env.items()), self.memory_mb, self.timeout_s, self.log_format, self.log_level,
                           self.python])
        return hashlib.sha256(data.encode()).hexdigest()

    def sys_path(self) -> list[str]:
        return [str(self.code_dir), *self.layer_paths, str(sdk_dir())]


@dataclass
class WorkerResult:
    """One invocation's outcome, as the Invoke API and the ``REPORT`` line see it."""

    payload: Any
    function_error: str | None
    log_lines: list[str]
    duration_ms: float
    max_memory_mb: int
    init_ms: float | None = None
    cold: bool = False

    @property
    def error_type(self) -> str | None:
        return str(self.payload.get("errorType")) if self.function_error and isinstance(self.payload, dict) else None


def _rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, config: FunctionConfig, python: str, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.ready = False
        self.init_ms: float | None = None
        read_fd, write_fd = os.pipe()
        limit = (config.memory_mb + ADDRESS_SPACE_HEADROOM_MB) * 1024 * 1024

        def limit_memory() -> None:  # runs in the child before exec
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        try:
            self.process = subprocess.Popen(
                [python, "-I", "-S", "-u", str(BOOTSTRAP), str(write_fd)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=str(config.code_dir),
                preexec_fn=limit_memory, start_new_session=True)
        finally:
            os.close(write_fd)
        self.control = os.fdopen(read_fd, "r", encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read_output, daemon=True, name="lambda-worker-output")
        self.reader.start()
        self.used = False
        init = {"sys_path": config.sys_path(), "env": {**config.env, **(env or {})}, "handler": config.handler,
                "task_root": str(config.code_dir), "log_format": config.log_format, "log_level": config.log_level}
        self._send({"init": init})

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.control):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def _collect(self, request_id: str, *, until_marker: bool) -> list[str]:
        lines: list[str] = []
        deadline = time.monotonic() + (LOG_DRAIN_S if until_marker else 0.2)
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return lines
            if line is None or line == f"{END_MARKER}{request_id}":
                return lines
            lines.append(line)

    def _await_init(self) -> str | None:
        """Wait for the init phase (the handler module's import) to finish, at most :data:`INIT_TIMEOUT_S` as
        Lambda allows; ``None`` when ready (or still importing at the limit: Lambda then goes on and the rest
        of the import counts against the invocation), else why the worker cannot serve ("memory"/"exited")."""
        give_up = time.monotonic() + INIT_TIMEOUT_S
        while not self.ready and time.monotonic() < give_up:
            ready, _, _ = select.select([self.control], [], [], SAMPLE_S)
            if ready:
                line = self.control.readline()
                if not line:
                    return "exited"
                self.init_ms = json.loads(line).get("init_ms")
                self.ready = True
            elif _rss_mb(self.process.pid) > self.config.memory_mb:
                return "memory"
            elif self.process.poll() is not None:
                return "exited"
        return None

    def invoke(self, event: Any, context: Mapping[str, Any], env: Mapping[str, str]) -> WorkerResult:
        config = self.config
        request_id = str(context["aws_request_id"])
        cold = not self.used
        self.used = True
        if cold:
            failed = self._await_init()
            if failed is not None:
                self.kill()
                return self._exited(request_id, time.monotonic(), _rss_mb(self.process.pid), cold,
                                    killed_for="memory" if failed == "memory" else None)
        started = time.monotonic()
        deadline = started + config.timeout_s
        message = {"event": event, "context": dict(context), "env": dict(env),
                   "deadline_epoch": time.time() + config.timeout_s, "trace_id": env.get("_X_AMZN_TRACE_ID", "")}
        peak = _rss_mb(self.process.pid)
        try:
            self._send({"invoke": message})
        except (BrokenPipeError, OSError):
            return self._exited(request_id, started, peak, cold, killed_for=None)
        while True:
            ready, _, _ = select.select([self.control], [], [], SAMPLE_S)
            if ready:
                line = self.control.readline()
                if not line:
                    return self._exited(request_id, started, peak, cold, killed_for=None)
                answer = json.loads(line)
                if answer.get("ready"):  # an init phase that outlasted INIT_TIMEOUT_S ended meanwhile
                    self.init_ms, self.ready = answer.get("init_ms"), True
                    continue
                peak = max(peak, _rss_mb(self.process.pid))
                lines = self._collect(request_id, until_marker=True)
                return WorkerResult(answer["payload"], "Unhandled" if answer["error"] else None, lines,
                                    answer["duration_ms"], peak, self.init_ms if cold else None, cold)
            peak = max(peak, _rss_mb(self.process.pid))
            if peak > config.memory_mb:
                self.kill()
                return self._exited(request_id, started, peak, cold, killed_for="memory")
            if time.monotonic() >= deadline:
                self.kill()
                return self._exited(request_id, started, peak, cold, killed_for="timeout")
            if self.process.poll() is not None:
                return self._exited(request_id, started, peak, cold, killed_for=None)

    def _exited(self, request_id: str, started: float, peak: int, cold: bool, *,
                killed_for: str | None) -> WorkerResult:
        self.kill()
        lines = self._collect(request_id, until_marker=False)
        elapsed = (time.monotonic() - started) * 1000
        code = self.process.returncode
        if killed_for == "timeout":
            payload = {"errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                                       f"{self.config.timeout_s:.2f} seconds", "errorType": "Sandbox.Timedout"}
        elif killed_for == "memory" or code == OOM_EXIT:
            payload = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
                       "errorType": "Runtime.OutOfMemory"}
            peak = max(peak, self.config.memory_mb)
        else:
            reason = f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}" if code and code < 0 \
                else f"exit status {code}"
            payload = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
                       "errorType": "Runtime.ExitError"}
        lines.extend([payload["errorMessage"], payload["errorType"]])
        return WorkerResult(payload, "Unhandled", lines, elapsed, min(peak, self.config.memory_mb), None, cold)


@dataclass
class _FunctionWorkers:
    idle: list[_Worker] = field(default_factory=list)
    busy: int = 0


class WorkerPool:
    """Warm workers per function version, with the concurrency, memory and timeout limits enforced."""

    def __init__(self, *, account_concurrency: int = ACCOUNT_CONCURRENCY, python: str | None = None) -> None:
        self.account_concurrency = account_concurrency
        self.python = python or sys.executable
        self._functions: dict[str, _FunctionWorkers] = {}
        self._lock = threading.Condition()
        self._closed = False
        self.started = 0  # workers started (cold starts), for reports and tests

    def _limit(self, config: FunctionConfig) -> int:
        return self.account_concurrency if config.reserved_concurrency is None else int(config.reserved_concurrency)

    def _acquire(self, config: FunctionConfig, wait: bool, wait_s: float) -> _Worker | None:
        key = config.key()
        give_up = time.monotonic() + wait_s
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("sandbox: the Lambda worker pool is closed")
                workers = self._functions.setdefault(key, _FunctionWorkers())
                if workers.busy < self._limit(config):
                    workers.busy += 1
                    while workers.idle:
                        worker = workers.idle.pop()
                        if worker.alive():
                            return worker
                        worker.kill()
                    return None  # the caller starts a new worker outside the lock
                if not wait or time.monotonic() >= give_up:
                    raise Throttled("Rate Exceeded.")
                self._lock.wait(timeout=min(0.5, max(0.0, give_up - time.monotonic())))

    def _release(self, config: FunctionConfig, worker: _Worker | None) -> None:
        with self._lock:
            workers = self._functions[config.key()]
            workers.busy -= 1
            if worker is not None and worker.alive() and not self._closed:
                workers.idle.append(worker)
            elif worker is not None:
                worker.kill()
            self._lock.notify_all()

    def invoke(self, config: FunctionConfig, event: Any, *, context: Mapping[str, Any],
               env: Mapping[str, str] | None = None, wait: bool = False, wait_s: float = 900.0) -> WorkerResult:
        """Run one invocation in a warm (or new) worker of ``config``; raises :class:`Throttled` at the limit."""
        worker = self._acquire(config, wait, wait_s)
        try:
            if worker is None:
                worker = _Worker(config, config.python or self.python, env)
                with self._lock:
                    self.started += 1
            return worker.invoke(event, context, env or {})
        finally:
            self._release(config, worker)

    def warm_workers(self, config: FunctionConfig) -> int:
        with self._lock:
            found = self._functions.get(config.key())
            return len(found.idle) if found else 0

    def close(self) -> None:
        """Kill every worker (idle ones now; busy ones when their invocation returns)."""
        with self._lock:
            self._closed = True
            idle = [w for f in self._functions.values() for w in f.idle]
            for f in self._functions.values():
                f.idle.clear()
        for worker in idle:
            worker.kill()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def layer_sys_path(layer_roots: Sequence[Path], python_tag: str) -> tuple[str, ...]:
    """Lambda's ``/opt`` order for extracted layers (given in the function's order): later layers first, each
    ``python/lib/<python_tag>/site-packages`` then ``python/``."""
    paths: list[str] = []
    for root in reversed(list(layer_roots)):
        for candidate in (root / "python" / "lib" / python_tag / "site-packages", root / "python"):
            if candidate.is_dir():
                paths.append(str(candidate))
    return tuple(paths)
