"""Shared steps of the end-to-end tests: synthesize a program text, deploy it into a fresh embedded AWS."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.aws import embedded_aws
from sandbox.deploy import Deployment, deploy
from sandbox.services import synth_for_sandbox as synth
from synth.graph import Graph

REPO = Path(__file__).resolve().parents[2]
REGION = "ap-south-1"


def synth_text(tmp_path_factory: pytest.TempPathFactory, name: str, program: str) -> Graph:
    """Synthesize ``program`` (``{repo}`` is replaced by the repository path) with only ``aws:region`` set."""
    path = tmp_path_factory.mktemp(name) / "__main__.py"
    path.write_text(textwrap.dedent(program.format(repo=str(REPO))))
    return synth(path, stack=None, config={"aws:region": REGION})


@contextmanager
def deployed(graph: Graph) -> Iterator[Deployment]:
    """The graph deployed into a fresh embedded AWS with IAM enforced, alive for the block.

    The programs under test attach no layers, so their Lambda code runs in this process (with the venv's
    numpy/pandas); ``make demo`` (tests/e2e/test_demo.py) runs the dev stack's real layers in worker processes.
    """
    with embedded_aws(graph.region, iam=True) as aws:
        yield deploy(graph, aws)
