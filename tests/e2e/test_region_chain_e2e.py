"""The seed chain end to end in the embedded AWS with IAM enforced: the fetcher reads the real public SSM
parameters moto ships, writes JSON Lines into the region-services inbox, that object starts the pipeline (source
``computation:region-fetch``) which publishes the coverage reports; sensor-stats reads sensor-etl's published runs
from the other component's bucket."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.etl.datasets.sensor_readings import sample_files
from sandbox.deploy import Deployment
from sandbox.events import deliver_s3_notices, invoke_schedule, put_object_created, wait_execution
from synth.graph import Graph
from tests.support.ledgers import pipeline_ledger
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("region-chain-e2e")
TIMEOUT_S = 300
MONDAY_0300 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("region_chain", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    with deployed(graph) as deployment:
        yield deployment


def computation(stack: Deployment, name: str, day: str) -> dict[str, Any]:
    table = stack.table(f"{name}-ledger-table").physical_name
    item = stack.client("dynamodb").get_item(TableName=table, Key={"date": {"S": day}, "computation": {"S": name}})
    from boto3.dynamodb.types import TypeDeserializer

    return {k: TypeDeserializer().deserialize(v) for k, v in item["Item"].items()}


def test_the_fetcher_feeds_the_pipeline_which_publishes_the_coverage_reports(stack: Deployment) -> None:
    result = invoke_schedule(stack, "region-fetch-schedule", MONDAY_0300)
    assert result.succeeded, result.payload
    run = computation(stack, "region-fetch", "2026-03-02")
    assert run["status"] == "SUCCESS"
    [written] = run["outputs"]
    raw = stack.bucket("region-services-raw-bucket").physical_name
    assert written == f"s3://{raw}/incoming/region-fetch/date=2026-03-02/region-services.jsonl"
    started = [d.execution_arn for d in deliver_s3_notices(stack) if d.execution_arn]
    assert len(started) == 1
    assert wait_execution(started[0], TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"

    item = pipeline_ledger(stack, "region-services")["incoming/region-fetch/date=2026-03-02/region-services.jsonl"]
    assert (item["status"], item["source"]) == ("COMPLETED", "computation:region-fetch")
    assert item["rows_published"] == json.loads(run["summary"])["pairs"] > 5000
    names = sorted(key.rsplit("/", 1)[1] for key in item["output_keys"])
    assert {"coverage.xlsx", "coverage.json", "coverage.min.json", "coverage-detailed.csv", "coverage-summary.csv",
            "coverage-matrix.csv", "manifest.json"} <= set(names)
    processed = stack.bucket("region-services-processed-bucket").physical_name
    [report] = [k for k in item["output_keys"] if k.endswith("/coverage.json")]
    document = json.loads(stack.client("s3").get_object(Bucket=processed, Key=report)["Body"].read())
    assert "ap-south-1" in document["availability"]["s3"]
    assert document["summary"]["regions"] >= 30 and document["summary"]["services"] >= 300


def test_sensor_stats_reads_the_other_pipeline_s_published_output(stack: Deployment) -> None:
    [arn] = put_object_created(stack, "sensor-etl-raw-bucket", "incoming/clean.csv",
                               sample_files()["sensors-clean.csv"])
    assert wait_execution(arn, TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"
    result = invoke_schedule(stack, "sensor-stats-schedule", datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    assert result.succeeded, result.payload
    run = computation(stack, "sensor-stats", "2026-03-02")
    processed = stack.bucket("sensor-etl-processed-bucket").physical_name
    assert run["status"] == "SUCCESS"
    assert run["inputs"] and all(uri.startswith(f"s3://{processed}/sensor-etl/published/") for uri in run["inputs"])
    assert any(uri.endswith("/rows.csv") for uri in run["inputs"])
    summary = json.loads(run["summary"])
    assert summary["runs"] == 1 and summary["rows"] > 400
    bucket = stack.bucket("sensor-stats-artifacts-bucket").physical_name
    key = next(k for k in run["artifacts"] if k.endswith("sensors.csv"))
    import pandas as pd

    sensors = pd.read_csv(io.BytesIO(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert sensors["count"].sum() == summary["rows"]
