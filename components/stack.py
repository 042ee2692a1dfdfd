"""Build one sciflow stack from its typed config: layers, scheduled computations, ETL pipelines, dashboard.

``__main__.py`` calls :func:`build_stack` with the config read once by :mod:`components.config`; this module
maps config objects to component Args and collects the stack outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import LayerConfig, StackConfig
from components.cost import Estimate, estimate_dashboard
from components.dashboard import Watched, create_dashboard
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs
from components.layer_bundle import LayerBundle, LayerBundleArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs


@dataclass
class Stack:
    """What :func:`build_stack` created, by config name."""

    provider: aws.Provider
    layers: dict[str, LayerBundle] = field(default_factory=dict)
    computations: dict[str, ScheduledComputation] = field(default_factory=dict)
    pipelines: dict[str, EtlPipeline] = field(default_factory=dict)
    dashboard: aws.cloudwatch.Dashboard | None = None
    estimates: list[Estimate] = field(default_factory=list)

    @property
    def cost_estimate_usd_month(self) -> float:
        return round(sum(e.total_usd for e in self.estimates), 2)

    def outputs(self) -> dict[str, Any]:
        """Stack outputs with consistent names (``<component>_<output>``)."""
        out: dict[str, Any] = {}
        for name, layer in self.layers.items():
            out[f"layer_{name}_arn"] = layer.arn
            out[f"layer_{name}_unzipped_bytes"] = layer.unzipped_bytes
        for name, comp in self.computations.items():
            for key in ("function_name", "schedule_name", "bucket_name", "table_name", "dlq_url"):
                out[f"{name}_{key}"] = getattr(comp, key)
        for name, pipe in self.pipelines.items():
            for key in ("state_machine_arn", "raw_bucket_name", "processed_bucket_name", "quarantine_bucket_name",
                        "table_name", "dlq_url"):
                out[f"{name}_{key}"] = getattr(pipe, key)
        if self.dashboard is not None:
            out["dashboard_name"] = self.dashboard.dashboard_name
        out["cost_estimate_usd_month"] = self.cost_estimate_usd_month
        out["cost_estimate"] = [e.to_json() for e in self.estimates]
        return out


def stack_tags(cfg: StackConfig, *, project: str, stack: str) -> dict[str, str]:
    """Tags on every taggable resource: ``project`` and ``stack`` first, then the configured ones.

    >>> stack_tags(StackConfig(region="eu-west-1", tags=(("owner", "me"),)), project="sciflow", stack="dev")
    {'project': 'sciflow', 'stack': 'dev', 'owner': 'me'}
    """
    return {"project": project, "stack": stack, **dict(cfg.tags)}


def provided_by(layer: LayerConfig, earlier: Mapping[str, LayerBundle]) -> list[LayerBundle]:
    """The layers a layer is smoke-tested with: for a layer that excludes packages, the earlier layers of the
    same runtime and architecture, which are the ones expected to provide them."""
    if not layer.exclude:
        return []
    return [bundle for bundle in earlier.values()
            if (bundle.build.runtime, bundle.build.architecture) == (layer.runtime, layer.architecture)]


def build_stack(cfg: StackConfig, *, project: str, stack: str) -> Stack:
    """Declare every resource of the stack described by ``cfg``."""
    tags = stack_tags(cfg, project=project, stack=stack)
    provider = aws.Provider("aws", region=cfg.region,
                            default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
    opts = pulumi.ResourceOptions(providers=[provider])
    built = Stack(provider=provider)
    for layer in cfg.layers:
        args = LayerBundleArgs.from_config(layer, provided_by=provided_by(layer, built.layers), tags=tags)
        built.layers[layer.name] = LayerBundle(layer.name, args, opts=opts)
    watched = Watched()
    for comp_cfg in cfg.computations:
        layers = [built.layers[n].arn for n in comp_cfg.layers]
        comp = ScheduledComputation(comp_cfg.name, ScheduledComputationArgs.from_config(
            comp_cfg, layers=layers, tags=tags), opts=opts)
        built.computations[comp_cfg.name] = comp
        watched += comp.watched()
    for pipe_cfg in cfg.pipelines:
        layers = [built.layers[n].arn for n in pipe_cfg.layers]
        pipe = EtlPipeline(pipe_cfg.name, EtlPipelineArgs.from_config(pipe_cfg, layers=layers, tags=tags),
                           opts=opts)
        built.pipelines[pipe_cfg.name] = pipe
        watched += pipe.watched()
    components: list[LayerBundle | ScheduledComputation | EtlPipeline] = [
        *built.layers.values(), *built.computations.values(), *built.pipelines.values()]
    built.estimates = [*(c.cost_estimate(cfg.region) for c in components), estimate_dashboard(cfg.region)]
    watched = Watched(watched.functions, watched.state_machines, watched.queues, built.estimates)
    built.dashboard = create_dashboard(f"sciflow-{stack}", region=cfg.region, watched=watched,
                                       budget_usd_month=cfg.budget_usd_month, opts=opts)
    return built
