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

The parts, by role: ``sandbox.core`` (records, the :class:`EmbeddedAws` handle), ``sandbox.moto_patches``,
``sandbox.runtime`` (the in-process Lambda runtime), ``sandbox.async_invoke`` (Event invocations and
destinations). This module starts them together and is the public entry point.

Example
-------
>>> with embedded_aws("ap-south-1") as aws:
...     aws.client("s3").list_buckets()["Buckets"]
[]
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from sandbox.async_invoke import destination_record
from sandbox.authz.enforce import Enforcer
from sandbox.core import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    MOTO_CONFIG,
    PATCHED_SYMBOL,
    PINNED_MOTO,
    EmbeddedAws,
    Invocation,
    S3Notice,
    SandboxError,
    set_env,
)
from sandbox.moto_patches import activate, atomic_dynamodb, current, install_for_server, uninstall_for_server
from sandbox.runtime import LambdaContext, extract_zip

_LOG = logging.getLogger("sandbox.aws")

__all__ = ["ACCOUNT_ID", "DEFAULT_REGION", "MOTO_CONFIG", "PATCHED_SYMBOL", "PINNED_MOTO", "EmbeddedAws", "Invocation",
           "LambdaContext", "S3Notice", "SandboxError", "atomic_dynamodb", "current", "destination_record",
           "embedded_aws", "extract_zip", "install_for_server", "uninstall_for_server"]


@contextlib.contextmanager
def embedded_aws(region: str = DEFAULT_REGION, *, drain_timeout_s: float = 30.0, iam: bool = False,
                 isolated: bool = False) -> Iterator[EmbeddedAws]:
    """Run moto in-process with SFN execution on and Lambda code executed.

    ``iam``: every call made with a role's credentials (Lambda code, state machine service integrations,
    Scheduler/EventBridge targets) is authorized as AWS would (:mod:`sandbox.authz`); ``isolated``: Lambda code
    runs in worker processes with memory, timeout and concurrency enforced (:mod:`sandbox.workers`), else in
    this process. ``make demo``, ``sandbox access`` and ``sandbox serve`` turn both on.

    State lives until the context exits; one embedded AWS per process at a time. On exit it waits up to
    ``drain_timeout_s`` for Step Functions executions still running (they run in moto's threads and would
    otherwise outlive the mock), and logs the ones it gave up on.
    """
    from moto import mock_aws

    aws = EmbeddedAws(region=region, enforcer=Enforcer(ACCOUNT_ID, region) if iam else None, isolated=isolated)
    previous_region = {k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION",)}
    enforcing = aws.enforcer.installed() if aws.enforcer is not None else contextlib.nullcontext()
    with activate(aws), mock_aws(config=MOTO_CONFIG), enforcing:
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
            aws.close()
            for key, value in previous_region.items():
                set_env(key, value)

