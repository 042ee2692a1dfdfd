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
def deployed(graph: Graph) -> Iterator[Deployment]:
    """``graph`` deployed into a fresh embedded AWS with IAM enforced, alive for the block.

    The programs under test attach no layers, so their Lambda code runs in this process (with the venv's
    numpy/pandas); ``make demo`` (tests/e2e/test_demo.py) runs the dev stack's real layers in worker processes.
    """
    from sandbox.aws import embedded_aws  # moto: imported by the tests that deploy, not by every synth
    from sandbox.deploy import deploy

    with embedded_aws(graph.region, iam=True) as aws:
        yield deploy(graph, aws)
