"""Benchmark the policy pack: ``python -m bench.policy [--units N] [--json]``.

Synthesizes a generated program of about 2,000 resources (``--units`` copies of a serverless unit: KMS key,
secure bucket with its five side resources, queue + policy, table, log group, role + inline policy, function
with two layers + invoke config, schedule, state machine; three shared layers) under the sandbox mocks, then
times ``policy.check.evaluate``: every resource policy on every resource plus the stack policies, through the
analyzer servicer. The last stdout line is one JSON object with ``resources``, ``synth_seconds`` and
``seconds`` (policy evaluation only, wall clock), plus ``cpu_seconds`` (the same span in process CPU time, which
a loaded machine does not inflate), ``violations``, ``mandatory`` and ``policies``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from policy.check import Analyzer, analyze_requests, evaluate, synthesize
from policy.policies import ALL_POLICIES

RESOURCES_PER_UNIT = 17
_PROGRAM = '''\
import json
import pulumi
import pulumi_aws as aws

UNITS = {units}
CODE = {code!r}
TAGS = {{"project": "bench", "stack": "bench"}}


def doc(*statements):
    return pulumi.Output.json_dumps({{"Version": "2012-10-17", "Statement": list(statements)}})


def tls(arn, action):
    return {{"Effect": "Deny", "Principal": "*", "Action": action, "Resource": arn,
            "Condition": {{"Bool": {{"aws:SecureTransport": "false"}}}}}}


layers = [aws.lambda_.LayerVersion(f"layer-{{i}}", layer_name=f"layer-{{i}}", code=pulumi.FileArchive(CODE),
                                   compatible_runtimes=["python3.12"]) for i in range(3)]
for u in range(UNITS):
    n = f"u{{u:03d}}"
    key = aws.kms.Key(f"{{n}}-key", enable_key_rotation=True, tags=TAGS)
    bucket = aws.s3.Bucket(f"{{n}}-bucket", tags=TAGS)
    aws.s3.BucketVersioning(f"{{n}}-ver", bucket=bucket.id,
                            versioning_configuration={{"status": "Enabled"}})
    aws.s3.BucketServerSideEncryptionConfiguration(f"{{n}}-sse", bucket=bucket.id, rules=[{{
        "apply_server_side_encryption_by_default": {{"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}},
        "bucket_key_enabled": True}}])
    aws.s3.BucketPublicAccessBlock(f"{{n}}-pab", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)
    aws.s3.BucketOwnershipControls(f"{{n}}-own", bucket=bucket.id, rule={{"object_ownership": "BucketOwnerEnforced"}})
    aws.s3.BucketPolicy(f"{{n}}-bpol", bucket=bucket.id,
                        policy=doc(tls([bucket.arn, pulumi.Output.concat(bucket.arn, "/*")], "s3:*")))
    dlq = aws.sqs.Queue(f"{{n}}-dlq", kms_master_key_id=key.arn, tags=TAGS)
    aws.sqs.QueuePolicy(f"{{n}}-qpol", queue_url=dlq.id, policy=doc(tls(dlq.arn, "sqs:*")))
    table = aws.dynamodb.Table(f"{{n}}-table", billing_mode="PAY_PER_REQUEST", hash_key="pk",
                               attributes=[{{"name": "pk", "type": "S"}}],
                               point_in_time_recovery={{"enabled": True}},
                               server_side_encryption={{"enabled": True, "kms_key_arn": key.arn}}, tags=TAGS)
    logs = aws.cloudwatch.LogGroup(f"{{n}}-logs", retention_in_days=30, kms_key_id=key.arn, tags=TAGS)
    role = aws.iam.Role(f"{{n}}-role", tags=TAGS, assume_role_policy=json.dumps({{
        "Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {{"Service": "lambda.amazonaws.com"}}}}]}}))
    aws.iam.RolePolicy(f"{{n}}-policy", role=role.id, policy=doc(
        {{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
          "Resource": pulumi.Output.concat(bucket.arn, "/*")}},
        {{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"], "Resource": table.arn}},
        {{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dlq.arn}},
        {{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
          "Resource": pulumi.Output.concat(logs.arn, ":*")}},
        {{"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}}))
    fn = aws.lambda_.Function(f"{{n}}-fn", role=role.arn, runtime="python3.12", handler="h.handler",
                              code=pulumi.FileArchive(CODE), memory_size=1024, timeout=60,
                              layers=[layers[u % 3].arn, layers[(u + 1) % 3].arn],
                              environment={{"variables": {{"TABLE": table.name, "BUCKET": bucket.bucket}}}},
                              kms_key_arn=key.arn, tracing_config={{"mode": "Active"}},
                              logging_config={{"log_format": "JSON", "log_group": logs.name}},
                              reserved_concurrent_executions=2, tags=TAGS)
    aws.lambda_.FunctionEventInvokeConfig(f"{{n}}-invoke", function_name=fn.name, destination_config={{
        "on_failure": {{"destination": dlq.arn}}}})
    aws.scheduler.Schedule(f"{{n}}-schedule", schedule_expression="rate(1 day)", kms_key_arn=key.arn,
                           flexible_time_window={{"mode": "OFF"}},
                           target={{"arn": fn.arn, "role_arn": role.arn,
                                   "retry_policy": {{"maximum_retry_attempts": 3}},
                                   "dead_letter_config": {{"arn": dlq.arn}}}})
    aws.sfn.StateMachine(f"{{n}}-sm", role_arn=role.arn, tags=TAGS, definition=pulumi.Output.json_dumps({{
        "StartAt": "Run", "States": {{"Run": {{
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {{"FunctionName": fn.arn}},
            "Retry": [{{"ErrorEquals": ["States.TaskFailed"]}}],
            "Catch": [{{"ErrorEquals": ["States.ALL"], "Next": "Failed"}}], "End": True}},
            "Failed": {{"Type": "Fail"}}}}}}),
        logging_configuration={{"level": "ALL", "include_execution_data": True,
                                "log_destination": pulumi.Output.concat(logs.arn, ":*")}},
        tracing_configuration={{"enabled": True}})
'''


def write_program(directory: Path, units: int) -> Path:
    code = directory / "code.zip"
    with zipfile.ZipFile(code, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("h.py", "def handler(event, context):\n    return event\n")
    program = directory / "program.py"
    program.write_text(_PROGRAM.format(units=units, code=str(code)))
    return program


def run(units: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sciflow-bench-policy-") as tmp:
        program = write_program(Path(tmp), units)
        started = time.perf_counter()
        graph = synthesize(program, None)
        synth_seconds = time.perf_counter() - started
        analyzer = Analyzer()
        analyze_requests(graph)  # warm: protobuf classes, not part of the measured evaluation
        report = evaluate(graph, analyzer=analyzer, program_dir=program.parent)
    return {
        "resources": report.resources,
        "synth_seconds": round(synth_seconds, 3),
        "seconds": round(report.seconds, 3),
        "cpu_seconds": round(report.cpu_seconds, 3),
        "policies": len(ALL_POLICIES),
        "violations": len(report.violations),
        "mandatory": len(report.mandatory),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.policy", description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=118, help=f"~{RESOURCES_PER_UNIT} resources each")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args(argv)
    result = run(args.units)
    if not args.json:
        print(f"{result['resources']} resources synthesized in {result['synth_seconds']} s; "
              f"{result['policies']} policies evaluated in {result['seconds']} s "
              f"({result['violations']} violations, {result['mandatory']} mandatory)", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
