"""Why a granted statement may stay although no scenario of ``python -m sandbox access`` used it.

A statement no recorded request used is explained, in this order, by

1. **a general rule about the embedded AWS** (:data:`SERVICE_SIDE`): the statement only grants what an AWS
   *service* does with the role on AWS and the embedded AWS does itself or not at all — a Lambda function's
   log writes, X-Ray traces, Step Functions' log delivery, and a Distributed Map's child executions of its own
   state machine (moto runs Map iterations in-process). The rule looks at the statement's actions (and, for
   the Map, its resources and who may assume the role), never at its ``Sid``, so every new role is covered;
2. **the registry** (:data:`REASONS`), keyed by the principal's *kind* and the statement's ``Sid``: a grant
   that only an input too large for a local run, or a failure that cannot be provoked locally, would use.
   The kind is ``<Component class>/<role>`` (:func:`principal_kind`: ``EtlPipeline/output`` for the role
   ``<pipeline>-output-role`` of an ``EtlPipeline``, ``ScheduledComputation/function`` for a computation's
   ``<name>-role``), so one entry covers that role in every stack;
3. otherwise nothing: the report shows ``reason: null`` and ``sandbox access`` exits 1 — remove the grant,
   or add an error-path scenario that uses it (:mod:`sandbox.scenarios`), which beats a registry entry.

Adding a role with a grant only rare paths use (the other components' owners): add a scenario when one can
provoke the path in a few seconds; else one line here, saying which input or failure uses it and where a
test exercises it.

Example
-------
>>> service_side_reason({"Action": ["xray:PutTraceSegments"], "Resource": "*"}, RoleFacts())[:20]
'traces are sent by t'
>>> REASONS[("EtlPipeline/sfn", "DistributedMapReadItems")][:30]
'the DISTRIBUTED Map reads its '
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.authz.conditions import wildcard_match


@dataclass(frozen=True)
class RoleFacts:
    """What the general rules need to know about a role besides its policies."""

    kind: str = ""  # principal_kind(...), "" when the role is not part of the deployed program
    trusted: tuple[str, ...] = ()  # service principals its trust policy admits ("lambda.amazonaws.com" ...)
    state_machines: tuple[str, ...] = ()  # ARNs of the state machines that run as this role


def principal_kind(component_type: str, component_name: str, role_name: str) -> str:
    """``<Component class>/<role>`` for a role declared by a component (see the module docstring).

    Example
    -------
    >>> principal_kind("sciflow:index:EtlPipeline", "sensor-etl", "sensor-etl-on-failure-role")
    'EtlPipeline/on-failure'
    >>> principal_kind("sciflow:index:ScheduledComputation", "daily-stats", "daily-stats-role")
    'ScheduledComputation/function'
    """
    stem = role_name.removesuffix("-role")
    role = stem.removeprefix(component_name).lstrip("-") if stem.startswith(component_name) else stem
    return f"{component_type.rsplit(':', 1)[-1]}/{role or 'function'}"


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _all_match(actions: Sequence[str], patterns: Sequence[str]) -> bool:
    return bool(actions) and all(any(wildcard_match(p, a, ignore_case=True) for p in patterns) for a in actions)


def _lambda_logs(statement: Mapping[str, Any], facts: RoleFacts) -> bool:
    actions = _listed(statement.get("Action"))
    return "lambda.amazonaws.com" in facts.trusted and _all_match(
        actions, ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"))


def _tracing(statement: Mapping[str, Any], facts: RoleFacts) -> bool:
    return _all_match(_listed(statement.get("Action")), ("xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                                         "xray:GetSamplingRules", "xray:GetSamplingTargets"))


def _log_delivery(statement: Mapping[str, Any], facts: RoleFacts) -> bool:
    return "states.amazonaws.com" in facts.trusted and _all_match(
        _listed(statement.get("Action")),
        ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
         "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
         "logs:DescribeLogGroups"))


def _map_children(statement: Mapping[str, Any], facts: RoleFacts) -> bool:
    """Start/describe/stop executions of a state machine that runs as this very role (its Distributed Map)."""
    if "states.amazonaws.com" not in facts.trusted or not facts.state_machines:
        return False
    if not _all_match(_listed(statement.get("Action")),
                      ("states:StartExecution", "states:DescribeExecution", "states:StopExecution")):
        return False
    own = {arn for machine in facts.state_machines
           for arn in (machine, machine.replace(":stateMachine:", ":execution:", 1) + "/*")}
    resources = _listed(statement.get("Resource"))
    return bool(resources) and all(r in own for r in resources)


#: (rule, reason): statements that only grant what an AWS service does with the role (see the module docstring)
SERVICE_SIDE: tuple[tuple[Any, str], ...] = (
    (_lambda_logs, "the Lambda service writes the function's logs with its execution role on AWS; the embedded "
                   "AWS writes them itself"),
    (_tracing, "traces are sent by the Lambda/Step Functions service (active tracing); X-Ray is not emulated"),
    (_log_delivery, "Step Functions sets up the state machine's log delivery to CloudWatch Logs with its role "
                    "on AWS; the embedded AWS does not deliver execution logs"),
    (_map_children, "a DISTRIBUTED Map starts, describes and stops child executions of its own state machine on "
                    "AWS; moto runs the Map's iterations inside the parent execution"),
)

#: (principal kind, Sid) -> why the grant stays although the access scenarios do not use it
REASONS: dict[tuple[str, str], str] = {
    ("ScheduledComputation/function", "ListArtifacts"):
        "lets the artifact store tell a missing artifact from a refused read (S3 answers 403 for a missing key "
        "without s3:ListBucket): ArtifactStore.exists (streamed artifacts) and read_json of an absent object; a "
        "computation that writes its artifacts with write_set only never asks (its conflict path reads a "
        "manifest that exists); tests/handlers/test_runtime_objects.py exercises it",
    ("EtlPipeline/sfn", "DistributedMapReadItems"):
        "the DISTRIBUTED Map reads its item list (ItemReader) only for inputs of more than "
        "distributedMapThreshold partitions (millions of rows at the stack's partitionRows); "
        "tests/e2e/test_etl_pipeline_e2e.py runs it with a 100-row partition size",
    ("EtlPipeline/sfn", "DistributedMapWriteResults"):
        "the DISTRIBUTED Map's ResultWriter: only for inputs of more than distributedMapThreshold partitions "
        "(see DistributedMapReadItems); tests/e2e/test_etl_pipeline_e2e.py runs it",
    ("EtlPipeline/batch-sfn", "LearnFileRunsEnded"):
        "Step Functions' managed rule for startExecution.sync (the batch run learns that a file's run ended); "
        "moto polls DescribeExecution instead (ManageFileRuns, used by the demo's batch run)",
    ("EtlPipeline/batch-scheduler", "SendToDeadLetterQueue"):
        "Scheduler dead-letters a batch start only after its retries fail (the batch machine gone or throttled); "
        "no local scenario provokes it",
    ("EtlPipeline/batch-scheduler", "EncryptDeadLetters"):
        "used with SendToDeadLetterQueue (KMS data key of the encrypted queue)",
}


def service_side_reason(statement: Mapping[str, Any], facts: RoleFacts) -> str | None:
    """The general rule's reason for an unused Allow statement, if one applies."""
    for rule, reason in SERVICE_SIDE:
        if rule(statement, facts):
            return str(reason)
    return None


def unused_reason(statement: Mapping[str, Any], facts: RoleFacts) -> tuple[str, str] | tuple[None, None]:
    """``(basis, reason)`` for an unused statement: ``("service", ...)``, ``("registry", ...)`` or ``(None, None)``.

    Example
    -------
    >>> unused_reason({"Sid": "Leftover", "Action": "dynamodb:DeleteItem", "Resource": "*"}, RoleFacts("X/y"))
    (None, None)
    """
    found = service_side_reason(statement, facts)
    if found is not None:
        return "service", found
    listed = REASONS.get((facts.kind, str(statement.get("Sid") or "")))
    if listed is not None:
        return "registry", listed
    return None, None
