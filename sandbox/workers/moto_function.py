"""Run a moto Lambda function in a worker process, as its role, and record the invocation.

The embedded AWS calls :func:`run_isolated` for every invocation when it runs isolated (the default): the
function's zip and layers are extracted (cached by sha256), the runtime environment is the function's
variables plus the runtime's (``AWS_LAMBDA_*``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` pointing at the embedded
AWS's HTTP endpoint), and the credentials are a session of the function's execution role issued by the
embedded AWS's :class:`~sandbox.authz.enforce.Enforcer` (the role's trust policy must let
``lambda.amazonaws.com`` assume it), so every AWS call the handler makes is authorized against that role. The
worker runs on an interpreter of the function's runtime (:mod:`sandbox.workers.interpreter`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.workers.interpreter import RuntimeUnavailable, worker_python
from sandbox.workers.pool import FunctionConfig, Throttled

if TYPE_CHECKING:
    from sandbox.core import EmbeddedAws, Invocation

# Per execution environment on AWS, per invocation here: not part of a worker's identity
_PER_CALL_ENV = ("AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def role_env(aws: EmbeddedAws, fn: Any) -> dict[str, str]:
    """The credentials variables of the function's execution role (admin credentials when IAM is off)."""
    enforcer = aws.enforcer
    if enforcer is None:
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    return enforcer.function_session(str(fn.role), str(fn.function_name), str(fn.function_arn)).env()


def run_isolated(aws: EmbeddedAws, backend: Any, fn: Any, event: Any, qualifier: str | None,
                 invocation_type: str, *, attempt: int = 1) -> Invocation:
    """One invocation of ``fn`` in a worker (see the module docstring); raises Throttled at the limit."""
    from sandbox import runtime
    from sandbox.core import Invocation, SandboxError

    ctx = runtime.new_context(aws, fn, qualifier)
    request_id, version, log_group = ctx.aws_request_id, ctx.function_version, ctx.log_group_name
    logging_config = aws.function_logging.get(fn.function_name, {})
    if not fn.code_bytes:
        raise SandboxError(f"sandbox: function {fn.function_name} has no zipped code to run")
    code_dir = runtime.extract_zip(fn.code_bytes, "code", runtime._digest(fn.code_bytes, getattr(fn, "code_digest",
                                                                                                  None)))
    env = runtime._lambda_env(aws, fn, ctx, code_dir)
    env["AWS_ENDPOINT_URL"] = aws.worker_endpoint()
    per_call = {key: env.pop(key) for key in _PER_CALL_ENV if key in env}
    per_call.update(role_env(aws, fn))
    reserved = getattr(fn, "reserved_concurrency", None)
    try:
        python = worker_python(str(fn.run_time))
    except RuntimeUnavailable as exc:
        raise SandboxError(f"sandbox: function {fn.function_name}: {exc}") from None
    config = FunctionConfig(
        function_arn=str(fn.function_arn), handler=str(fn.handler), code_dir=code_dir,
        layer_paths=tuple(runtime._layer_paths(backend, fn)), env=env, memory_mb=int(fn.memory_size),
        timeout_s=float(fn.timeout), reserved_concurrency=None if reserved in (None, "") else int(reserved),
        log_format=logging_config.get("LogFormat", "Text"), log_level=logging_config.get("ApplicationLogLevel"),
        python=python)
    context = {"function_name": ctx.function_name, "function_version": ctx.function_version,
               "invoked_function_arn": ctx.invoked_function_arn, "memory_limit_in_mb": ctx.memory_limit_in_mb,
               "aws_request_id": request_id, "log_group_name": log_group, "log_stream_name": ctx.log_stream_name}
    result = aws.workers().invoke(config, event, context=context, env=per_call, wait=invocation_type == "Event")
    lines = [f"START RequestId: {request_id} Version: {version}", *result.log_lines,
             f"END RequestId: {request_id}"]
    init = f"\tInit Duration: {result.init_ms:.2f} ms" if result.cold and result.init_ms is not None else ""
    lines.append(f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                 f"Billed Duration: {max(1, int(result.duration_ms + 0.999))} ms\tMemory Size: {fn.memory_size} MB\t"
                 f"Max Memory Used: {result.max_memory_mb} MB{init}")
    invocation = Invocation(
        function_name=fn.function_name, request_id=request_id, invocation_type=invocation_type, event=event,
        payload=result.payload, function_error=result.function_error, duration_ms=result.duration_ms,
        log_lines=tuple(lines), attempt=attempt)
    aws.invocations.append(invocation)
    runtime._write_logs(fn, log_group, ctx.log_stream_name, lines)
    return invocation


__all__ = ["Throttled", "role_env", "run_isolated"]
