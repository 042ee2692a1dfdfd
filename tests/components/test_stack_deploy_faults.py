"""The dev and prod stacks against the deploy-time faults moto cannot see (issue: real AWS).

No reservation unless configured (accounts at the default quota of 10 refuse any); every layer built from its
committed lock; the handlers' AWS SDK pinned and shipped (S3 conditional writes need botocore >= 1.35).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from components.bundling.lock import parse
from components.layer_locks import lock_file_for
from synth import synth
from synth.graph import Graph

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-layers")]


@pytest.fixture(scope="module", params=["dev", "prod"])
def graph(request: pytest.FixtureRequest) -> Graph:
    return synth(REPO / "__main__.py", stack=request.param)


def _layers(graph: Graph) -> dict[str, dict[str, str]]:
    return {r.name: r.component_outputs["packages"] for r in graph.components()
            if r.type == "sciflow:index:LayerBundle"}


def test_no_function_reserves_concurrency(graph: Graph) -> None:
    functions = graph.by_type("aws:lambda/function:Function")
    assert functions and [f.name for f in functions if "reservedConcurrentExecutions" in f.inputs] == []


def test_every_layer_ships_exactly_its_locked_versions(graph: Graph) -> None:
    for name, packages in _layers(graph).items():
        lock = parse(lock_file_for(name, "python3.11", "x86_64").read_text())
        locked = {w.key: w.version for w in lock.wheels}
        assert packages and all(locked[pkg.lower().replace("_", "-")] == version for pkg, version in packages.items())


def test_the_runtime_layer_ships_an_sdk_with_conditional_writes(graph: Graph) -> None:
    runtime = {k.lower(): v for k, v in _layers(graph)["runtime"].items()}
    assert Version(runtime["botocore"]) >= Version("1.35.0") and runtime["boto3"] == "1.44.8"
