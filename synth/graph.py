"""The resource graph a synthesized program declares: what preview prints, deploy creates, the pack checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Resource:
    """One registration, as the engine saw it.

    ``inputs`` and ``outputs`` are plain Python values with camelCase keys (nested too); archives and assets stay
    ``pulumi.FileArchive`` / ``AssetArchive`` / ``FileAsset`` objects. ``request`` / ``response`` are the raw
    ``RegisterResourceRequest`` / ``RegisterResourceResponse`` protobufs, for the policy analyzer.
    """

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    id: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str | None = None
    request: Any = None
    response: Any = None
    component_outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def physical_name(self) -> str | None:
        """The name AWS knows the resource by, where it has one."""
        for key in ("bucket", "functionName", "name", "layerName"):
            value = self.outputs.get(key)
            if isinstance(value, str) and value:
                return value
        return self.id or None

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "id": self.id,
            "inputs": jsonable(self.inputs),
            "outputs": jsonable(self.outputs if self.custom else self.component_outputs),
            "dependencies": list(self.dependencies),
            "propertyDependencies": {k: list(v) for k, v in self.property_dependencies.items()},
        }


@dataclass
class Graph:
    project: str
    stack: str
    region: str
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: what the mocks could only answer in part (data sources answered by the generic rule), once each
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def get(self, urn: str) -> Resource:
        for res in self.resources:
            if res.urn == urn:
                return res
        raise KeyError(urn)

    def by_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def find(self, name: str, type: str | None = None) -> Resource:
        """The resource with logical ``name`` (and ``type``); an error when there is none or several."""
        found = [r for r in self.resources if r.name == name and (type is None or r.type == type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}" + (f" of type {type}" if type else ""))
        return found[0]

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, urn: str) -> list[Resource]:
        out: list[Resource] = []
        for child in self.children(urn):
            out.append(child)
            out.extend(self.descendants(child.urn))
        return out

    def components(self) -> list[Resource]:
        return [r for r in self.resources if not r.custom and r.type != STACK_TYPE]

    def counts_by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources if r.type != STACK_TYPE).items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "region": self.region,
            "resources": [r.to_json() for r in self.resources],
            "counts": self.counts_by_type(),
            "outputs": jsonable(self.outputs),
            "notes": list(self.notes),
        }


def jsonable(value: Any) -> Any:
    """Plain-JSON form of resolved inputs/outputs (archives and assets become ``{"archive"|"asset": ...}``)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        kind = "archive" if isinstance(value, pulumi.FileArchive) else "asset"
        return {kind: {"path": str(value.path)}}
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {"assets": {k: jsonable(v) for k, v in value.assets.items()}}}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": {"text": value.text}}
    if isinstance(value, pulumi.RemoteArchive | pulumi.RemoteAsset):
        return {"remote": value.uri}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)
