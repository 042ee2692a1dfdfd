"""Hand-made resource graphs for the deploy and delivery tests (no program run)."""

from __future__ import annotations

from typing import Any

from synth.graph import Graph, Resource

REGION = "ap-south-1"
STACK = "urn:pulumi:t::p::pulumi:pulumi:Stack::p-t"


def res(type_: str, name: str, inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None, *,
        custom: bool = True, deps: list[str] | None = None, id_: str | None = None) -> Resource:
    """One resource under the stack; its outputs are its inputs plus ``outputs``."""
    inputs = inputs or {}
    return Resource(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, parent=STACK, custom=custom,
                    id=id_ if id_ is not None else name, inputs=inputs, outputs={**inputs, **(outputs or {})},
                    dependencies=deps or [])


def graph(*resources: Resource) -> Graph:
    """A graph of ``resources`` under a stack resource (project ``p``, stack ``t``)."""
    stack = Resource(urn=STACK, type="pulumi:pulumi:Stack", name="p-t", parent=None, custom=False, id=None,
                     inputs={}, outputs={})
    return Graph(project="p", stack="t", region=REGION, resources=[stack, *resources])
