"""Stack configuration: the one module that reads ``pulumi.Config``.

The stack's schema is the component Args themselves: a ``sciflow:layers[i]`` entry is a ``name`` plus the
config keys of :class:`~components.layer_bundle.LayerBundleArgs`, a ``sciflow:computations[i]`` entry a
``name`` plus those of :class:`~components.scheduled_computation.ScheduledComputationArgs`, a
``sciflow:pipelines[i]`` entry a ``name`` plus those of :class:`~components.etl_pipeline.EtlPipelineArgs`.
:func:`components.schema.from_config` reads them generically, and every error names the key path and the bad
value, e.g.::

    sciflow:computations[0].timezone: 'Asia/Kolkatta' is not an IANA time zone; did you mean 'Asia/Kolkata'?

Components never read configuration or the environment: ``components/stack.py`` hands these Args down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.connections import (
    CycleError,
    InputArgs,
    Location,
    OutputArgs,
    build_order,
    resolve_inputs,
    resolve_outputs,
    resolve_sources,
)
from components.etl_pipeline import EtlPipelineArgs
from components.functions import runtime_knob
from components.layer_bundle import LayerBundleArgs
from components.scheduled_computation import ScheduledComputationArgs, artifact_prefix
from components.schema import ConfigError, camel, from_config, knob, validate
from handlers.etl.settings import published_prefix
from handlers.runtime import validators as v

NAMESPACE = "sciflow"
ROOT = f"{NAMESPACE}:"

__all__ = [
    "ComputationEntry",
    "ConfigError",
    "LayerEntry",
    "PipelineEntry",
    "StackConfig",
    "load",
    "parse_stack_config",
]


@dataclass(frozen=True)
class LayerEntry:
    """One ``sciflow:layers[i]``: a name and the layer's Args."""

    name: str = knob(check=v.name, doc="layer name (what computations and pipelines list in `layers`)")
    args: LayerBundleArgs = knob(inline=True, doc="the LayerBundle's config keys")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class ComputationEntry:
    """One ``sciflow:computations[i]``: a name and the computation's Args (``layers`` holds layer names)."""

    name: str = knob(check=v.name, doc="computation name (resource names, ledger, logs)")
    args: ScheduledComputationArgs = knob(inline=True, doc="the ScheduledComputation's config keys")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class PipelineEntry:
    """One ``sciflow:pipelines[i]``: a name and the pipeline's Args (``layers`` holds layer names)."""

    name: str = knob(check=v.name, doc="pipeline name (resource names, the root of every key it writes)")
    args: EtlPipelineArgs = knob(inline=True, doc="the EtlPipeline's config keys")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class StackConfig:
    """The ``sciflow:*`` keys of one stack (and ``aws:region``)."""

    region: str = knob(check=v.aws_region, key=None, doc="`aws:region` (required)")
    tags: Mapping[str, str] = knob({}, check=v.mapping(v.text, v.input_text),
                                   doc="extra tags; `project` and `stack` are always set (provider default tags "
                                       "and on every resource)")
    budget_usd_month: float = knob(100.0, check=v.number_at_least(0),
                                   doc="monthly budget for the advisory budget check")
    runtime: str = runtime_knob(doc="the runtime of every layer, computation and pipeline that sets none "
                                    "(`pulumi config set sciflow:runtime python3.12`; `make demo RUNTIME=python3.12`)")
    layers: tuple[LayerEntry, ...] = knob(
        (), doc="`name` + the LayerBundle keys; a layer with `exclude` is smoke-tested with the earlier layers "
                "of its runtime/arch")
    computations: tuple[ComputationEntry, ...] = knob(
        (), doc="`name` + the ScheduledComputation keys; `layers` lists layer names")
    pipelines: tuple[PipelineEntry, ...] = knob((), doc="`name` + the EtlPipeline keys; `layers` lists layer names")

    def __post_init__(self) -> None:
        validate(self)

    def layer(self, name: str) -> LayerEntry:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def parse_stack_config(raw: Mapping[str, Any], *, region: str | None) -> StackConfig:
    """Validate the ``sciflow:*`` config of one stack (keys without the namespace, camelCase).

    Parameters
    ----------
    raw:
        e.g. ``{"layers": [...], "computations": [...], "pipelines": [...], "tags": {...}}``; values may be
        JSON-decoded structures or strings (as ``pulumi.Config.get`` returns them).
    region:
        the stack's ``aws:region``.

    Example
    -------
    >>> parse_stack_config({"budgetUsdMonth": 10}, region="eu-west-1").budget_usd_month
    10.0
    >>> parse_stack_config({"computations": [{"name": "job", "handler": "a.b", "schedule": "cron(99 16 * * ? *)"}]},
    ...                    region="eu-west-1")
    Traceback (most recent call last):
    ...
    components.schema.ConfigError: sciflow:computations[0].schedule: 'cron(99 16 * * ? *)': minutes 99 is \
outside 0..59
    """
    if not region:
        raise ConfigError("aws:region", "is required (pulumi config set aws:region <region>)")
    try:
        v.aws_region(region)
    except v.Invalid as err:
        raise ConfigError("aws:region", err.message) from None
    cfg = from_config(StackConfig, _with_default_runtime(raw), root=ROOT, region=region)
    for key in ("layers", "computations", "pipelines"):
        _unique(getattr(cfg, key), key)
    layers = {layer.name: layer.args for layer in cfg.layers}
    users: tuple[tuple[str, Sequence[ComputationEntry | PipelineEntry]], ...] = (
        ("computations", cfg.computations), ("pipelines", cfg.pipelines))
    for key, entries in users:
        for i, entry in enumerate(entries):
            _check_layers(entry, layers, f"{ROOT}{key}[{i}]")
    _check_connections(cfg)
    return cfg


def _with_default_runtime(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``raw`` with ``runtime`` filled in on every layer, computation and pipeline entry that has none."""
    runtime = raw.get("runtime")
    if runtime is None:
        return raw
    try:
        v.runtime(runtime)
    except v.Invalid as err:
        raise ConfigError(f"{ROOT}runtime", err.message) from None
    out = dict(raw)
    for key in ("layers", "computations", "pipelines"):
        entries = out.get(key)
        if isinstance(entries, Sequence) and not isinstance(entries, str):
            out[key] = [{"runtime": runtime, **entry} if isinstance(entry, Mapping) and entry.get("runtime") is None
                        else entry for entry in entries]
    return out


def _check_connections(cfg: StackConfig) -> None:
    """Every connection names a component of this stack and stays inside its output (or inbox), and neither the
    data flow nor the build order has a cycle."""
    outputs = {f"pipeline:{p.name}": published_prefix(p.name) for p in cfg.pipelines}
    outputs |= {f"computation:{c.name}": artifact_prefix(c.name, c.args) for c in cfg.computations}
    inboxes = {f"pipeline:{p.name}": p.args.input_prefix for p in cfg.pipelines}

    def lookup(prefixes: Mapping[str, str], role: str) -> Callable[[str], Location]:
        return lambda producer: Location("", "", prefixes[producer], producer=producer, role=role)

    entries: list[tuple[str, ComputationEntry | PipelineEntry]] = [
        *((f"{ROOT}computations[{i}].", c) for i, c in enumerate(cfg.computations)),
        *((f"{ROOT}pipelines[{i}].", p) for i, p in enumerate(cfg.pipelines))]
    for root, entry in entries:
        try:
            if isinstance(entry, ComputationEntry):
                resolve_inputs(entry.args.inputs, lookup(outputs, "output"))
                resolve_outputs(entry.args.outputs, lookup(inboxes, "inbox"))
            else:
                resolve_sources(entry.args.sources, lookup(outputs, "output"))
        except v.Invalid as err:
            raise ConfigError(v.render_path(_camel_parts(err.parts), root), err.message) from None
    build_sequence(cfg)


def _camel_parts(parts: Sequence[str | int]) -> tuple[str | int, ...]:
    return tuple(camel(p) if isinstance(p, str) else p for p in parts)


def _edges(cfg: StackConfig) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    """``(build, data)``: per node (``pipeline:<name>`` / ``computation:<name>``) the nodes it must be built
    after, and the nodes its data comes from, each with the config key that says so."""
    build: dict[str, list[tuple[str, str]]] = {}
    data: dict[str, list[tuple[str, str]]] = {}
    for p in cfg.pipelines:
        build[f"pipeline:{p.name}"], data[f"pipeline:{p.name}"] = [], []
    for i, c in enumerate(cfg.computations):
        node = f"computation:{c.name}"
        build.setdefault(node, [])
        data.setdefault(node, [])
        for j, item in enumerate(c.args.inputs):
            if isinstance(item, InputArgs) and item.producer:
                build[node].append((item.producer, f"{ROOT}computations[{i}].inputs[{j}]"))
                data[node].append((item.producer, f"{ROOT}computations[{i}].inputs[{j}]"))
        for j, out in enumerate(c.args.outputs):
            if isinstance(out, OutputArgs) and out.producer:
                build[node].append((out.producer, f"{ROOT}computations[{i}].outputs[{j}]"))
                data.setdefault(out.producer, []).append((node, f"{ROOT}computations[{i}].outputs[{j}]"))
    for i, p in enumerate(cfg.pipelines):
        node = f"pipeline:{p.name}"
        for j, item in enumerate(p.args.sources):
            if isinstance(item, InputArgs) and item.producer:
                build[node].append((item.producer, f"{ROOT}pipelines[{i}].sources[{j}]"))
                data[node].append((item.producer, f"{ROOT}pipelines[{i}].sources[{j}]"))
    return build, data


def build_sequence(cfg: StackConfig) -> list[tuple[str, str]]:
    """``(kind, name)`` of every pipeline and computation, each after the components it needs (what it reads,
    the inboxes it writes into). A cycle in the data flow (``a`` reads ``p``, which ingests what ``a`` writes)
    or in that order is an error naming the config key of its first link."""
    build, data = _edges(cfg)
    for deps in (data, build):
        try:
            order = build_order({node: [dep for dep, _ in edges] for node, edges in deps.items()})
        except CycleError as err:
            first, then = err.members[0], err.members[1]
            key = next(path for dep, path in deps[first] if dep == then)
            names = " -> ".join(member.partition(":")[2] for member in err.members)
            raise ConfigError(key, f"{names} is a cycle") from None
    return [(kind, name) for kind, _, name in (node.partition(":") for node in order)]


def _unique(entries: Sequence[LayerEntry | ComputationEntry | PipelineEntry], key: str) -> None:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            raise ConfigError(f"{ROOT}{key}[{i}].name", f"{entry.name!r} is used twice")
        seen.add(entry.name)


def _check_layers(entry: ComputationEntry | PipelineEntry, layers: Mapping[str, LayerBundleArgs], path: str) -> None:
    """Every listed layer is declared and built for the function's runtime and architecture."""
    for j, layer_name in enumerate(entry.args.layers):
        layer = layers.get(str(layer_name))
        if layer is None:
            raise ConfigError(f"{path}.layers[{j}]", f"{layer_name!r} is not a layer declared in {ROOT}layers"
                                                      f"{v.closest(str(layer_name), layers)}")
        built_for, runs_on = (layer.runtime, layer.architecture), (entry.args.runtime, entry.args.architecture)
        if built_for != runs_on:
            raise ConfigError(f"{path}.layers[{j}]",
                              f"layer {layer_name!r} is built for {'/'.join(built_for)} but the function runs "
                              f"{'/'.join(runs_on)} (set runtime/architecture alike)")


def load() -> StackConfig:
    """Read ``sciflow:*`` and ``aws:region`` from the running stack (the only place config is read)."""
    import json

    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for key in sorted(_configured_keys()):
        text = config.get(key)
        if text is None:
            continue
        try:
            raw[key] = json.loads(text)
        except json.JSONDecodeError:
            raw[key] = text
    return parse_stack_config(raw, region=pulumi.Config("aws").get("region"))


def _configured_keys() -> set[str]:
    """The ``sciflow:*`` keys the engine passed (explicitly set or through ``PULUMI_CONFIG``)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    keys = set(CONFIG.get()) | set(get_config_env())
    return {key[len(ROOT):].removeprefix("config:") for key in keys if key.startswith(ROOT)}
