"""The access report: granted, used, denied and unused-with-reason per principal (sandbox.authz.report)."""

from __future__ import annotations

from sandbox.authz.enforce import CallRecord
from sandbox.authz.policy import PolicyDocument, StatementRef
from sandbox.authz.reasons import REASONS, RoleFacts, principal_kind, service_side_reason, unused_reason
from sandbox.authz.report import access_report, render_text

ROLE = "arn:aws:iam::123456789012:role/etl-ingest-role"
POLICY = PolicyDocument("etl-ingest-role:inline/etl-ingest-policy", {"Statement": [
    {"Sid": "ReadRawInput", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::raw/*"},
    {"Sid": "XRayTracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"},
    {"Sid": "LeftOver", "Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
]})


def record(action: str, resource: str, allowed: bool, sid: str | None = None) -> CallRecord:
    refs = (StatementRef(POLICY.name, 0, sid, "Allow"),) if sid else ()
    return CallRecord(ROLE, action.split(":")[0], "Op", action, resource, allowed, refs,
                      "" if allowed else f"User: x is not authorized to perform: {action}")


def test_report_shape_and_classification() -> None:
    records = [record("s3:GetObject", "arn:aws:s3:::raw/a.csv", True, "ReadRawInput"),
               record("s3:GetObject", "arn:aws:s3:::raw/a.csv", True, "ReadRawInput"),
               record("s3:PutObject", "arn:aws:s3:::raw/b", False)]
    report = access_report(records, {"etl-ingest-role": (ROLE, [POLICY])}, enforced=True)
    assert report["enforced"] is True and report["calls"] == 3
    assert report["denied"] == [{"principal": ROLE, "action": "s3:PutObject", "resource": "arn:aws:s3:::raw/b",
                                 "message": "User: x is not authorized to perform: s3:PutObject"}]
    [principal] = report["principals"]
    assert principal["name"] == "etl-ingest-role"
    assert [g["sid"] for g in principal["granted"]] == ["ReadRawInput", "XRayTracing", "LeftOver"]  # no Deny
    assert principal["used"] == [{"action": "s3:GetObject", "resource": "arn:aws:s3:::raw/a.csv",
                                  "sid": "ReadRawInput"}]
    xray = service_side_reason({"Action": ["xray:PutTraceSegments"]}, RoleFacts())
    assert xray is not None
    assert principal["unused"] == [{"sid": "XRayTracing", "reason": xray, "basis": "service"},
                                   {"sid": "LeftOver", "reason": None, "basis": None}]
    assert principal["stale_reasons"] == []


def test_text_flags_unused_statements_without_a_reason() -> None:
    report = access_report([], {"etl-ingest-role": (ROLE, [POLICY])}, enforced=True)
    text = render_text(report)
    assert "unused  LeftOver: NO REASON" in text
    assert "granted ReadRawInput: s3:GetObject on arn:aws:s3:::raw/*" in text


LAMBDA = RoleFacts("EtlPipeline/output", ("lambda.amazonaws.com",))
STATES = RoleFacts("EtlPipeline/sfn", ("states.amazonaws.com",), ("arn:aws:states:r:1:stateMachine:m",))


def test_service_side_rules_look_at_actions_and_who_assumes_the_role_never_at_the_sid() -> None:
    logs = {"Sid": "Anything", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:r:1:log-group:/aws/lambda/f:*"}
    assert unused_reason(logs, LAMBDA)[0] == "service"
    assert unused_reason(logs, STATES) == (None, None)  # a state machine's role does not write Lambda logs
    wider = {**logs, "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DeleteLogGroup"]}
    assert unused_reason(wider, LAMBDA) == (None, None)  # one action the service does not need: no excuse
    delivery = {"Action": ["logs:CreateLogDelivery", "logs:DescribeLogGroups"], "Resource": "*"}
    assert unused_reason(delivery, STATES)[0] == "service"
    assert unused_reason(delivery, LAMBDA) == (None, None)


def test_map_children_rule_needs_the_role_s_own_state_machine() -> None:
    own = {"Action": "states:StartExecution", "Resource": "arn:aws:states:r:1:stateMachine:m"}
    executions = {"Action": ["states:DescribeExecution", "states:StopExecution"],
                  "Resource": "arn:aws:states:r:1:execution:m/*"}
    other = {"Action": "states:StartExecution", "Resource": "arn:aws:states:r:1:stateMachine:other"}
    assert unused_reason(own, STATES)[0] == "service"
    assert unused_reason(executions, STATES)[0] == "service"
    assert unused_reason(other, STATES) == (None, None)
    assert unused_reason(own, RoleFacts("X/y", ("events.amazonaws.com",))) == (None, None)


def test_registry_is_keyed_by_principal_kind_and_sid() -> None:
    (kind, sid), reason = next(iter(REASONS.items()))
    statement = {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    assert unused_reason(statement, RoleFacts(kind, ("states.amazonaws.com",))) == ("registry", reason)
    assert unused_reason(statement, RoleFacts(kind + "-other")) == (None, None)  # another role, same Sid
    assert principal_kind("sciflow:index:EtlPipeline", "p", "p-sfn-role") == "EtlPipeline/sfn"
    assert principal_kind("sciflow:index:EtlPipeline", "p", "elsewhere-role") == "EtlPipeline/elsewhere"


def test_a_registry_reason_for_a_used_grant_is_reported_stale() -> None:
    (kind, sid), _ = next(iter(REASONS.items()))
    policy = PolicyDocument("r:inline/p", {"Statement": [
        {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})
    role = "arn:aws:iam::123456789012:role/r"
    used = CallRecord(role, "s3", "GetObject", "s3:GetObject", "arn:aws:s3:::b/k", True,
                      (StatementRef(policy.name, 0, sid, "Allow"),))
    report = access_report([used], {"r": (role, [policy])}, enforced=True, facts={"r": RoleFacts(kind)})
    assert report["principals"][0]["stale_reasons"] == [sid]
    assert report["principals"][0]["kind"] == kind
    assert "used, so its entry" in render_text(report)
