"""Build one sciflow stack from its typed config: layers, scheduled computations, ETL pipelines, dashboard.

``__main__.py`` calls :func:`build_stack` with the config read once by :mod:`components.config` (whose entries
already hold each component's Args); this module resolves layer names to ARNs, adds the stack's tags and
collects the stack outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.bundling.report import check_function_budget
from components.code import handlers_archive
from components.config import ComputationEntry, LayerEntry, PipelineEntry, StackConfig, build_sequence
from components.connections import Location
from components.cost import Estimate, estimate_dashboard
from components.dashboard import Watched, create_dashboard
from components.etl_pipeline import EtlPipeline
from components.layer_bundle import LayerBundle
from components.layer_locks import lock_file_for
from components.naming import scoped_name
from components.scheduled_computation import ScheduledComputation
from components.storage import AccessLogs, AccessLogsArgs


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

    def output(self, producer: str) -> Location:
        """``pipeline:<name>`` -> its processed output, ``computation:<name>`` -> its artifacts."""
        kind, _, name = producer.partition(":")
        if kind == "pipeline":
            return self.pipelines[name].processed
        if kind == "computation":
            return self.computations[name].artifacts
        raise KeyError(producer)

    def inbox(self, producer: str) -> Location:
        """``pipeline:<name>`` -> where writers put files that start it."""
        kind, _, name = producer.partition(":")
        if kind != "pipeline":
            raise KeyError(producer)
        return self.pipelines[name].inbox

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
            if pipe.batch is not None:
                out[f"{name}_batch_state_machine_arn"] = pipe.batch.state_machine.arn
                out[f"{name}_batch_schedule_name"] = pipe.batch.schedule.name
        if self.dashboard is not None:
            out["dashboard_name"] = self.dashboard.dashboard_name
        out["cost_estimate_usd_month"] = self.cost_estimate_usd_month
        out["cost_estimate"] = [e.to_json() for e in self.estimates]
        return out


def stack_tags(cfg: StackConfig, *, project: str, stack: str) -> dict[str, str]:
    """Tags on every taggable resource: ``project`` and ``stack`` first, then the configured ones.

    >>> stack_tags(StackConfig(region="eu-west-1", tags={"owner": "me"}), project="sciflow", stack="dev")
    {'project': 'sciflow', 'stack': 'dev', 'owner': 'me'}
    """
    return {"project": project, "stack": stack, **dict(cfg.tags)}


def provided_by(layer: LayerEntry, earlier: Sequence[LayerEntry]) -> list[str]:
    """The names of the layers a layer is smoke-tested with: for a layer that excludes packages, the earlier
    layers of the same runtime and architecture, which are the ones expected to provide them."""
    if not layer.args.exclude:
        return []
    return [entry.name for entry in earlier
            if (entry.args.runtime, entry.args.architecture) == (layer.args.runtime, layer.args.architecture)]


def layer_lock(layer: LayerEntry) -> Path:
    """The lock file a stack layer installs from: its own ``lockFile``, else ``locks/<name>-<runtime>-<arch>.txt``."""
    return layer.args.lock_file or lock_file_for(layer.name, layer.args.runtime, layer.args.architecture)


def check_function_size(name: str, layer_names: Sequence[str], layers: Mapping[str, LayerBundle]) -> None:
    """Fail before any resource is declared when a function's code plus its layers exceed Lambda's limit (the
    error names the function, its layers, the top contributors across them and what would fit)."""
    check_function_budget(name, [(n, layers[n].build.report["sizes"]) for n in layer_names],
                          handlers_archive().unzipped_bytes)


def build_stack(cfg: StackConfig, *, project: str, stack: str) -> Stack:
    """Declare every resource of the stack described by ``cfg``."""
    tags = stack_tags(cfg, project=project, stack=stack)
    provider = aws.Provider("aws", region=cfg.region,
                            default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
    opts = pulumi.ResourceOptions(providers=[provider])
    built = Stack(provider=provider)
    # every bucket of the stack logs its server access here (one log bucket per stack)
    logs = AccessLogs(f"sciflow-{stack}-access-logs", AccessLogsArgs(tags=tags), opts=opts)
    for index, layer in enumerate(cfg.layers):
        providers = [built.layers[name] for name in provided_by(layer, cfg.layers[:index])]
        args = replace(layer.args, provided_by=providers, tags=tags, lock_file=layer_lock(layer), access_logs=logs)
        built.layers[layer.name] = LayerBundle(layer.name, args, opts=opts)
    watched = Watched()
    pipelines = {entry.name: entry for entry in cfg.pipelines}
    computations = {entry.name: entry for entry in cfg.computations}
    for kind, name in build_sequence(cfg):
        if kind == "pipeline":
            pipe = _build_pipeline(pipelines[name], built, tags, logs, opts)
            built.pipelines[name] = pipe
            watched += pipe.watched()
        else:
            comp = _build_computation(computations[name], built, tags, logs, opts)
            built.computations[name] = comp
            watched += comp.watched()
    components: list[LayerBundle | ScheduledComputation | EtlPipeline] = [
        *built.layers.values(), *built.computations.values(), *built.pipelines.values()]
    built.estimates = [*(c.cost_estimate(cfg.region) for c in components), estimate_dashboard(cfg.region)]
    watched = Watched(watched.functions, watched.state_machines, watched.queues, built.estimates)
    built.dashboard = create_dashboard(f"sciflow-{stack}", dashboard_name=scoped_name(project, stack),
                                       region=cfg.region, watched=watched, budget_usd_month=cfg.budget_usd_month,
                                       opts=opts)
    return built


def _build_pipeline(entry: PipelineEntry, built: Stack, tags: Mapping[str, str], logs: AccessLogs,
                    opts: pulumi.ResourceOptions) -> EtlPipeline:
    layers = _layer_arns(entry, built)
    return EtlPipeline(entry.name, replace(entry.args, layers=layers, tags=tags, access_logs=logs), opts=opts,
                       producers=built.output)


def _build_computation(entry: ComputationEntry, built: Stack, tags: Mapping[str, str], logs: AccessLogs,
                       opts: pulumi.ResourceOptions) -> ScheduledComputation:
    layers = _layer_arns(entry, built)
    return ScheduledComputation(entry.name, replace(entry.args, layers=layers, tags=tags, access_logs=logs), opts=opts,
                                producers=built.output, inboxes=built.inbox)


def _layer_arns(entry: PipelineEntry | ComputationEntry, built: Stack) -> list[pulumi.Output[str]]:
    """The ARNs of the entry's stack layers, after checking they fit one function with its code."""
    check_function_size(entry.name, [str(n) for n in entry.args.layers], built.layers)
    return [built.layers[str(n)].arn for n in entry.args.layers]
