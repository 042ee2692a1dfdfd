"""The dev stack's seed chain: the fetcher's grants are exactly what its code reads, its output feeds the
region-services pipeline (whose inputSuffix is what it writes), and sensor-stats reads sensor-etl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.config import build_sequence, parse_stack_config
from handlers.computations.region_services import OUTPUT_NAME, grant_resources

REPO = Path(__file__).resolve().parents[2]


def dev() -> tuple[dict[str, Any], Any]:
    raw = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    region = raw["aws:region"]
    config = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("sciflow:")}
    return raw, parse_stack_config(config, region=region)


def test_the_fetcher_is_granted_exactly_what_it_reads() -> None:
    raw, cfg = dev()
    [fetch] = [c for c in cfg.computations if c.name == "region-fetch"]
    granted = {action: sorted(grant.resources) for grant in fetch.args.grants for action in grant.actions}
    assert granted == {a: sorted(r) for a, r in grant_resources(raw["aws:region"]).items()}


def test_the_fetcher_writes_what_the_pipeline_ingests_and_sensor_stats_reads_sensor_etl() -> None:
    _, cfg = dev()
    computations = {c.name: c for c in cfg.computations}
    pipelines = {p.name: p for p in cfg.pipelines}
    assert [o.pipeline for o in computations["region-fetch"].args.outputs] == ["region-services"]
    assert OUTPUT_NAME.endswith(pipelines["region-services"].args.input_suffix)
    assert pipelines["region-services"].args.dataset == "region_services"
    assert [i.pipeline for i in computations["sensor-stats"].args.inputs] == ["sensor-etl"]
    order = [name for _, name in build_sequence(cfg)]
    assert order.index("region-services") < order.index("region-fetch")
    assert order.index("sensor-etl") < order.index("sensor-stats")
