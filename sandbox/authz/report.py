"""The access report: per principal, what its policies grant, what the scenarios used, what was denied, and
which granted statements no scenario exercised (each with the reason it stays).

:func:`access_report` builds the JSON shape ``python -m sandbox access --json`` prints::

    {"enforced": true, "calls": N, "denied": [{"principal", "action", "resource", "message"}],
     "principals": [{"name", "arn", "kind", "granted": [{"sid", "policy", "actions", "resources"}],
                     "used": [{"action", "resource", "sid"}], "denied": [...],
                     "unused": [{"sid", "reason", "basis"}], "stale_reasons": [sid, ...]}]}

A statement counts as used when it allowed at least one recorded request. An unused one is explained by
:func:`sandbox.authz.reasons.unused_reason` (a general rule about what the embedded AWS does not emulate, or
the registry keyed by principal kind and ``Sid``), shown as ``{"sid", "reason", "basis"}``; one without a
reason is reported with ``reason: null`` — a grant to remove, or a scenario to add. A registry entry whose
grant *was* used is listed under ``stale_reasons`` (the entry can go).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.authz.enforce import CallRecord
from sandbox.authz.policy import PolicyDocument
from sandbox.authz.reasons import REASONS, RoleFacts, unused_reason


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def granted_statements(policies: Iterable[PolicyDocument]) -> list[dict[str, Any]]:
    """Every Allow statement of a principal's identity policies."""
    return [grant for grant, _ in _allow_statements(policies)]


def _allow_statements(policies: Iterable[PolicyDocument]) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    out: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for policy in policies:
        for index, statement in enumerate(policy.statements()):
            if statement.get("Effect") != "Allow":
                continue
            out.append(({"sid": statement.get("Sid") or str(index), "policy": policy.name,
                         "actions": _listed(statement.get("Action") or statement.get("NotAction")),
                         "resources": _listed(statement.get("Resource") or statement.get("NotResource"))},
                        statement))
    return out


def principal_report(name: str, arn: str, policies: Sequence[PolicyDocument],
                     records: Sequence[CallRecord], facts: RoleFacts | None = None) -> dict[str, Any]:
    """One principal's entry (see the module docstring)."""
    mine = [r for r in records if r.principal == arn and r.service != "sts"]
    used_refs = {(ref.policy, ref.sid or str(ref.index)) for r in mine if r.allowed for ref in r.statements}
    used: dict[tuple[str, str], str] = {}
    for record in mine:
        if record.allowed:
            refs = [ref for ref in record.statements if ref.policy.startswith(arn.rsplit("/", 1)[-1] + ":")]
            used.setdefault((record.action, record.resource), (refs[0].sid or str(refs[0].index)) if refs else "")
    facts = facts or RoleFacts()
    statements = _allow_statements(policies)
    unused = []
    for grant, statement in statements:
        if (grant["policy"], grant["sid"]) not in used_refs:
            basis, reason = unused_reason(statement, facts)
            unused.append({"sid": grant["sid"], "reason": reason, "basis": basis})
    stale = sorted({g["sid"] for g, _ in statements
                    if (g["policy"], g["sid"]) in used_refs and (facts.kind, g["sid"]) in REASONS})
    return {
        "name": name, "arn": arn, "kind": facts.kind, "granted": [g for g, _ in statements],
        "used": [{"action": a, "resource": r, "sid": sid} for (a, r), sid in sorted(used.items())],
        "denied": [{"action": r.action, "resource": r.resource, "message": r.message} for r in mine if not r.allowed],
        "unused": unused,
        "stale_reasons": stale,
    }


def access_report(records: Sequence[CallRecord], principals: Mapping[str, tuple[str, Sequence[PolicyDocument]]],
                  *, enforced: bool, facts: Mapping[str, RoleFacts] | None = None) -> dict[str, Any]:
    """The whole report; ``principals`` maps role name -> (role ARN, its identity policies), ``facts`` role
    name -> what the general rules need (:class:`~sandbox.authz.reasons.RoleFacts`)."""
    denied = [{"principal": r.principal, "action": r.action, "resource": r.resource, "message": r.message}
              for r in records if not r.allowed]
    return {
        "enforced": enforced,
        "calls": sum(1 for r in records if r.service != "sts"),
        "denied": denied,
        "principals": [principal_report(name, arn, policies, records, (facts or {}).get(name))
                       for name, (arn, policies) in sorted(principals.items())],
    }


def problems(report: Mapping[str, Any]) -> list[str]:
    """What makes ``python -m sandbox access`` exit 1: denials, unused grants without a reason, scenarios that
    did not end as expected (empty when least privilege is proven)."""
    found = [f"denied: {d['message']}" for d in report["denied"]]
    found += [f"{p['name']}: {u['sid']} is granted but no scenario used it and it has no reason"
              for p in report["principals"] for u in p["unused"] if not u["reason"]]
    found += [f"scenario {o['scenario']} of {o['component']}: {o['actual']}, expected {o['expected']}"
              for o in report.get("scenarios", []) if not o["ok"]]
    return found


def render_text(report: Mapping[str, Any]) -> str:
    """The report for a terminal: one block per principal."""
    lines = [f"IAM enforced: {report['enforced']}   calls authorized: {report['calls']}   "
             f"denied: {len(report['denied'])}"]
    for outcome in report.get("scenarios", []):
        verdict = "ok" if outcome["ok"] else f"UNEXPECTED (expected {outcome['expected']})"
        lines.append(f"scenario {outcome['scenario']} {outcome['component']}: {outcome['actual']}  {verdict}")
    for principal in report["principals"]:
        lines.append("")
        kind = f"  [{principal['kind']}]" if principal.get("kind") else ""
        lines.append(f"{principal['name']}  ({principal['arn']}){kind}")
        for grant in principal["granted"]:
            lines.append(f"  granted {grant['sid']}: {', '.join(grant['actions'])} on {', '.join(grant['resources'])}")
        for use in principal["used"]:
            lines.append(f"  used    {use['action']} {use['resource']}  [{use['sid']}]")
        for deny in principal["denied"]:
            lines.append(f"  DENIED  {deny['action']} {deny['resource']}")
        for unused in principal["unused"]:
            reason = unused["reason"] or "NO REASON: remove the grant or add a scenario that uses it"
            lines.append(f"  unused  {unused['sid']}: {reason}")
        for sid in principal.get("stale_reasons", []):
            lines.append(f"  note    {sid}: used, so its entry in sandbox.authz.reasons.REASONS can go")
    return "\n".join(lines)


def dumps(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False)
