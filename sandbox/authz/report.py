"""The access report: per principal, what its policies grant, what the scenarios used, what was denied, and
which granted statements no scenario exercised (each with the reason it stays).

:func:`access_report` builds the JSON shape ``python -m sandbox access --json`` prints::

    {"enforced": true, "calls": N, "denied": [{"principal", "action", "resource", "message"}],
     "principals": [{"name", "arn", "granted": [{"sid", "policy", "actions", "resources"}],
                     "used": [{"action", "resource", "sid"}], "unused": [{"sid", "reason"}]}]}

A statement counts as used when it allowed at least one recorded request. Statements that no local scenario
can exercise say why in :data:`UNUSED_REASONS` (keyed by ``Sid``); one without a reason there is reported
with ``reason: null`` — a grant to remove, or a scenario to add.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.authz.enforce import CallRecord
from sandbox.authz.policy import PolicyDocument

# Sid -> why a granted statement is not exercised by the local scenarios (and stays)
UNUSED_REASONS: dict[str, str] = {
    "WriteOwnLogs": "the Lambda service writes the function's logs with this role on AWS; the embedded AWS "
                    "writes them itself",
    "XRayTracing": "traces are sent by the Lambda/Step Functions service with active tracing; X-Ray is not "
                   "emulated",
    "DeliverLogs": "Step Functions delivers execution logs to CloudWatch Logs on AWS; not emulated",
    "ReadBackArtifacts": "read only when a re-run finds an artifact already written (write-once artifacts "
                         "are compared by content); the e2e re-run tests exercise it",
    "ListArtifacts": "used only to tell a missing object from a refused read (S3 answers 403 for a missing key "
                     "without s3:ListBucket): a missing input or manifest; tests/e2e/test_real_s3_semantics.py "
                     "exercises it",
    "ListRawInput": "used only when the input object was deleted after its event (ingest then rejects it as "
                    "SOURCE_MISSING); tests/e2e/test_real_s3_semantics.py exercises it",
    "SendToDeadLetterQueue": "used only when an asynchronous invocation fails after its retries "
                             "(the failure scenarios exercise it)",
    "EncryptDeadLetters": "used with SendToDeadLetterQueue (KMS data key of the encrypted queue)",
    "SendFailuresToDlq": "used only when an ETL run fails (the broken-file scenario exercises it)",
    "StartMapRunChildren": "a DISTRIBUTED Map starts child executions on AWS; moto runs them in-process",
    "ManageMapRunChildren": "a DISTRIBUTED Map manages child executions on AWS; moto runs them in-process",
    "DistributedMapWriteResults": "the DISTRIBUTED Map's ResultWriter: used only for inputs past the distributed "
                                  "threshold (the e2e 650-row test exercises it)",
    "DistributedMapReadItems": "the DISTRIBUTED Map's ItemReader: used only for inputs past the distributed "
                               "threshold (the e2e 650-row test exercises it)",
    "ReadWriteStaging": "partition staging: the ingest step writes partitions only for inputs over partitionRows "
                        "(the e2e large-file tests exercise it)",
    "WriteQuarantine": "the output step merges partition rejects only for partitioned inputs with rejects "
                       "(the e2e large-file tests exercise it)",
}


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def granted_statements(policies: Iterable[PolicyDocument]) -> list[dict[str, Any]]:
    """Every Allow statement of a principal's identity policies."""
    out: list[dict[str, Any]] = []
    for policy in policies:
        for index, statement in enumerate(policy.statements()):
            if statement.get("Effect") != "Allow":
                continue
            out.append({"sid": statement.get("Sid") or str(index), "policy": policy.name,
                        "actions": _listed(statement.get("Action") or statement.get("NotAction")),
                        "resources": _listed(statement.get("Resource") or statement.get("NotResource"))})
    return out


def principal_report(name: str, arn: str, policies: Sequence[PolicyDocument],
                     records: Sequence[CallRecord]) -> dict[str, Any]:
    """One principal's entry (see the module docstring)."""
    mine = [r for r in records if r.principal == arn and r.service != "sts"]
    used_refs = {(ref.policy, ref.sid or str(ref.index)) for r in mine if r.allowed for ref in r.statements}
    used: dict[tuple[str, str], str] = {}
    for record in mine:
        if record.allowed:
            refs = [ref for ref in record.statements if ref.policy.startswith(arn.rsplit("/", 1)[-1] + ":")]
            used.setdefault((record.action, record.resource), (refs[0].sid or str(refs[0].index)) if refs else "")
    granted = granted_statements(policies)
    unused = [{"sid": g["sid"], "reason": UNUSED_REASONS.get(g["sid"])} for g in granted
              if (g["policy"], g["sid"]) not in used_refs]
    return {
        "name": name, "arn": arn, "granted": granted,
        "used": [{"action": a, "resource": r, "sid": sid} for (a, r), sid in sorted(used.items())],
        "denied": [{"action": r.action, "resource": r.resource, "message": r.message} for r in mine if not r.allowed],
        "unused": unused,
    }


def access_report(records: Sequence[CallRecord], principals: Mapping[str, tuple[str, Sequence[PolicyDocument]]],
                  *, enforced: bool) -> dict[str, Any]:
    """The whole report; ``principals`` maps role name -> (role ARN, its identity policies)."""
    denied = [{"principal": r.principal, "action": r.action, "resource": r.resource, "message": r.message}
              for r in records if not r.allowed]
    return {
        "enforced": enforced,
        "calls": sum(1 for r in records if r.service != "sts"),
        "denied": denied,
        "principals": [principal_report(name, arn, policies, records)
                       for name, (arn, policies) in sorted(principals.items())],
    }


def render_text(report: Mapping[str, Any]) -> str:
    """The report for a terminal: one block per principal."""
    lines = [f"IAM enforced: {report['enforced']}   calls authorized: {report['calls']}   "
             f"denied: {len(report['denied'])}"]
    for principal in report["principals"]:
        lines.append("")
        lines.append(f"{principal['name']}  ({principal['arn']})")
        for grant in principal["granted"]:
            lines.append(f"  granted {grant['sid']}: {', '.join(grant['actions'])} on {', '.join(grant['resources'])}")
        for use in principal["used"]:
            lines.append(f"  used    {use['action']} {use['resource']}  [{use['sid']}]")
        for deny in principal["denied"]:
            lines.append(f"  DENIED  {deny['action']} {deny['resource']}")
        for unused in principal["unused"]:
            reason = unused["reason"] or "NO REASON: remove the grant or add a scenario that uses it"
            lines.append(f"  unused  {unused['sid']}: {reason}")
    return "\n".join(lines)


def dumps(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False)
