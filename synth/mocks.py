"""The answers Pulumi's mock runtime gives a program: a generic, rule-based answer for every resource type and
data source, plus a plug-in point for exact per-type answers.

Design
------
``policy.check`` must synthesize any program offline without the sandbox, and its policies need realistic
values: a bucket's ``id`` equal to its name, ARNs in the format of their service, account ``123456789012``, the
stack's region. So the answer for a type the mocks were not told about is derived by rule:

* **Outputs** start as the inputs (camelCase, nested), plus ``tagsAll`` = ``tags``.
* **Physical name**: the type's naming property — ``name``, or the one the SDK class declares for it
  (``bucket`` for a Bucket, ``layerName``, ``dashboardName`` ...; see :mod:`synth.schema`) — from the input
  or, like Pulumi's auto-naming, ``<logical>-<7 hex>`` with the suffix derived from the stack, type and
  logical name, so every synth of the same program gives the same names (``namePrefix`` is honoured).
* **ID**: the physical name (the import ID of most AWS types), else the auto-name; the URL or ARN for the
  types whose provider ID is that (:data:`synth.arns.ID_OUTPUT`).
* **ARN** (``arn`` and ``<name>Arn``, when the type declares one): :func:`synth.arns.arn_for`, AWS's format for
  the service, never a wildcard; so IAM documents that embed ARNs of any type stay *known* and decidable.
* A few other computed identifiers programs pass around (a queue's ``url``, a function's ``invokeArn`` ...,
  :data:`synth.arns.EXTRA_OUTPUTS`). A deprecated alias type (``BucketV2``) gets its current type's ARN, ID
  and identifiers by rule. Other computed outputs are left out: like in a real ``pulumi preview``
  they are unknown to the program.

Data sources (``Mocks.call``): caller identity, region, partition and availability zones answer like AWS for
the stack; ``aws.iam.get_policy_document`` is computed for real from its arguments (:mod:`synth.policy_document`);
any other data source gets its arguments echoed, an ``id`` and an ARN by rule, and is recorded in
:attr:`AwsMocks.notes` (its other fields cannot be known offline). A ``StackReference`` reads as a stack with no
outputs (noted too): ``get_output`` gives ``None``, a known value, so nothing built from it turns unknown.

A caller with better knowledge plugs it in: ``AwsMocks(answers={type_token: answer})``. The sandbox registers
its exact answers for the types it deploys (``sandbox.services``), consistent with the embedded AWS (moto):
KMS key UUIDs, a queue's URL as its ID, ``role:policy`` IDs ... An answer receives a :class:`MockContext`, the
``MockResourceArgs`` and the outputs (inputs + ``tagsAll``) to complete, and returns the ID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from synth.arns import EXTRA_OUTPUTS, ID_OUTPUT, arn_for
from synth.policy_document import policy_document
from synth.schema import canonical, lower_first, output_names, result_names, split_token

ACCOUNT_ID = "123456789012"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


def suffix(*parts: str, length: int = 7) -> str:
    """A deterministic hex suffix (Pulumi's auto-names end in 7 random hex digits; ours are derived)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class MockContext:
    """The account, region and stack an answer is given for, with the naming helpers answers share."""

    stack: str
    region: str
    account: str = ACCOUNT_ID

    def autoname(self, typ: str, name: str, *, max_len: int = 64, lower: bool = False) -> str:
        base = name.lower() if lower else name
        return f"{base[: max_len - 8]}-{suffix(self.stack, typ, name)}"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:"
                f"{resource}")


ResourceAnswer = Callable[[MockContext, MockResourceArgs, dict[str, Any]], str]
CallAnswer = Callable[[MockContext, MockCallArgs], dict[str, Any]]


def name_key(token: str, outputs: Mapping[str, Any]) -> str | None:
    """The property that holds a resource's physical name, from what the SDK class declares."""
    names = output_names(token)
    if names is None:
        return "name" if "name" in outputs else None
    if "name" in names:
        return "name"
    # the class name, or its current type's for a deprecated alias (BucketV2 names itself by ``bucket``)
    for cls in dict.fromkeys(lower_first(split_token(t)[2]) for t in (token, canonical(token))):
        if cls in names:
            return cls
        for prop in sorted(names):
            if prop.endswith("Name") and len(prop) > 4 and cls.startswith(prop[:-4]):
                return prop
    return None


def generic_answer(m: MockContext, args: MockResourceArgs, out: dict[str, Any]) -> str:
    """The rule-based answer (see the module docstring); completes ``out`` and returns the ID."""
    token = args.typ
    key = name_key(token, out)
    physical: str | None = None
    if key is not None:
        value = out.get(key)
        if isinstance(value, str) and value:
            physical = value
        else:
            prefix = out.get("namePrefix") if key == "name" else None
            lower = split_token(token)[1] == "s3"
            physical = (f"{prefix}{suffix(m.stack, token, args.name, length=26)}" if isinstance(prefix, str)
                        else m.autoname(token, args.name, lower=lower, max_len=63 if lower else 64))
            out[key] = physical
    ident = physical or m.autoname(token, args.name)
    names = output_names(token)
    if token.startswith("aws:") and (names is None or "arn" in names):
        out.setdefault("arn", arn_for(token, ident, region=m.region, account=m.account))
    if key is not None and key.endswith("Name") and names is not None and f"{key[:-4]}Arn" in names:
        out.setdefault(f"{key[:-4]}Arn", arn_for(token, ident, region=m.region, account=m.account))
    for prop, template in EXTRA_OUTPUTS.get(canonical(token), {}).items():
        out.setdefault(prop, template.format(r=m.region, a=m.account, n=ident, arn=out.get("arn", "")))
    by = ID_OUTPUT.get(canonical(token))
    return str(out[by]) if by and out.get(by) else ident


# --------------------------------------------------------------------------- data sources
def _caller_identity(m: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return {"accountId": m.account, "arn": f"arn:aws:iam::{m.account}:user/sciflow", "userId": "AIDASCIFLOWSANDBOX",
            "id": m.account}


def _region(m: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return {"region": m.region, "name": m.region, "id": m.region, "endpoint": f"ec2.{m.region}.amazonaws.com",
            "description": m.region}


def _partition(m: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}


def _availability_zones(m: MockContext, args: MockCallArgs) -> dict[str, Any]:
    zones = [f"{m.region}{z}" for z in "abc"]
    return {"id": m.region, "names": zones, "zoneIds": [f"{m.region[:3]}-az{i}" for i in (1, 2, 3)],
            "groupNames": [m.region], "state": args.args.get("state")}


def _policy_document(m: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return policy_document(dict(args.args))


DATA_SOURCES: dict[str, CallAnswer] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
}


def generic_call(m: MockContext, args: MockCallArgs) -> tuple[dict[str, Any], list[str]]:
    """A data source answered from its arguments: (result, the result fields that cannot be known offline)."""
    token = args.token
    fields = result_names(token)
    given = dict(args.args)
    out = {k: v for k, v in given.items() if fields is None or k in fields}
    package, module, fn = split_token(token)
    resource = f"{package}:{module}/{lower_first(fn[3:])}:{fn[3:]}" if fn.startswith("get") else token
    ident = next((str(given[k]) for k in (name_key(resource, given) or "name", "name", "arn", "id")
                  if isinstance(given.get(k), str) and given.get(k)), None)
    ident = ident or f"{fn[3:].lower() or 'data'}-{suffix(m.stack, token, repr(sorted(given.items())))}"
    for key in fields or {"id"}:
        if key in out:
            continue
        if key == "id" or key == (name_key(resource, given) or "name") or key == "name":
            out[key] = ident
        elif key == "arn":
            out[key] = given["arn"] if isinstance(given.get("arn"), str) else arn_for(
                resource, ident, region=m.region, account=m.account)
        elif key in ("region", "regionName"):
            out[key] = m.region
        elif key in ("accountId", "ownerId", "account"):
            out[key] = m.account
    unknown = sorted(set(fields or ()) - set(out))
    return out, unknown


@dataclass
class AwsMocks(Mocks):
    """Mocks answering like AWS for ``stack`` in ``region``: generic rules plus plugged-in exact answers."""

    stack: str
    region: str
    account_id: str = ACCOUNT_ID
    answers: Mapping[str, ResourceAnswer] = field(default_factory=dict)
    calls: Mapping[str, CallAnswer] = field(default_factory=dict)
    #: data sources answered by the generic rule, once each: "<token>: <fields not known offline>"
    notes: list[str] = field(default_factory=list)

    @property
    def context(self) -> MockContext:
        return MockContext(stack=self.stack, region=self.region, account=self.account_id)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = self.calls.get(args.token) or DATA_SOURCES.get(args.token)
        if answer is not None:
            return answer(self.context, args), []
        result, unknown = generic_call(self.context, args)
        self._note(f"data source {args.token}" + (f" (fields {', '.join(unknown)} not known offline)" if unknown
                                                  else ""))
        return result, []

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            # Another stack's outputs cannot be read offline: known and empty (``get_output`` gives None), so a
            # document that embeds one stays decidable instead of turning the whole value unknown.
            name = str(args.inputs.get("name") or args.name)
            self._note(f"stack reference {name} (its outputs are not known offline; read as empty)")
            return name, {"name": name, "outputs": {}, "secretOutputNames": []}
        if not args.custom:
            return "", {}
        outputs = dict(args.inputs)
        if "tags" in outputs:
            outputs["tagsAll"] = dict(outputs["tags"] or {})
        answer = self.answers.get(args.typ, generic_answer)
        return answer(self.context, args, outputs), outputs
