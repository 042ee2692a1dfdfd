"""Happy-path props factories shared by the policy tests (every value is what a compliant component sends)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pulumi

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:ap-south-1:{ACCOUNT}:key/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sciflow-fn"
QUEUE_ARN = f"arn:aws:sqs:ap-south-1:{ACCOUNT}:sciflow-dlq"
FN_ARN = f"arn:aws:lambda:ap-south-1:{ACCOUNT}:function:sciflow-fn"
LAYER_ARN = f"arn:aws:lambda:ap-south-1:{ACCOUNT}:layer:scientific:1"
TAGS = {"project": "sciflow", "stack": "dev", "owner": "data-platform"}

_DIR = Path(tempfile.mkdtemp(prefix="sciflow-policy-tests-"))  # private to this process, removed at exit
atexit.register(shutil.rmtree, _DIR, True)


def small_zip(name: str = "small.zip", members: dict[str, int] | None = None) -> str:
    """A zip whose members are ``name -> size`` zero-filled files (deflated: tiny on disk)."""
    path = _DIR / name
    if not path.exists():
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for member, size in (members or {"handler.py": 1000}).items():
                with zf.open(member, "w", force_zip64=True) as out:
                    chunk = bytes(min(size, 1 << 20))
                    left = size
                    while left > 0:
                        out.write(chunk[:left])
                        left -= len(chunk)
    return str(path)


def function(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "sciflow-fn",
        "role": ROLE_ARN,
        "runtime": "python3.12",
        "handler": "handlers.computations.daily_stats.handler",
        "code": pulumi.FileArchive(small_zip()),
        "memorySize": 1024,
        "timeout": 120,
        "layers": [LAYER_ARN],
        "environment": {"variables": {"LEDGER_TABLE": "sciflow-ledger", "API_KEY_PARAM": "/sciflow/api-key"}},
        "kmsKeyArn": KEY_ARN,
        "tracingConfig": {"mode": "Active"},
        "reservedConcurrentExecutions": 2,
        "codeSigningConfigArn": f"arn:aws:lambda:ap-south-1:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0",
        "vpcConfig": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
        "tags": dict(TAGS),
    }
    props.update(overrides)
    return props


def schedule(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "scheduleExpression": "cron(0 16 * * ? *)",
        "scheduleExpressionTimezone": "Asia/Kolkata",
        "flexibleTimeWindow": {"mode": "FLEXIBLE", "maximumWindowInMinutes": 15},
        "kmsKeyArn": KEY_ARN,
        "target": {"arn": FN_ARN, "roleArn": ROLE_ARN,
                   "retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600},
                   "deadLetterConfig": {"arn": QUEUE_ARN}},
    }
    props.update(overrides)
    return props


def tls_deny(service: str, resource: str = "*") -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": f"{service}:*",
            "Resource": resource, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def policy_doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def state_machine(definition: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    machine = definition or {
        "StartAt": "Ingest",
        "States": {
            "Ingest": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                       "Parameters": {"FunctionName": FN_ARN, "Payload.$": "$"},
                       "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 3}],
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "RecordFailure"}],
                       "Next": "Partitions"},
            "Partitions": {"Type": "Map", "ItemsPath": "$.partitions",
                           "ItemProcessor": {"StartAt": "Transform", "States": {
                               "Transform": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                             "Retry": [{"ErrorEquals": ["States.Timeout"]}], "End": True}}},
                           "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "RecordFailure"}],
                           "Next": "Done"},
            "RecordFailure": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                              "Retry": [{"ErrorEquals": ["States.ALL"]}],
                              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "PipelineFailed"},
            "Done": {"Type": "Succeed"},
        },
    }
    props: dict[str, Any] = {
        "roleArn": ROLE_ARN,
        "definition": json.dumps(machine),
        "loggingConfiguration": {"level": "ALL", "includeExecutionData": True,
                                 "logDestination": f"arn:aws:logs:ap-south-1:{ACCOUNT}:log-group:/sfn/etl:*"},
        "tracingConfiguration": {"enabled": True},
        "tags": dict(TAGS),
    }
    props.update(overrides)
    return props
