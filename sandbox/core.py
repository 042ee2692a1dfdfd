"""The embedded AWS's core: constants, the records it keeps (Lambda invocations, S3 notices) and the
:class:`EmbeddedAws` handle (clients, invocation record, deploy-time hints). No moto patching here: see
``sandbox.moto_patches``; the Lambda runtime is ``sandbox.runtime``; ``sandbox.aws.embedded_aws`` starts it all.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

import boto3
import boto3.session
from botocore.client import BaseClient
from botocore.config import Config
from moto.core.config import DefaultConfig

from sandbox.authz.enforce import Enforcer
from sandbox.workers.pool import WorkerPool

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
    # IAM enforcement (None: off) and process-isolated Lambda workers (see sandbox.authz, sandbox.workers)
    enforcer: Enforcer | None = None
    isolated: bool = False
    _pool: WorkerPool | None = field(default=None, repr=False)
    _bridge: Any = field(default=None, repr=False)
    _modules: dict[tuple[str, str], dict[str, ModuleType]] = field(default_factory=dict, repr=False)
    _clients: dict[tuple[str, str], BaseClient] = field(default_factory=dict, repr=False)
    # in-process mode: the default boto3 session of each function's code, per role credentials (sandbox.runtime)
    _sessions: dict[tuple[str, str], boto3.session.Session] = field(default_factory=dict, repr=False)
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

    def workers(self) -> WorkerPool:
        """The Lambda worker processes of this embedded AWS (started on first use)."""
        with self._clients_lock:
            if self._pool is None:
                self._pool = WorkerPool()
            return self._pool

    def worker_endpoint(self) -> str:
        """The HTTP endpoint Lambda workers reach this embedded AWS at (in-process: a server thread sharing
        moto's state, started on first use)."""
        if self.endpoint_url:
            return self.endpoint_url
        with self._clients_lock:
            if self._bridge is None:
                from moto.server import ThreadedMotoServer

                logging.getLogger("werkzeug").setLevel(logging.WARNING)
                bridge = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
                bridge.start()
                self._bridge = bridge
            return f"http://127.0.0.1:{self._bridge.get_host_and_port()[1]}"

    def role_client(self, service: str, role_arn: str, *, trusted: str, source_arn: str | None = None,
                    region: str | None = None) -> BaseClient:
        """A client signing as a session of ``role_arn`` assumed by the service ``trusted`` (admin when IAM
        enforcement is off)."""
        if self.enforcer is None:
            return self.client(service, region)
        session = self.enforcer.role_session(role_arn, trusted.split(".")[0], service=trusted, source_arn=source_arn)
        return self.session_client(service, session.env(), region)

    def service_client(self, service: str, principal: str, *, source_arn: str, region: str | None = None) -> BaseClient:
        """A client signing as the AWS service ``principal`` acting for ``source_arn`` (resource policies
        decide)."""
        if self.enforcer is None:
            return self.client(service, region)
        return self.session_client(service, self.enforcer.service_session(principal, source_arn=source_arn).env(),
                                   region)

    def session_client(self, service: str, credentials: Mapping[str, str], region: str | None = None) -> BaseClient:
        kwargs: dict[str, Any] = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
        return _shared_session().client(
            service, region_name=region or self.region, aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}), **kwargs)

    def close(self) -> None:
        """Stop the Lambda workers and the workers' endpoint."""
        with self._clients_lock:
            pool, bridge = self._pool, self._bridge
            self._pool = self._bridge = None
        if pool is not None:
            pool.close()
        if bridge is not None:
            bridge.stop()



_SESSION: boto3.session.Session | None = None
_SESSION_LOCK = threading.Lock()


def _shared_session() -> boto3.session.Session:
    """One botocore session per process: it caches the (large) service models clients are built from."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION


def set_env(key: str, value: str | None) -> None:
    """Set or (``None``) unset an environment variable."""
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value
