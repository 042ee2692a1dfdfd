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
from policy.policies._core import AnyPolicy

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


def run_resource(policy: str | AnyPolicy, type_: str, props: Mapping[str, Any], *,
                 config: Mapping[str, Any] | None = None, name: str = "res",
                 provider: Mapping[str, Any] | None = None) -> list[Violation]:
    """Violations of one policy (by name, or a policy object) for one resource, via
    ``_PolicyAnalyzerServicer.Analyze``."""
    obj = BY_NAME[policy] if isinstance(policy, str) else policy
    analyzer = Analyzer([obj], config={obj.name: config} if config else None)
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


# --------------------------------------------------------------------------- table-driven resource cases
@dataclass
class Case:
    """One resource policy's awsguard-style cases.

    ``happy`` passes; each ``failing`` entry changes one property (``path``, ``value``) and must produce
    exactly one violation at the policy's level whose message contains ``expect``; ``missing`` removes one
    property (``expect`` None means it still passes); ``unknown`` makes one property unknown and says whether
    the policy then passes (``"pass"``) or gets the engine's can't-run note (``"note"``); ``config`` is a
    ``(config, path, value, expected violation count)`` override case.
    """

    policy: str
    type: str
    happy: dict[str, Any]
    failing: list[tuple[str, Any, str]]
    missing: tuple[str, str | None]
    unknown: tuple[str, str, str]
    config: tuple[dict[str, Any], str, Any, int] | None = None

    def __str__(self) -> str:
        return self.policy


def ids(cases: Sequence[Case]) -> list[str]:
    return [c.policy for c in cases]


def expand_failing(cases: Sequence[Case]) -> list[tuple[Case, str, Any, str]]:
    return [(c, path, value, expect) for c in cases for path, value, expect in c.failing]


def failing_ids(cases: Sequence[Case]) -> list[str]:
    return [f"{c.policy}:{path}={str(value)[:30]}" for c in cases for path, value, _ in c.failing]


def check_happy(case: Case) -> None:
    found = run_resource(case.policy, case.type, case.happy)
    assert found == [], messages(found)


def check_failing(case: Case, path: str, value: Any, expect: str) -> None:
    found = run_resource(case.policy, case.type, with_change(case.happy, path, value))
    level = BY_NAME[case.policy].enforcement_level
    assert len(found) == 1, messages(found)
    assert found[0].policy == case.policy
    assert found[0].enforcement == (level.value if level else "advisory")
    assert found[0].message.startswith(BY_NAME[case.policy].description + "\n")
    assert expect in found[0].message, found[0].message


def check_missing(case: Case) -> None:
    path, expect = case.missing
    found = run_resource(case.policy, case.type, without(case.happy, path))
    if expect is None:
        assert found == [], messages(found)
    else:
        assert len(found) == 1 and expect in found[0].message, messages(found)


def check_unknown(case: Case) -> None:
    path, sentinel, outcome = case.unknown
    found = run_resource(case.policy, case.type, with_change(case.happy, path, sentinel))
    if outcome == "pass":
        assert found == [], messages(found)
    else:
        assert len(found) == 1, messages(found)
        assert found[0].enforcement == "advisory"
        assert f"can't run policy '{case.policy}'" in found[0].message
        assert "can't be known during preview" in found[0].message
        assert found[0].urn == urn(case.type, "res")


def check_config(case: Case) -> None:
    assert case.config is not None
    config, path, value, count = case.config
    props = with_change(case.happy, path, value) if path else case.happy
    default = run_resource(case.policy, case.type, props)
    tuned = run_resource(case.policy, case.type, props, config=config)
    assert len(tuned) == count, messages(tuned)
    assert len(default) != count, "the config override must change the outcome"
