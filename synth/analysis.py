"""Run CrossGuard policies on a synthesized graph through ``pulumi_policy``'s own analyzer servicer.

The Pulumi CLI talks to a policy pack over gRPC; the object behind that server is
``pulumi_policy.policy._PolicyAnalyzerServicer`` (private). Calling its ``Analyze`` / ``AnalyzeStack`` with
requests built from the recorded registrations applies the real deserialization (archives, secrets, unknown
values and the unknown-checking proxy) and the real enforcement levels, without a CLI or a gRPC server.

Example
-------
With ``graph`` from :func:`synth.synth` and a pack's policies (``policy.check`` runs exactly this, tested in
tests/policy):

>>> analyzer = PackAnalyzer("pack", "0.1.0", resource_policies, stack_policies)  # doctest: +SKIP
>>> requests, stack_request = analyze_requests(graph)  # doctest: +SKIP
>>> diagnostics = [d for r in requests for d in analyzer.analyze(r)] + analyzer.analyze_stack(stack_request)
... # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from synth.graph import Graph, Resource

LEVEL_NAMES = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "remediate",
               proto.DISABLED: "disabled"}
LEVELS_BY_NAME = {name: level for level, name in LEVEL_NAMES.items()}
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"  # pulumi.runtime.rpc._special_resource_sig
_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc._special_sig_key


class PackAnalyzer:
    """A pack's policies behind ``_PolicyAnalyzerServicer`` instances, as the engine would call them.

    The servicer deserializes a resource's properties once per policy it holds, and every stack resource once
    per stack policy. So resource policies are grouped per resource type (one servicer per type, holding only
    the policies whose ``applies_to(type)`` is true; a policy without ``applies_to`` applies to every type), and
    each stack policy gets the resources of the types in its ``resource_types`` (all when empty or absent).
    Same code path, without the quadratic cost.

    ``config`` is the JSON of ``pulumi preview --policy-pack-config``; ``own_levels`` gives each policy's own
    enforcement level name, kept when its config entry only sets properties.
    """

    def __init__(self, name: str, version: str, resource_policies: Sequence[Any], stack_policies: Sequence[Any],
                 config: Mapping[str, Any] | None = None, own_levels: Mapping[str, str] | None = None) -> None:
        self.name, self.version = name, version
        self.resource_policies = list(resource_policies)
        self.stack_policies = list(stack_policies)
        self._configure = configure_request(config or {}, own_levels or {})
        self._servicers: dict[str, _PolicyAnalyzerServicer | None] = {}
        self._stack = [(p, self._servicer([p])) for p in self.stack_policies]

    def _servicer(self, policies: list[Any]) -> _PolicyAnalyzerServicer:
        servicer = _PolicyAnalyzerServicer(self.name, self.version, policies, EnforcementLevel.ADVISORY)
        servicer.Configure(self._configure, None)
        return servicer

    def servicer_for(self, resource_type: str) -> _PolicyAnalyzerServicer | None:
        if resource_type not in self._servicers:
            applicable = [p for p in self.resource_policies
                          if getattr(p, "applies_to", lambda _t: True)(resource_type)]
            self._servicers[resource_type] = self._servicer(applicable) if applicable else None
        return self._servicers[resource_type]

    def analyze(self, request: Any) -> list[Any]:
        """The diagnostics (``AnalyzeDiagnostic`` protobufs) of one ``AnalyzeRequest``."""
        servicer = self.servicer_for(request.type)
        if servicer is None:
            return []
        return list(servicer.Analyze(request, None).diagnostics)

    def analyze_stack(self, request: Any) -> list[Any]:
        """Each stack policy sees the resources of the types it reads (it ignores all others anyway)."""
        out: list[Any] = []
        for policy, servicer in self._stack:
            types = getattr(policy, "resource_types", None)
            resources = [r for r in request.resources if not types or r.type in types]
            out.extend(servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None).diagnostics)
        return out


def configure_request(config: Mapping[str, Any], own_levels: Mapping[str, str]) -> Any:
    """The ``ConfigureAnalyzerRequest`` for a ``--policy-pack-config`` JSON object."""
    request = proto.ConfigureAnalyzerRequest()
    for name, value in config.items():
        policy_config = proto.PolicyConfig()
        props = dict(value) if isinstance(value, Mapping) else {"enforcementLevel": value}
        level = props.pop("enforcementLevel", None) or own_levels.get(name) or "advisory"
        policy_config.enforcementLevel = LEVELS_BY_NAME[level]
        if props:
            policy_config.properties.update(props)
        request.policyConfig[name].CopyFrom(policy_config)
    return request


# --------------------------------------------------------------------------- memoized servicer conversions
class _MemoJsonFormat:
    """``json_format`` for the servicer with ``MessageToDict`` memoized on the message's bytes.

    The servicer converts a resource's properties Struct to a dict once per policy (and a stack resource once
    per stack policy); the conversion is a pure function and ``deserialize_properties`` builds new objects from
    its result without mutating it, so one conversion per distinct Struct gives identical inputs. Everything
    else is the real module."""

    def __init__(self) -> None:
        self._cache: dict[bytes, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(message, struct_pb2.Struct):
            return json_format.MessageToDict(message, *args, **kwargs)
        key = message.SerializeToString(deterministic=True)
        value = self._cache.get(key)
        if value is None:
            value = json_format.MessageToDict(message)
            self._cache[key] = value
        return value


def _memo_by_identity(fn: Any) -> Any:
    """``fn`` memoized on its argument's identity (the argument is kept alive, so ids are not reused)."""
    cache: dict[int, tuple[Any, Any]] = {}

    def wrapper(value: Any, *args: Any) -> Any:
        if args:
            return fn(value, *args)
        hit = cache.get(id(value))
        if hit is None or hit[0] is not value:
            hit = (value, fn(value))
            cache[id(value)] = hit
        return hit[1]

    return wrapper


@contextlib.contextmanager
def memoized_conversions() -> Iterator[None]:
    """Convert each distinct properties Struct once, not once per policy (and pause the cyclic GC).

    The servicer runs Struct -> dict (``MessageToDict``) -> deserialized values -> unknown-checking proxy for
    every policy. All three are pure; the proxy is read-only for policies that do not assign into ``props``.
    With the memo the servicer's own loop, levels, unknown handling and diagnostics are unchanged.
    """
    from pulumi_policy import policy as servicer_module

    saved = (servicer_module.json_format, servicer_module.deserialize_properties,
             servicer_module.unknown_checking_proxy)
    servicer_module.json_format = _MemoJsonFormat()
    servicer_module.deserialize_properties = _memo_by_identity(saved[1])
    servicer_module.unknown_checking_proxy = _memo_by_identity(saved[2])
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        (servicer_module.json_format, servicer_module.deserialize_properties,
         servicer_module.unknown_checking_proxy) = saved
        if gc_was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- requests from the synth graph
def strip_resource_refs(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    """Resource references (a resource passed as an input) become their id or URN, as the engine shows them."""
    if _RESOURCE_REF_SIG.encode() not in struct.SerializeToString():
        return struct

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get(_SIG_KEY) == _RESOURCE_REF_SIG:
                return value.get("id") or value.get("urn")
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = struct_pb2.Struct()
    out.update(walk(json_format.MessageToDict(struct)))
    return out


def _options(res: Resource) -> Any:
    req = res.request
    return proto.AnalyzerResourceOptions(
        parent=res.parent or "",
        protect=bool(getattr(req, "protect", False)),
        ignoreChanges=list(getattr(req, "ignoreChanges", [])),
        deleteBeforeReplace=bool(getattr(req, "deleteBeforeReplace", False)),
        deleteBeforeReplaceDefined=bool(getattr(req, "deleteBeforeReplaceDefined", False)),
        additionalSecretOutputs=list(getattr(req, "additionalSecretOutputs", [])),
    )


def _provider(res: Resource, providers: Mapping[str, Resource]) -> Any:
    ref = res.provider or (getattr(res.request, "provider", "") if res.request is not None else "")
    if not ref:
        return None
    urn = ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref
    prov = providers.get(urn)
    if prov is None or prov.request is None:
        return None
    return proto.AnalyzerProviderResource(type=prov.type, properties=strip_resource_refs(prov.request.object),
                                          urn=prov.urn, name=prov.name)


def _struct(value: Any) -> struct_pb2.Struct:
    return value if isinstance(value, struct_pb2.Struct) else struct_pb2.Struct()


def analyze_requests(graph: Graph) -> tuple[list[Any], Any]:
    """``AnalyzeRequest`` per custom resource and one ``AnalyzeStackRequest``, built from the registrations."""
    resources = list(graph.resources)
    providers = {r.urn: r for r in resources if r.type.startswith("pulumi:providers:")}
    requests = []
    stack_resources = []
    for res in resources:
        if res.request is None:
            continue
        provider = _provider(res, providers)
        options = _options(res)
        if res.custom and not res.type.startswith("pulumi:providers:"):
            kwargs: dict[str, Any] = {"type": res.type, "properties": strip_resource_refs(_struct(res.request.object)),
                                      "urn": res.urn, "name": res.name, "options": options}
            if provider is not None:
                kwargs["provider"] = provider
            requests.append(proto.AnalyzeRequest(**kwargs))
        outputs = _struct(res.response.object) if res.response is not None else struct_pb2.Struct()
        entry: dict[str, Any] = {
            "type": res.type, "properties": strip_resource_refs(outputs), "urn": res.urn, "name": res.name,
            "options": options, "parent": res.parent or "", "dependencies": list(res.dependencies),
            "propertyDependencies": {k: proto.AnalyzerPropertyDependencies(urns=list(v))
                                     for k, v in res.property_dependencies.items()},
        }
        if provider is not None:
            entry["provider"] = provider
        stack_resources.append(proto.AnalyzerResource(**entry))
    return requests, proto.AnalyzeStackRequest(resources=stack_resources)
