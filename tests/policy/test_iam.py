"""Least-privilege policies, awsguard style: happy props, one change per failing case, missing, unknown, config."""

from __future__ import annotations

import json
from typing import Any

from policy.policies._iamdoc import star_only
from tests.policy.helpers import (
    UNKNOWN_STRING_VALUE,
    Case,
    messages,
    run_resource,
)

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE_ARN = "arn:aws:iam::123456789012:role/sciflow-etl"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: str | list[str], resources: str | list[str] = "arn:aws:s3:::data/in/*", **extra: Any
          ) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


GOOD_POLICY = doc(
    allow(["s3:GetObject", "s3:PutObject"]),
    allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    allow("iam:PassRole", ROLE_ARN, Condition={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}),
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
)
HAPPY_POLICY = {"role": "sciflow-etl", "policy": GOOD_POLICY}
TRUST = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}})
NOTE = ("policy", UNKNOWN_STRING_VALUE, "note")

CASES = [
    Case("iam-policy-no-admin-access", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("*", "*")), "every action on every resource"),
                  ("policy", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "every action")],
         missing=("policy", None), unknown=NOTE),
    Case("iam-policy-no-wildcard-actions", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("s3:Get*")), "wildcard actions s3:Get*"),
                  ("policy", doc({"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::d"}),
                   "NotAction")],
         missing=("policy", None), unknown=NOTE,
         config=({"allowedActions": ["s3:Get*"]}, "policy", doc(allow("s3:Get*")), 0)),
    Case("iam-policy-no-star-resource", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("dynamodb:PutItem", "*")), "dynamodb:PutItem on Resource '*'"),
                  ("policy", doc(allow(["xray:PutTraceSegments", "sqs:SendMessage"], "*")), "sqs:SendMessage on")],
         missing=("policy", None), unknown=NOTE,
         config=({"allowedActions": ["sqs:SendMessage"]}, "policy", doc(allow("sqs:SendMessage", "*")), 0)),
    Case("iam-policy-no-privilege-escalation", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("iam:PutRolePolicy", "*")), "iam:PutRolePolicy"),
                  ("policy", doc(allow("lambda:*", "*")), "lambda:UpdateFunctionCode")],
         missing=("policy", None), unknown=NOTE),
    Case("iam-policy-no-credentials-exposure", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("iam:CreateAccessKey", "*")), "iam:CreateAccessKey"),
                  ("policy", doc(allow("sts:GetSessionToken", "*")), "sts:GetSessionToken")],
         missing=("policy", None), unknown=NOTE),
    Case("iam-policy-no-data-exfiltration", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("secretsmanager:GetSecretValue", "*")), "secretsmanager:GetSecretValue"),
                  ("policy", doc(allow("s3:GetObject", "*")), "s3:GetObject")],
         missing=("policy", None), unknown=NOTE),
    Case("iam-policy-no-passrole-star", ROLE_POLICY, HAPPY_POLICY,
         failing=[("policy", doc(allow("iam:PassRole", "*")), "iam:PassRole on *"),
                  ("policy", doc(allow("iam:PassRole", "arn:aws:iam::123456789012:role/*")), "role/*")],
         missing=("policy", None), unknown=NOTE),
    Case("iam-role-trust-restricted", ROLE, {"assumeRolePolicy": TRUST, "name": "r"},
         failing=[("assumeRolePolicy", doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}),
                   "any principal ('*')"),
                  ("assumeRolePolicy", doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                                            "Action": "sts:AssumeRole"}), "every principal of account")],
         missing=("assumeRolePolicy", None), unknown=("assumeRolePolicy", UNKNOWN_STRING_VALUE, "note")),
    Case("iam-no-aws-managed-policies", ATTACHMENT,
         {"role": "r", "policyArn": "arn:aws:iam::123456789012:policy/sciflow-read"},
         failing=[("policyArn", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                   "AWS managed policy arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")],
         missing=("policyArn", None), unknown=("policyArn", UNKNOWN_STRING_VALUE, "pass"),
         config=({"allowedPolicyArns": ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"]}, "policyArn",
                 "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess", 0)),
    Case("iam-no-administrator-access", ATTACHMENT,
         {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"},
         failing=[("policyArn", "arn:aws:iam::aws:policy/AdministratorAccess", "administrator-level"),
                  ("policyArn", "arn:aws:iam::aws:policy/PowerUserAccess", "PowerUserAccess")],
         missing=("policyArn", None), unknown=("policyArn", UNKNOWN_STRING_VALUE, "pass")),
]


def test_role_inline_policies_are_checked() -> None:
    props = {"assumeRolePolicy": TRUST, "inlinePolicies": [{"name": "ok", "policy": GOOD_POLICY},
                                                           {"name": "admin", "policy": doc(allow("*", "*"))}]}
    found = run_resource("iam-policy-no-admin-access", ROLE, props)
    assert len(found) == 1 and "inlinePolicies[1] (admin)" in found[0].message, messages(found)


def test_role_managed_policy_arns_are_checked() -> None:
    props = {"assumeRolePolicy": TRUST, "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
    assert len(run_resource("iam-no-administrator-access", ROLE, props)) == 1
    assert len(run_resource("iam-no-aws-managed-policies", ROLE, props)) == 1


def test_invalid_json_is_reported_not_skipped() -> None:
    found = run_resource("iam-policy-no-star-resource", ROLE_POLICY, {"policy": "{not json"})
    assert len(found) == 1 and "not valid JSON" in found[0].message


def test_statement_as_single_object_and_lowercase_actions() -> None:
    props = {"policy": json.dumps({"Version": "2012-10-17", "Statement": allow("IAM:putrolepolicy", "*")})}
    assert len(run_resource("iam-policy-no-privilege-escalation", ROLE_POLICY, props)) == 1


def test_sid_names_the_statement() -> None:
    found = run_resource("iam-policy-no-star-resource", ROLE_POLICY,
                         {"policy": doc(allow("sqs:SendMessage", "*", Sid="SendAnywhere"))})
    assert "statement 'SendAnywhere'" in found[0].message


def test_trust_with_account_root_and_condition_passes() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"sts:ExternalId": "x"}}})
    assert run_resource("iam-role-trust-restricted", ROLE, {"assumeRolePolicy": trust}) == []


def test_star_only_allow_list_holds_the_step_functions_logging_actions() -> None:
    needed = {"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
              "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
              "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
              "xray:GetSamplingRules", "xray:GetSamplingTargets"}
    assert all(star_only(a) for a in needed)
    props = {"policy": doc(allow(sorted(needed), "*"))}
    assert run_resource("iam-policy-no-star-resource", ROLE_POLICY, props) == []
