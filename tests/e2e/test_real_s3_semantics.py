"""The deploy-time S3 behaviours moto does not show by itself, end to end in the embedded AWS.

* Object keys: S3 notifications to Lambda/SQS/SNS carry the key URL-encoded (``red flower.jpg`` ->
  ``red+flower.jpg``), but the EventBridge ``Object Created`` event carries the key as stored (AWS's
  EventBridge event structure documents no encoding, unlike the notification structure). The ETL's only event
  path is EventBridge, so keys are used verbatim, never decoded: a key with spaces, ``+``, ``=``, ``%`` or
  non-ASCII text must be read, recorded and reported as itself.
* A missing object reads as ``403 AccessDenied`` for a role without an unconditioned ``s3:ListBucket``
  (:mod:`sandbox.authz.missing_keys` makes the embedded AWS answer so), and every reader that treats "missing" specially
  still gets it right through :func:`handlers.runtime.objects.get_object_or_none`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from handlers.etl.datasets.sensor_readings import sample_files
from handlers.etl.settings import object_id, run_id
from sandbox.deploy import Deployment
from sandbox.events import put_object, wait_execution
from synth.graph import Graph
from tests.support.ledgers import pipeline_ledger
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("real-s3-e2e")

PIPELINE = "keys-etl"
KEYS = ["incoming/red flower 2026.csv", "incoming/c++ a+b.csv", "incoming/date=2026-03-01/part=1.csv",
        "incoming/Überwachung café 測定.csv", "incoming/100% real %2B.csv"]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("etl_keys", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    with deployed(graph) as deployment:
        yield deployment


def _invoke(stack: Deployment, step: str, payload: dict[str, Any]) -> dict[str, Any]:
    name = str(stack.function(f"{PIPELINE}-{step}-fn").physical_name)
    response = stack.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return {"error": response.get("FunctionError"), "payload": json.loads(response["Payload"].read())}


@pytest.mark.parametrize("key", KEYS)
def test_keys_with_spaces_plus_equals_and_non_ascii_run_end_to_end(stack: Deployment, key: str) -> None:
    deliveries = put_object(stack, f"{PIPELINE}-raw-bucket", key, sample_files(seed=5)["sensors-clean.csv"])
    started = [d for d in deliveries if d.execution_arn]
    assert len(started) == 1, deliveries
    event = json.loads(started[0].input)
    assert event["detail"]["object"]["key"] == key  # EventBridge carries the stored key, not a URL-encoded one
    described = wait_execution(str(started[0].execution_arn), 120, aws=stack.aws)
    assert described["status"] == "SUCCEEDED", described
    row = pipeline_ledger(stack, PIPELINE)[key]
    assert row["status"] == "COMPLETED"
    bucket = str(stack.bucket(f"{PIPELINE}-processed-bucket").physical_name)
    summary = json.loads(stack.client("s3").get_object(
        Bucket=bucket, Key=row["manifest_key"].rsplit("/", 1)[0] + "/summary.json")["Body"].read())
    assert summary["source"]["key"] == key


def test_output_reports_a_missing_partition_although_s3_answers_403(stack: Deployment) -> None:
    raw = str(stack.bucket(f"{PIPELINE}-raw-bucket").physical_name)
    oid = object_id(raw, "incoming/never-staged.csv", "v-none")
    run = {"object_id": oid, "run_id": run_id(oid), "bucket": raw, "key": "incoming/never-staged.csv",
           "version_id": None, "partition_count": 2, "dataset": "sensor_readings"}
    result = _invoke(stack, "output", {"run": run})
    assert result["error"] == "Unhandled"
    assert result["payload"]["errorType"] == "IncompleteRun"
    assert "partition(s) 0, 1 of 2 have no result" in result["payload"]["errorMessage"]


def test_ingest_of_a_deleted_input_is_rejected_as_missing(stack: Deployment) -> None:
    raw = str(stack.bucket(f"{PIPELINE}-raw-bucket").physical_name)
    s3 = stack.client("s3")
    key = "incoming/deleted soon.csv"
    version = s3.put_object(Bucket=raw, Key=key, Body=b"x")["VersionId"]
    s3.delete_object(Bucket=raw, Key=key, VersionId=version)
    detail = {"bucket": {"name": raw}, "object": {"key": key, "version-id": version, "size": 1}}
    result = _invoke(stack, "ingest", {"detail": detail, "execution_id": "arn:aws:states:x:1:execution:m:deleted"})
    assert result["payload"]["errorType"] == "FileRejected"
    assert "no longer exists" in result["payload"]["errorMessage"]
