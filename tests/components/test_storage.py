"""The stack's buckets log their server access into one log bucket per stack, and every bucket has a lifecycle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.storage import ACCESS_LOG_RETENTION_DAYS, LOG_DELIVERY_SERVICE, NONCURRENT_VERSION_DAYS
from policy.check import evaluate
from synth import synth
from synth.graph import Graph

REPO = Path(__file__).resolve().parents[2]
BUCKET = "aws:s3/bucket:Bucket"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-layers")]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth(REPO / "__main__.py", stack="dev")


def _side(graph: Graph, type_: str, bucket_name: str) -> list[dict[str, Any]]:
    return [r.inputs for r in graph.by_type(type_) if r.inputs.get("bucket") == bucket_name]


def test_one_log_bucket_per_stack_encrypted_as_log_delivery_requires(graph: Graph) -> None:
    logs = graph.find("sciflow-dev-access-logs-bucket", BUCKET)
    name = logs.outputs["bucket"]
    encryption = graph.find("sciflow-dev-access-logs-encryption").inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}  # SSE-KMS: not delivered
    statements = json.loads(graph.find("sciflow-dev-access-logs-bucket-policy").inputs["policy"])["Statement"]
    assert statements[0] == {"Sid": "S3ServerAccessLogDelivery", "Effect": "Allow",
                             "Principal": {"Service": LOG_DELIVERY_SERVICE}, "Action": "s3:PutObject",
                             "Resource": f"{logs.outputs['arn']}/*",
                             "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    assert statements[1]["Sid"] == "DenyInsecureTransport"
    rules = {r["id"]: r for lc in _side(graph, LIFECYCLE, name) for r in lc["rules"]}
    assert rules["expire-access-logs"]["expiration"] == {"days": ACCESS_LOG_RETENTION_DAYS}
    assert _side(graph, LOGGING, name) == []  # a log bucket that logged itself would loop


def test_every_other_bucket_logs_into_it_and_has_a_lifecycle(graph: Graph) -> None:
    logs = graph.find("sciflow-dev-access-logs-bucket", BUCKET).outputs["bucket"]
    others = [b for b in graph.by_type(BUCKET) if b.outputs["bucket"] != logs]
    assert len(others) >= 5
    for bucket in others:
        logging = _side(graph, LOGGING, bucket.outputs["bucket"])
        assert len(logging) == 1 and logging[0]["targetBucket"] == logs, bucket.name
        assert logging[0]["targetPrefix"] == bucket.name.removesuffix("-bucket") + "/"
        lifecycle = _side(graph, LIFECYCLE, bucket.outputs["bucket"])
        assert len(lifecycle) == 1, bucket.name  # S3 keeps one lifecycle configuration per bucket
        old = [r for r in lifecycle[0]["rules"] if r["id"] == "expire-old-versions"]
        assert old and old[0]["noncurrentVersionExpiration"] == {"noncurrentDays": NONCURRENT_VERSION_DAYS}


def test_no_logging_or_lifecycle_advice_is_left(graph: Graph) -> None:
    report = evaluate(graph)
    found = {v.policy for v in report.violations}
    assert not {"s3-bucket-access-logging", "s3-bucket-lifecycle", "s3-bucket-encryption"} & found, sorted(found)
    assert [v for v in report.violations if v.enforcement == "mandatory"] == []
