"""The Pulumi programs under test (``tests/programs/*.py``) and the steps every area repeats with them:
synthesize a program offline, deploy a graph into a fresh embedded AWS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth import synth
from synth.graph import Graph

if TYPE_CHECKING:
    from sandbox.deploy import Deployment

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = REPO / "tests" / "programs"
REGION = "ap-south-1"


def program(name: str) -> Path:
    """``tests/programs/<name>.py``; raises if there is no such program."""
    path = PROGRAMS / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such program under test")
    return path


def synth_program(name: str, *, stack: str | None = "test", config: Mapping[str, Any] | None = None,
                  sandbox: bool = False) -> Graph:
    """Synthesize ``tests/programs/<name>.py``.

    ``stack="test"`` loads ``tests/programs/Pulumi.test.yaml`` (``aws:region``); ``stack=None`` runs with
    ``config`` only (stack name ``sandbox``, region ``ap-south-1`` unless ``config`` sets one). ``config``
    is laid over the stack file (keys ``ns:key``, e.g. ``test:layerZip``). ``sandbox=True`` answers the
    registrations as the embedded AWS will (use it for a graph you pass to :func:`deployed`).
    """
    settings = dict(config or {}) if stack else {"aws:region": REGION, **(config or {})}
    if sandbox:
        from sandbox.services import synth_for_sandbox

        return synth_for_sandbox(program(name), stack=stack, config=settings)
    return synth(program(name), stack=stack, config=settings)


@contextmanager
def deployed(graph: Graph, *, isolated: bool = False) -> Iterator[Deployment]:
    """``graph`` deployed into a fresh embedded AWS with IAM enforced, alive for the block.

    By default the Lambda code runs in this process, with the venv's packages (the programs under test attach no
    layers). ``isolated=True`` runs it as ``make demo`` does: in worker processes whose ``sys.path`` is the
    function's code, its layers and the runtime's boto3, with memory, timeout and concurrency enforced; every
    function gets the dev stack's real layers (:func:`tests.support.layers.attach_stack_layers`).
    """
    from sandbox.aws import embedded_aws  # moto: imported by the tests that deploy, not by every synth
    from sandbox.deploy import deploy

    with embedded_aws(graph.region, iam=True, isolated=isolated) as aws:
        deployment = deploy(graph, aws)
        if isolated:
            from tests.support.layers import attach_stack_layers

            attach_stack_layers(deployment)
        yield deployment
