"""Process-isolated Lambda workers: isolation, warm reuse, timeout, memory, concurrency (sandbox.workers)."""

from __future__ import annotations

import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from sandbox.workers import bootstrap
from sandbox.workers.pool import END_MARKER, FunctionConfig, Throttled, WorkerPool, layer_sys_path
from sandbox.workers.runtime_sdk import RUNTIME_DISTRIBUTIONS, sdk_dir

HANDLERS = '''
import json, os, sys, time

STATE = {"calls": 0}

def echo(event, context):
    STATE["calls"] += 1
    print("hello from", context.function_name)
    return {"event": event, "calls": STATE["calls"], "pid": os.getpid(), "path": sys.path,
            "remaining": context.get_remaining_time_in_millis(), "key": os.environ.get("AWS_ACCESS_KEY_ID"),
            "var": os.environ.get("MY_VAR")}

def imports(event, context):
    out = {}
    for name in event["modules"]:
        try:
            module = __import__(name)
            out[name] = getattr(module, "__file__", None)
        except ImportError as exc:
            out[name] = "ImportError: " + str(exc)
    return out

def fail(event, context):
    raise ValueError("bad row 3")

def sleep(event, context):
    time.sleep(event["seconds"])
    return "done"

def allocate(event, context):
    block = bytearray(event["mb"] * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return len(block)

def memory_error(event, context):
    raise MemoryError()

def not_json(event, context):
    return {1, 2}
'''


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(textwrap.dedent(HANDLERS))
    return tmp_path / "code"


@pytest.fixture
def pool() -> Any:
    with WorkerPool() as workers:
        yield workers


def config(code_dir: Path, handler: str = "app.echo", **extra: Any) -> FunctionConfig:
    base: dict[str, Any] = {"function_arn": "arn:aws:lambda:r:1:function:f", "handler": handler, "code_dir": code_dir,
                            "layer_paths": (), "env": {"MY_VAR": "v", "AWS_LAMBDA_FUNCTION_NAME": "f"},
                            "memory_mb": 256, "timeout_s": 20.0}
    base.update(extra)
    return FunctionConfig(**base)


def context() -> dict[str, Any]:
    return {"function_name": "f", "function_version": "$LATEST",
            "invoked_function_arn": "arn:aws:lambda:r:1:function:f", "memory_limit_in_mb": 256,
            "aws_request_id": str(uuid.uuid4()), "log_group_name": "/aws/lambda/f",
            "log_stream_name": "s"}


def test_end_marker_is_the_bootstraps() -> None:
    assert END_MARKER == bootstrap.END_MARKER


def test_runtime_sdk_holds_only_the_sdk() -> None:
    names = {p.name for p in sdk_dir().iterdir()}
    assert {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"} == names
    assert "python-dateutil" in RUNTIME_DISTRIBUTIONS


def test_invoke_returns_payload_logs_env_and_credentials(pool: WorkerPool, code_dir: Path) -> None:
    result = pool.invoke(config(code_dir), {"a": 1}, context=context(), env={"AWS_ACCESS_KEY_ID": "ASIAROLE"})
    assert result.function_error is None
    assert result.payload["event"] == {"a": 1}
    assert result.payload["key"] == "ASIAROLE" and result.payload["var"] == "v"
    assert 0 < result.payload["remaining"] <= 20000
    assert result.log_lines == ["hello from f"]
    assert result.cold and result.max_memory_mb > 0


def test_sys_path_has_no_host_site_packages(pool: WorkerPool, code_dir: Path) -> None:
    result = pool.invoke(config(code_dir, "app.imports"), {"modules": ["boto3", "numpy", "pytest", "sandbox"]},
                         context=context())
    found = result.payload
    assert found["boto3"].startswith(str(sdk_dir()))
    for host_only in ("numpy", "pytest", "sandbox"):
        assert found[host_only].startswith("ImportError"), host_only


def test_layers_come_before_the_runtime_sdk(pool: WorkerPool, code_dir: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "l1", tmp_path / "l2"
    (first / "python" / "lib" / "python3.11" / "site-packages" / "six.py").parent.mkdir(parents=True)
    (first / "python" / "lib" / "python3.11" / "site-packages" / "six.py").write_text("WHO = 'layer1'\n")
    (second / "python").mkdir(parents=True)
    (second / "python" / "six.py").write_text("WHO = 'layer2'\n")
    paths = layer_sys_path([first, second], "python3.11")
    assert paths == (str(second / "python"), str(first / "python" / "lib" / "python3.11" / "site-packages"),
                     str(first / "python"))
    result = pool.invoke(config(code_dir, "app.imports", layer_paths=paths), {"modules": ["six"]}, context=context())
    assert result.payload["six"] == str(second / "python" / "six.py")


def test_warm_worker_is_reused_and_keeps_module_state(pool: WorkerPool, code_dir: Path) -> None:
    cfg = config(code_dir)
    first = pool.invoke(cfg, {}, context=context())
    second = pool.invoke(cfg, {}, context=context())
    assert second.payload["pid"] == first.payload["pid"]
    assert (first.payload["calls"], second.payload["calls"]) == (1, 2)
    assert first.cold and not second.cold
    assert pool.started == 1 and pool.warm_workers(cfg) == 1


def test_new_configuration_gets_a_new_worker(pool: WorkerPool, code_dir: Path) -> None:
    first = pool.invoke(config(code_dir), {}, context=context())
    second = pool.invoke(config(code_dir, env={"MY_VAR": "changed"}), {}, context=context())
    assert second.payload["pid"] != first.payload["pid"] and second.payload["var"] == "changed"


def test_handler_exception_is_lambdas_error_payload(pool: WorkerPool, code_dir: Path) -> None:
    result = pool.invoke(config(code_dir, "app.fail"), {}, context=context())
    assert result.function_error == "Unhandled"
    assert result.payload["errorType"] == "ValueError" and result.payload["errorMessage"] == "bad row 3"
    assert any("/var/task/app.py" in line for line in result.payload["stackTrace"])
    assert result.log_lines[-1] == "[ERROR] ValueError: bad row 3"


@pytest.mark.parametrize(("handler", "error_type"), [
    ("missing.handler", "Runtime.ImportModuleError"),
    ("app.nope", "Runtime.HandlerNotFound"),
    ("app", "Runtime.MalformedHandlerName"),
    ("app.not_json", "Runtime.MarshalError"),
])
def test_runtime_errors(pool: WorkerPool, code_dir: Path, handler: str, error_type: str) -> None:
    result = pool.invoke(config(code_dir, handler), {}, context=context())
    assert result.function_error == "Unhandled" and result.payload["errorType"] == error_type


def test_timeout_kills_the_worker_at_the_deadline(pool: WorkerPool, code_dir: Path) -> None:
    cfg = config(code_dir, "app.sleep", timeout_s=1.0)
    started = time.monotonic()
    result = pool.invoke(cfg, {"seconds": 30}, context=context())
    assert time.monotonic() - started < 10
    assert result.payload["errorType"] == "Sandbox.Timedout"
    assert result.payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert pool.warm_workers(cfg) == 0  # the environment is discarded, as Lambda does
    assert pool.invoke(cfg, {"seconds": 0}, context=context()).payload == "done"


def test_memory_past_the_size_is_runtime_out_of_memory(pool: WorkerPool, code_dir: Path) -> None:
    cfg = config(code_dir, "app.allocate", memory_mb=128)
    result = pool.invoke(cfg, {"mb": 400}, context=context())
    assert result.payload["errorType"] == "Runtime.OutOfMemory"
    assert "Runtime exited with error: signal: killed" in result.payload["errorMessage"]
    assert result.max_memory_mb == 128
    assert pool.invoke(cfg, {"mb": 16}, context=context()).payload == 16 * 1024 * 1024


def test_memory_error_in_the_handler_ends_as_out_of_memory(pool: WorkerPool, code_dir: Path) -> None:
    result = pool.invoke(config(code_dir, "app.memory_error"), {}, context=context())
    assert result.payload["errorType"] == "Runtime.OutOfMemory"


def test_reserved_concurrency_throttles_and_really_runs_in_parallel(pool: WorkerPool, code_dir: Path) -> None:
    cfg = config(code_dir, "app.sleep", reserved_concurrency=2)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(pool.invoke(cfg, {"seconds": 2}, context=context())))
               for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    with pytest.raises(Throttled):
        pool.invoke(cfg, {"seconds": 0}, context=context())
    for thread in threads:
        thread.join()
    assert [r.payload for r in results] == ["done", "done"]
    assert time.monotonic() - started < 3.9  # two 2 s sleeps overlapped
    assert pool.invoke(cfg, {"seconds": 0}, context=context(), wait=True).payload == "done"


def test_zero_reserved_concurrency_always_throttles(pool: WorkerPool, code_dir: Path) -> None:
    with pytest.raises(Throttled):
        pool.invoke(config(code_dir, reserved_concurrency=0), {}, context=context())
