"""The small framework every sciflow policy is built on.

A policy is a ``ResourceValidationPolicy`` / ``StackValidationPolicy`` from ``pulumi_policy`` (so the CLI and
``policy.check`` run it through the same analyzer), plus documentation fields that ``policy.docs`` renders.

Unknown values
--------------
During ``pulumi preview`` an input computed from a resource that does not exist yet is *unknown*, and reading
it through the analyzer's proxy raises ``UnknownValueError``. :class:`Ctx` catches that on every read,
returns :data:`UNKNOWN`, lets the policy check everything that *is* known, and at the end re-raises the first
unknown when the policy's ``unknown`` mode is ``"report"``. The engine turns that into a diagnostic
"can't run policy ... during preview: string value at .policy can't be known" for the resource, so a
security-critical policy never passes silently; during ``pulumi up`` the value is known before the resource is
created and the policy enforces its level then. (A *mandatory* report of "unknown" is deliberately not used:
it would block the preview phase of every first ``pulumi up``.) Mode ``"ignore"`` is for presence checks,
where an unknown value means "set to something computed", which is what the policy asks for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from ._sdk import with_aliases

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

UnknownMode = Literal["report", "ignore"]


class _Unknown:
    """The value of a property that cannot be known during preview."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return True


UNKNOWN: Any = _Unknown()
_MISSING = object()


@dataclass(frozen=True)
class Doc:
    """What ``docs/policies.md`` says about a policy (the description says what and why in one line)."""

    why: str
    fix: str
    unknown: str
    references: tuple[str, ...] = ()


def schema(**properties: dict[str, Any]) -> PolicyConfigSchema:
    """A config schema; each property carries its ``default`` (applied by :meth:`Ctx.config`)."""
    return PolicyConfigSchema(properties=dict(properties))


def _defaults(config_schema: PolicyConfigSchema | None) -> dict[str, Any]:
    if config_schema is None:
        return {}
    return {k: v["default"] for k, v in config_schema.properties.items() if "default" in v}


class Ctx:
    """A read-only view of one resource's properties that records unknowns instead of raising."""

    def __init__(self, props: Mapping[str, Any], report: ReportViolation, config: Mapping[str, Any],
                 urn: str | None = None) -> None:
        self.props = props
        self._report = report
        self.config = config
        self.urn = urn
        self.unknowns: list[UnknownValueError] = []

    def get(self, *path: str | int, default: Any = None, props: Any = None) -> Any:
        """The value at ``path`` (keys / list indexes), ``default`` if absent, :data:`UNKNOWN` if unknown."""
        node: Any = self.props if props is None else props
        for key in path:
            try:
                if isinstance(key, int):
                    if not isinstance(node, Sequence) or isinstance(node, str) or key >= len(node):
                        return default
                    node = node[key]
                else:
                    if not isinstance(node, Mapping):
                        return default
                    node = node[key]
            except KeyError:
                return default
            except UnknownValueError as err:
                self.unknowns.append(err)
                return UNKNOWN
        return default if node is None else node

    def items(self, value: Any) -> list[Any]:
        """The elements of a list property, with unknown elements as :data:`UNKNOWN`."""
        if value is None or value is UNKNOWN:
            return []
        if isinstance(value, str) or not isinstance(value, Sequence):
            return [value]
        out: list[Any] = []
        for i in range(len(value)):
            out.append(self.get(i, props=value))
        return out

    def mapping(self, value: Any) -> dict[str, Any]:
        """A plain dict of a map property, unknown entries as :data:`UNKNOWN`."""
        if not isinstance(value, Mapping):
            return {}
        return {k: self.get(k, props=value) for k in value}

    def report(self, message: str, urn: str | None = None) -> None:
        self._report(message, urn if urn is not None else self.urn)


class _Documented:
    """The sciflow attributes both policy kinds carry (read by the check, ``policy.docs`` and the analyzer)."""

    declared_types: tuple[str, ...]
    #: The declared types plus their aliases from the SDK (BucketV2 for Bucket ...): what the policy sees.
    resource_types: frozenset[str]
    doc: Doc
    unknown: UnknownMode
    area: str
    defaults: dict[str, Any]

    def _document(self, resource_types: Iterable[str], doc: Doc, unknown: UnknownMode, area: str,
                  config_schema: PolicyConfigSchema | None) -> None:
        self.declared_types = tuple(resource_types)
        self.resource_types = frozenset(with_aliases(self.declared_types))
        self.doc = doc
        self.unknown = unknown
        self.area = area
        self.defaults = _defaults(config_schema)


class SciflowResourcePolicy(_Documented, ResourceValidationPolicy):
    """A resource policy limited to ``resource_types`` (all types when empty) with sciflow docs."""

    def __init__(self, *, name: str, description: str, resource_types: Iterable[str],
                 check: Callable[[Ctx, ResourceValidationArgs], None], enforcement_level: EnforcementLevel,
                 severity: Severity, doc: Doc, unknown: UnknownMode = "report",
                 config_schema: PolicyConfigSchema | None = None, area: str = "") -> None:
        super().__init__(name=name, description=description, validate=self._validate,
                         enforcement_level=enforcement_level, config_schema=config_schema, severity=severity,
                         remediation_steps=doc.fix, tags=[area] if area else None)
        self.check = check
        self._document(resource_types, doc, unknown, area, config_schema)

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    def _validate(self, args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not self.applies_to(args.resource_type):
            return
        config = {**self.defaults, **(args.get_config() or {})}
        ctx = Ctx(args.props, report_violation, config)
        self.check(ctx, args)
        if ctx.unknowns and self.unknown == "report":
            raise ctx.unknowns[0]


class SciflowStackPolicy(_Documented, StackValidationPolicy):
    """A stack policy with sciflow docs; ``resource_types`` names the types it reads (for docs)."""

    def __init__(self, *, name: str, description: str, resource_types: Iterable[str],
                 check: Callable[[StackCtx], None], enforcement_level: EnforcementLevel, severity: Severity,
                 doc: Doc, unknown: UnknownMode = "report", config_schema: PolicyConfigSchema | None = None,
                 area: str = "") -> None:
        super().__init__(name=name, description=description, validate=self._validate,
                         enforcement_level=enforcement_level, config_schema=config_schema, severity=severity,
                         remediation_steps=doc.fix, tags=[area] if area else None)
        self.check = check
        self._document(resource_types, doc, unknown, area, config_schema)

    def _validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = {**self.defaults, **(args.get_config() or {})}
        ctx = StackCtx(args.resources, report_violation, config)
        self.check(ctx)
        if ctx.unknowns and self.unknown == "report":
            raise ctx.unknowns[0]


@dataclass(frozen=True)
class Rules:
    """What a group of policies shares, written once: the area (docs section and tag), the enforcement level,
    the unknown-value mode and the sentence ``docs/policies.md`` says about unknown values.

    ``resource(...)`` / ``stack(...)`` declare one policy with only what is its own (name, one-line
    description, types, check, severity, why, fix, references); any shared fact may be overridden per policy::

        _advice = Rules(area="reliability", level=ADVISORY, unknown_doc="An unknown value counts as set.")
        DYNAMODB_TABLE_PITR = _advice.resource(
            "dynamodb-table-pitr", "DynamoDB tables must have point-in-time recovery enabled.", (TABLE,), _pitr,
            Severity.MEDIUM, why="...", fix="point_in_time_recovery={'enabled': True}.",
            refs=("cdk-nag AwsSolutions-DDB3", "checkov CKV_AWS_28"))

    The declarations run at import, where mutation testing cannot reach them (``# pragma: no mutate``);
    ``python -m policy.docs --check`` pins every declared fact instead.
    """

    area: str
    level: EnforcementLevel
    unknown: UnknownMode = "ignore"
    unknown_doc: str = ""

    def _fields(self, name: str, description: str, types: Iterable[str], severity: Severity, why: str,
                fix: str, refs: Iterable[str], overrides: dict[str, Any]) -> dict[str, Any]:
        doc = Doc(why=why, fix=fix, unknown=overrides.pop("unknown_doc", self.unknown_doc),  # pragma: no mutate
                  references=tuple(refs))  # pragma: no mutate
        return {"name": name, "description": description, "resource_types": tuple(types),  # pragma: no mutate
                "severity": severity, "doc": doc, "area": overrides.pop("area", self.area),  # pragma: no mutate
                "enforcement_level": overrides.pop("level", self.level),  # pragma: no mutate
                "unknown": overrides.pop("unknown", self.unknown),  # pragma: no mutate
                **overrides}  # pragma: no mutate

    def resource(self, name: str, description: str, types: Iterable[str],
                 check: Callable[[Ctx, ResourceValidationArgs], None], severity: Severity, *, why: str, fix: str,
                 refs: Iterable[str] = (), **overrides: Any) -> SciflowResourcePolicy:
        """A resource policy (``overrides``: ``area``, ``level``, ``unknown``, ``unknown_doc``, ``config_schema``)."""
        fields = self._fields(name, description, types, severity, why, fix, refs, overrides)  # pragma: no mutate
        return SciflowResourcePolicy(check=check, **fields)  # pragma: no mutate

    def stack(self, name: str, description: str, types: Iterable[str], check: Callable[[StackCtx], None],
              severity: Severity, *, why: str, fix: str, refs: Iterable[str] = (), **overrides: Any
              ) -> SciflowStackPolicy:
        """A stack policy; ``types`` are the resource types it reads (same ``overrides`` as :meth:`resource`)."""
        fields = self._fields(name, description, types, severity, why, fix, refs, overrides)  # pragma: no mutate
        return SciflowStackPolicy(check=check, **fields)  # pragma: no mutate


class StackCtx(Ctx):
    """The stack view: resources by type and the links between them."""

    def __init__(self, resources: list[PolicyResource], report: ReportViolation,
                 config: Mapping[str, Any]) -> None:
        super().__init__({}, report, config)
        self.resources = resources
        self._by_type: dict[str, list[PolicyResource]] = {}
        self._of_type: dict[tuple[str, ...], list[PolicyResource]] = {}
        self._indexes: dict[tuple[int, tuple[str, ...]], _Index] = {}
        for res in resources:
            self._by_type.setdefault(res.resource_type, []).append(res)

    def of_type(self, *types: str) -> list[PolicyResource]:
        """The resources of these types and their aliases (the same list object for the same types: indexes
        key on it)."""
        cached = self._of_type.get(types)
        if cached is None:
            cached = [r for t in with_aliases(types) for r in self._by_type.get(t, ())]
            self._of_type[types] = cached
        return cached

    def prop(self, res: PolicyResource, *path: str | int, default: Any = None) -> Any:
        return self.get(*path, default=default, props=res.props)

    def index(self, candidates: list[PolicyResource], *match_props: str) -> _Index:
        """Candidates by URN and by the string values of ``match_props`` (built once per list and props)."""
        key = (id(candidates), match_props)
        idx = self._indexes.get(key)
        if idx is None:
            by_value: dict[str, list[PolicyResource]] = {}
            for cand in candidates:
                for mp in match_props:
                    v = self.prop(cand, mp)
                    if isinstance(v, str) and cand not in by_value.get(v, ()):
                        by_value.setdefault(v, []).append(cand)
            idx = _Index({c.urn: c for c in candidates}, by_value, candidates,
                         {c.urn: i for i, c in enumerate(candidates)})
            self._indexes[key] = idx
        return idx

    def linked(self, res: PolicyResource, key: str, candidates: list[PolicyResource],
               *match_props: str) -> list[PolicyResource]:
        """Candidates ``res.<key>`` points at: by property dependency (in the stack's order), else by equal known
        values (``res.<key>`` equal to a candidate's ``match_props`` output, e.g. a bucket's ``id``, in the
        order of ``res.<key>``'s values)."""
        idx = self.index(candidates, *match_props)
        found: list[PolicyResource] = []
        for dep in res.property_dependencies.get(key) or []:
            cand = idx.by_urn.get(dep.urn)
            if cand is not None and cand not in found:
                found.append(cand)
        if found or not match_props:
            # the engine gathers dependencies in a set: report them in the stack's order, the same on every run
            return sorted(found, key=lambda c: idx.position[c.urn])
        for value in self.items(self.prop(res, key)):
            if isinstance(value, str):
                for cand in idx.by_value.get(value, ()):
                    if cand not in found:
                        found.append(cand)
        return found


@dataclass(frozen=True)
class _Index:
    by_urn: dict[str, PolicyResource]
    by_value: dict[str, list[PolicyResource]]
    candidates: list[PolicyResource]
    position: dict[str, int]


# --------------------------------------------------------------------------- JSON documents
def parse_json(ctx: Ctx, value: Any, what: str, urn: str | None = None) -> Any:
    """A JSON property (IAM policy, ASL definition) as Python data; ``None`` when absent or unknown.

    A document that is already a mapping is returned as is; invalid JSON is reported (on ``urn``, the resource that
    holds the document, when a stack policy reads another resource's property)."""
    if value is None or value is UNKNOWN:
        return None
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        ctx.report(f"{what} is a {type(value).__name__}, not a JSON document.", urn)
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        ctx.report(f"{what} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}.", urn)
        return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


AnyPolicy = SciflowResourcePolicy | SciflowStackPolicy
