"""The real program: dev and prod stacks synthesize with every component wired, tagged and within the pack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.config import LayerEntry, StackConfig
from components.layer_bundle import LayerBundleArgs
from components.stack import layer_lock, provided_by, stack_tags
from policy.check import evaluate
from synth import synth
from synth.graph import Graph

REPO = Path(__file__).resolve().parents[2]
FUNCTION = "aws:lambda/function:Function"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-layers")]


COMPUTATIONS = {"dev": ["daily-stats", "region-fetch", "sensor-stats"], "prod": ["daily-stats"]}
PIPELINES = {"dev": ["sensor-etl", "region-services"], "prod": ["sensor-etl"]}
"""Each stack file's components, in config order."""


@pytest.fixture(scope="module", params=["dev", "prod"])
def graph(request: pytest.FixtureRequest) -> Graph:
    return synth(REPO / "__main__.py", stack=request.param)


def test_components_and_dashboard(graph: Graph) -> None:
    kinds = sorted((r.type.split(":")[-1], r.name) for r in graph.components())  # registration order is async
    assert kinds == sorted([("LayerBundle", "scientific"), ("LayerBundle", "plotting"), ("LayerBundle", "runtime"),
                            *(("ScheduledComputation", name) for name in COMPUTATIONS[graph.stack]),
                            *(("EtlPipeline", name) for name in PIPELINES[graph.stack]),
                            ("AccessLogs", f"sciflow-{graph.stack}-access-logs")])
    dashboard = graph.find(f"sciflow-{graph.stack}", "aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    assert body["widgets"][0]["properties"]["markdown"].startswith("## Estimated monthly cost: $")


def test_provider_sets_default_tags(graph: Graph) -> None:
    provider = graph.find("aws", "pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]  # provider inputs reach the engine JSON-encoded
    assert tags["project"] == "sciflow" and tags["stack"] == graph.stack and tags["owner"] == "data-platform"


def test_functions_get_the_configured_layers(graph: Graph) -> None:
    layer_arn = {r.parent.rsplit("::", 1)[-1]: r.outputs["arn"]  # type: ignore[union-attr]
                 for r in graph.by_type("aws:lambda/layerVersion:LayerVersion")}
    functions = {r.name: r.inputs["layers"] for r in graph.by_type(FUNCTION)}
    assert functions["daily-stats-fn"] == [layer_arn["scientific"], layer_arn["plotting"], layer_arn["runtime"]]
    for step in ("ingest", "validate", "transform", "output", "on-failure"):
        assert functions[f"sensor-etl-{step}-fn"] == [layer_arn["scientific"], layer_arn["runtime"]]


def test_every_taggable_resource_carries_the_stack_tags(graph: Graph) -> None:
    tagged = [r for r in graph.resources if r.custom and "tags" in r.inputs]
    assert len(tagged) > 30
    for res in tagged:
        assert {"project", "stack"} <= set(res.inputs["tags"]), res.urn


def test_no_mandatory_violations(graph: Graph) -> None:
    report = evaluate(graph, program_dir=REPO)
    assert report.mandatory == []


def test_cost_estimate_output(graph: Graph) -> None:
    estimates = graph.outputs["cost_estimate"]
    assert [e["name"] for e in estimates] == ["layer scientific", "layer plotting", "layer runtime",
                                              *COMPUTATIONS[graph.stack], *PIPELINES[graph.stack], "dashboard"]
    assert graph.outputs["cost_estimate_usd_month"] == pytest.approx(sum(e["total_usd"] for e in estimates),
                                                                      abs=0.01)


def test_stack_tags_order_and_override() -> None:
    cfg = StackConfig(region="eu-west-1", tags={"owner": "me"},
                      layers=(LayerEntry("sci", LayerBundleArgs(requirements=["numpy"])),))
    assert stack_tags(cfg, project="sciflow", stack="dev") == {"project": "sciflow", "stack": "dev", "owner": "me"}


def test_functions_take_runtime_and_architecture_from_stack_config() -> None:
    config = {"aws:region": "eu-west-1",
              "sciflow:computations": [{"name": "daily-stats", "handler": "computations.daily_stats.handler",
                                        "schedule": "rate(1 day)", "runtime": "python3.12", "architecture": "arm64"}],
              "sciflow:pipelines": [{"name": "sensor-etl", "dataset": "sensor_readings", "runtime": "python3.13"}]}
    graph = synth(REPO / "__main__.py", stack=None, config=config)
    functions = {r.name: (r.inputs["runtime"], *r.inputs["architectures"]) for r in graph.by_type(FUNCTION)}
    assert functions.pop("daily-stats-fn") == ("python3.12", "arm64")
    assert set(functions.values()) == {("python3.13", "x86_64")} and len(functions) == 5


def test_a_layer_with_exclusions_is_provided_by_the_earlier_layers_of_its_runtime_and_architecture() -> None:
    def entry(name: str, runtime: str = "python3.11", **args: object) -> LayerEntry:
        return LayerEntry(name, LayerBundleArgs(requirements=["numpy==2.2.6"], runtime=runtime, **args))  # type: ignore[arg-type]

    sci, sci12, arm = entry("sci"), entry("sci12", "python3.12"), entry("arm", architecture="arm64")
    plot = entry("plot", exclude=["numpy"])
    assert provided_by(plot, [sci, sci12, arm]) == ["sci"]
    assert provided_by(sci, []) == [] and provided_by(entry("alone"), [sci]) == []  # nothing excluded: none
    assert layer_lock(plot) == REPO / "locks" / "plot-python3.11-x86_64.txt"
    assert layer_lock(entry("own", lock_file=Path("x.txt"))) == Path("x.txt")
