"""The access report: granted, used, denied and unused-with-reason per principal (sandbox.authz.report)."""

from __future__ import annotations

from sandbox.authz.enforce import CallRecord
from sandbox.authz.policy import PolicyDocument, StatementRef
from sandbox.authz.report import UNUSED_REASONS, access_report, render_text

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
    assert principal["unused"] == [{"sid": "XRayTracing", "reason": UNUSED_REASONS["XRayTracing"]},
                                   {"sid": "LeftOver", "reason": None}]


def test_text_flags_unused_statements_without_a_reason() -> None:
    report = access_report([], {"etl-ingest-role": (ROLE, [POLICY])}, enforced=True)
    text = render_text(report)
    assert "unused  LeftOver: NO REASON" in text
    assert "granted ReadRawInput: s3:GetObject on arn:aws:s3:::raw/*" in text
