"""Run sciflow policies on props factories through the real analyzer servicer (awsguard-style tests)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from policy.check import Analyzer, Violation
from policy.policies import BY_NAME

__all__ = [
    "UNKNOWN_ARCHIVE_VALUE", "UNKNOWN_ARRAY_VALUE", "UNKNOWN_BOOLEAN_VALUE", "UNKNOWN_NUMBER_VALUE",
    "UNKNOWN_OBJECT_VALUE", "UNKNOWN_STRING_VALUE", "Res", "messages", "run_resource", "run_stack", "urn",
    "with_change", "without",
]

PROJECT, STACK = "sciflow", "test"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(dict(serialize_properties(props)))
    return out


def run_resource(policy: str, type_: str, props: Mapping[str, Any], *, config: Mapping[str, Any] | None = None,
                 name: str = "res", provider: Mapping[str, Any] | None = None) -> list[Violation]:
    """Violations of one policy (by name) for one resource, via ``_PolicyAnalyzerServicer.Analyze``."""
    analyzer = Analyzer([BY_NAME[policy]], config={policy: config} if config else None)
    kwargs: dict[str, Any] = {"type": type_, "properties": _struct(props), "urn": urn(type_, name), "name": name}
    if provider is not None:
        kwargs["provider"] = proto.AnalyzerProviderResource(
            type="pulumi:providers:aws", properties=_struct(provider), urn=urn("pulumi:providers:aws", "p"),
            name="p")
    return analyzer.analyze(proto.AnalyzeRequest(**kwargs))


@dataclass
class Res:
    """A stack resource: its outputs and the inputs' property dependencies (by resource name)."""

    type: str
    name: str
    props: dict[str, Any]
    deps: dict[str, list[str]] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return urn(self.type, self.name)


def run_stack(policy: str, resources: Sequence[Res], *, config: Mapping[str, Any] | None = None
              ) -> list[Violation]:
    """Violations of one stack policy, via ``_PolicyAnalyzerServicer.AnalyzeStack``."""
    by_name = {r.name: r for r in resources}
    analyzer = Analyzer([BY_NAME[policy]], config={policy: config} if config else None)
    entries = []
    for r in resources:
        deps = {k: proto.AnalyzerPropertyDependencies(urns=[by_name[n].urn for n in names])
                for k, names in r.deps.items()}
        entries.append(proto.AnalyzerResource(type=r.type, properties=_struct(r.props), urn=r.urn, name=r.name,
                                              propertyDependencies=deps))
    return analyzer.analyze_stack(proto.AnalyzeStackRequest(resources=entries))


def messages(violations: Sequence[Violation]) -> str:
    return "\n".join(v.message for v in violations)


def with_change(props: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``props`` with ``a.b.0.c`` set to ``value``."""
    out = copy.deepcopy(dict(props))
    node: Any = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def without(props: Mapping[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(props))
    node: Any = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        del node[int(keys[-1])]
    else:
        del node[keys[-1]]
    return out
