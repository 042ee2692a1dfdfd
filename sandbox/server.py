"""The embedded AWS as an HTTP endpoint: moto's ThreadedMotoServer with in-process Lambda and SFN execution.

Any client can talk to it (``AWS_ENDPOINT_URL=http://127.0.0.1:<port>``, any credentials: those are an
administrator's). Lambda code runs as in :func:`sandbox.aws.embedded_aws` (``serve``: in worker processes, with
its role's credentials, every call authorized); ``AWS_ENDPOINT_URL`` points the handler's boto3 clients back
at the server. ``MOTO_PORT`` is set so Step Functions service
integrations (``lambda:invoke``, ``dynamodb:putItem`` ...) reach the server too.

Example
-------
>>> handle = start_server(0, "ap-south-1")      # 0: pick a free port
>>> handle.aws.client("s3").list_buckets()["Buckets"]
[]
>>> handle.stop()
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from sandbox import aws as aws_mod
from sandbox.authz.enforce import Enforcer
from sandbox.aws import DEFAULT_REGION, EmbeddedAws
from synth.graph import Graph


@dataclass
class ServerHandle:
    """A running server; ``stop()`` shuts it down, removes the Lambda patch and clears moto's state."""

    server: Any
    aws: EmbeddedAws
    port: int
    _saved_env: dict[str, str | None]
    _saved_config: dict[str, Any]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        from moto.core.config import default_user_config
        from moto.moto_api._internal.models import moto_api_backend

        self.server.stop()
        aws_mod.uninstall_for_server()
        moto_api_backend.reset()
        config: dict[str, Any] = default_user_config  # type: ignore[assignment]
        config.clear()
        config.update(self._saved_config)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_server(port: int = 0, region: str = DEFAULT_REGION, *, host: str = "127.0.0.1",
                 request_log: bool = False, iam: bool = False, isolated: bool = False) -> ServerHandle:
    """Start the server on ``host:port`` (``0`` picks a free port) and return once it accepts requests.

    ``request_log`` keeps werkzeug's one-line-per-request log on stderr.
    """
    import copy
    import logging

    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    if not request_log:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    saved_config = copy.deepcopy(dict(default_user_config))
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    actual_port = int(server.get_host_and_port()[1])
    saved_env = {k: os.environ.get(k) for k in ("MOTO_PORT", "AWS_DEFAULT_REGION")}
    os.environ["MOTO_PORT"] = str(actual_port)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    embedded = EmbeddedAws(region=region, endpoint_url=f"http://127.0.0.1:{actual_port}", isolated=isolated,
                           enforcer=Enforcer(aws_mod.ACCOUNT_ID, region) if iam else None)
    try:
        aws_mod.install_for_server(embedded)
    except BaseException:
        server.stop()
        raise
    return ServerHandle(server=server, aws=embedded, port=actual_port, _saved_env=saved_env,
                        _saved_config=saved_config)


def serve(port: int, region: str = DEFAULT_REGION, *, host: str = "127.0.0.1", graph: Graph | None = None) -> None:
    """Run the server until interrupted (Ctrl-C or SIGTERM); what ``python -m sandbox serve`` calls.

    With ``graph`` (a synthesized program) the server starts with that program deployed into it, in the
    graph's region.
    """
    region = graph.region if graph is not None else region
    handle = start_server(port, region, host=host, request_log=True, iam=True, isolated=True)
    if graph is not None:
        from sandbox.deploy import deploy

        try:
            print(deploy(graph, handle.aws).summary(), flush=True)
        except BaseException:
            handle.stop()
            raise
    print(f"sandbox: embedded AWS ({region}) listening on {handle.endpoint_url}; "
          f"export AWS_ENDPOINT_URL={handle.endpoint_url}", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        handle.stop()
