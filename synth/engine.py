"""Run a Pulumi program under Pulumi's mock runtime and record the resource graph it declares.

This is the offline twin of the engine's registration step: the *real* program runs (``__main__.py`` and all
components), every ``RegisterResource`` is recorded with its raw request and response, and the result is a
:class:`~synth.graph.Graph` that preview prints, the sandbox deploys into the embedded AWS and the policy pack
checks.

Example
-------
>>> graph = synth(Path("__main__.py"), stack="dev")
>>> graph.counts_by_type()["aws:lambda/function:Function"]
13
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

from synth.graph import STACK_TYPE, Graph, Resource
from synth.mocks import AwsMocks, ResourceAnswer

DEFAULT_REGION = "us-east-1"
_SYNTH_LOCK = threading.Lock()


class SynthError(RuntimeError):
    """The program could not be synthesized (its own exception is the ``__cause__``)."""


class DuplicateUrnError(SynthError):
    pass


class SynthTimeout(SynthError):
    """The program did not finish within the time given (it may wait forever on a value that never resolves).

    Its thread is abandoned (a daemon thread: it never keeps the process alive) and holds the engine, so no
    other synth can run in this process afterwards: a CLI should exit."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration in order and rejects duplicate URNs like the engine."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[Resource] = []
        self._by_urn: dict[str, Resource] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []

    def _thread_loop(self) -> None:
        """Give the RPC worker thread an event loop we own (the mock monitor needs one to deserialize).

        The base class would create one per worker thread and never close it; such loops are closed by the
        garbage collector at interpreter exit, after their self-pipe is gone, which prints
        ``ValueError: Invalid file descriptor: -1`` tracebacks on successful runs. :meth:`close_loops` closes ours.
        """
        if getattr(self._local, "loop", None) is None and not threading.current_thread().name.startswith("synth-"):
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._local.loop = loop
            with self._lock:
                self._loops.append(loop)

    def close_loops(self) -> None:
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()

    def Invoke(self, request: Any) -> Any:
        self._thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        self._thread_loop()
        return super().ReadResource(request)

    def GetDeploymentInfo(self, request: Any) -> Any:
        """The mock monitor's features, without resource references (see :meth:`SupportsFeature`)."""
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def SupportsFeature(self, request: Any) -> Any:
        """No resource references: a resource passed as an input is sent as its id (a component as its URN).

        That is what the engine hands a provider that does not take references (the AWS provider), so
        ``aws.iam.RolePolicy(role=role)`` records ``role`` as the role's id, i.e. its name. With references on,
        the mock monitor rehydrates every referenced resource on its worker thread's own event loop, which
        never runs: those outputs never resolve and the program never finishes.
        """
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def RegisterResource(self, request: Any) -> Any:
        self._thread_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            if urn in self._by_urn:
                message = f"Duplicate resource URN '{urn}'; try giving it a unique name"
                self.errors.append(message)
                raise DuplicateUrnError(message)
        response = super().RegisterResource(request)
        inputs = rpc.deserialize_properties(request.object) if request.type != STACK_TYPE else {}
        outputs = rpc.deserialize_properties(response.object) if response.object else {}
        record = Resource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            id=response.id or None,
            inputs=dict(inputs),
            outputs=dict(outputs),
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider or None,
            request=request,
            response=response,
        )
        with self._lock:
            self._by_urn[record.urn] = record
            self.records.append(record)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self._thread_loop()
        with self._lock:
            record = self._by_urn.get(request.urn)
        if record is not None:
            record.component_outputs = dict(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


def load_stack_config(program_dir: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml`` beside the program (keys ``ns:key``)."""
    path = program_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise SynthError(f"{path}: no such stack file (create it or pass another --stack)")
    data = yaml.safe_load(path.read_text()) or {}
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise SynthError(f"{path}: 'config' must be a mapping")
    return config


def project_name(program_dir: Path) -> str:
    path = program_dir / "Pulumi.yaml"
    if path.is_file():
        return str((yaml.safe_load(path.read_text()) or {}).get("name") or "project")
    return "project"


def engine_config(config: Mapping[str, Any], project: str) -> dict[str, str]:
    """Config as the engine hands it to a program: ``ns:key`` -> string (structured values JSON-encoded)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise SynthError(f"{full}: secrets cannot be decrypted offline; set a plain value for the sandbox")
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def synth(program: Path | str = "__main__.py", *, stack: str | None = "dev",
          config: Mapping[str, Any] | None = None, preview: bool = True,
          answers: Mapping[str, ResourceAnswer] | None = None, timeout_s: float | None = None) -> Graph:
    """Run ``program`` under the mocks and return its resource graph.

    Parameters
    ----------
    program:
        A Python file that declares resources when run (like ``__main__.py``).
    stack:
        Loads ``Pulumi.<stack>.yaml`` beside the program as config; ``None`` uses ``config`` only.
    config:
        Extra config (``ns:key`` or ``key`` in the project namespace) laid over the stack file.
    preview:
        Run as ``pulumi preview`` (``is_dry_run()`` true) or as ``pulumi up``.
    answers:
        Exact mock answers per type token, laid over the generic ones (see :mod:`synth.mocks`).
    timeout_s:
        Give up after this many seconds with :class:`SynthTimeout` (``None``: wait as long as it takes).
    """
    path = Path(program).resolve()
    if not path.is_file():
        raise SynthError(f"{path}: no such program file")
    program_dir = path.parent
    project = project_name(program_dir)
    raw: dict[str, Any] = dict(load_stack_config(program_dir, stack)) if stack else {}
    raw.update(config or {})
    settings = engine_config(raw, project)
    stack_name = stack or "sandbox"
    region = settings.get("aws:region", DEFAULT_REGION)
    mocks = AwsMocks(stack=stack_name, region=region, answers=dict(answers or {}))
    monitor = RecordingMonitor(mocks)

    result: dict[str, Any] = {}

    def run() -> None:
        # A fresh thread has a fresh contextvars context: settings, config and the root stack are isolated
        # from any other synth in this process.
        from pulumi.runtime.config import set_all_config
        from pulumi.runtime.settings import SETTINGS, get_root_resource
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            set_all_config(settings)
            pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack_name, preview=preview,
                                   monitor=monitor)
            # Like ``pulumi.runtime.test``: drop tasks a previous (failed) program in this process left behind.
            SETTINGS.rpc_manager.clear()
            SETTINGS.outputs.clear()
            def program() -> None:
                runpy.run_path(str(path), run_name="__main__")

            _sync_await(run_pulumi_func(program))
            root = get_root_resource()
            result["outputs"] = _resolve_outputs(getattr(root, "outputs", {}) or {})
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            monitor.close_loops()

    # Pulumi's runtime SETTINGS, sys.path and the cwd are process-wide: one synth at a time. A timed-out
    # program keeps the lock (its thread still runs): later synths in this process fail fast instead of racing it.
    if not _SYNTH_LOCK.acquire(timeout=timeout_s if timeout_s is not None else -1):
        raise SynthTimeout(f"{path.name}: another synth in this process did not finish (timed out earlier)")
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    thread = threading.Thread(target=run, name=f"synth-{stack_name}", daemon=True)
    try:
        thread.start()
        thread.join(timeout_s)
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)
        if not thread.is_alive():
            _SYNTH_LOCK.release()
    if thread.is_alive():
        raise SynthTimeout(f"{path.name} (stack {stack_name}): the program did not finish within {timeout_s:g} s; "
                           f"it may wait forever on a value that never resolves")
    if monitor.errors:
        raise DuplicateUrnError(monitor.errors[0])
    if "error" in result:
        error = result["error"]
        raise SynthError(f"{path.name} (stack {stack_name}): {type(error).__name__}: {error}"
                         f"{_hint(error, stack)}") from error
    return Graph(project=project, stack=stack_name, region=region, resources=list(monitor.records),
                 outputs=result.get("outputs", {}), config=raw, notes=list(mocks.notes))


def _hint(error: BaseException, stack: str | None) -> str:
    """What to do about the usual reasons a valid program fails offline (a missing SDK, missing config)."""
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("pulumi_"):
        package = (error.name or "").replace("_", "-")
        return f" (the program needs the {package} SDK: install it beside pulumi-aws, e.g. pip install {package})"
    if type(error).__name__ == "ConfigMissingError":
        where = f"Pulumi.{stack}.yaml" if stack else "a stack file: pass --stack NAME to load Pulumi.NAME.yaml"
        return f" (set it in {where} beside the program)"
    return ""


def _resolve_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve the stack's exported Outputs (all known under the mocks)."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    return {key: _sync_await(pulumi.Output.from_input(value).future()) for key, value in outputs.items()}
