"""EtlPipeline end to end in the embedded AWS: synthesize a program with two pipelines, deploy it, drop files
into the raw bucket the way S3 + EventBridge deliver them, and let moto's Step Functions execute the
generated definition with the handlers running from the deployed zip."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from handlers.etl.datasets.sensor_readings import SAMPLE_OUTCOMES, generate_frame, sample_files
from sandbox.deploy import Deployment
from sandbox.events import executed_states, put_object, start_execution, wait_execution
from synth.graph import Graph
from tests.support.layers import cold_starts
from tests.support.ledgers import pipeline_ledger
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("etl-e2e")

PIPELINE, SINGLE = "sensor-etl", "single-etl"
TIMEOUT_S = 120


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("etl_e2e", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    with deployed(graph, isolated=True) as deployment:
        yield deployment


# --------------------------------------------------------------------------- helpers
def physical(stack: Deployment, name: str) -> str:
    return str(stack.get(name).physical_name)


def drop_file(stack: Deployment, key: str, body: bytes, pipeline: str = PIPELINE) -> tuple[str, dict[str, Any]]:
    """Put a raw object; return the execution the rule started and the event it received."""
    deliveries = put_object(stack, f"{pipeline}-raw-bucket", key, body)
    started = [d for d in deliveries if d.execution_arn]
    assert len(started) == 1, deliveries
    return str(started[0].execution_arn), json.loads(started[0].input)


def run(stack: Deployment, key: str, body: bytes, pipeline: str = PIPELINE) -> tuple[dict[str, Any], str]:
    arn, _ = drop_file(stack, key, body, pipeline)
    return wait_execution(arn, TIMEOUT_S, aws=stack.aws), arn


def ledger_item(stack: Deployment, key: str, pipeline: str = PIPELINE) -> dict[str, Any]:
    items = pipeline_ledger(stack, pipeline)
    assert key in items, sorted(items)
    return items[key]


def object_keys(stack: Deployment, bucket: str, prefix: str) -> list[str]:
    s3 = stack.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=physical(stack, bucket), Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def read(stack: Deployment, bucket: str, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=physical(stack, bucket), Key=key)["Body"].read()


def published(stack: Deployment, item: dict[str, Any], pipeline: str = PIPELINE) -> dict[str, bytes]:
    folder = item["manifest_key"].rsplit("/", 1)[0] + "/"
    keys = object_keys(stack, f"{pipeline}-processed-bucket", folder)
    return {k[len(folder):]: read(stack, f"{pipeline}-processed-bucket", k) for k in keys}


def quarantined(stack: Deployment, item: dict[str, Any], pipeline: str = PIPELINE) -> pd.DataFrame:
    frames = [pd.read_csv(io.BytesIO(read(stack, f"{pipeline}-quarantine-bucket", k)), dtype=str)
              for k in item.get("rejects_keys", [])]
    if not frames:
        return pd.DataFrame(columns=["_row", "_reason"])
    return pd.concat(frames, ignore_index=True).sort_values("_row", key=lambda s: s.astype(int), ignore_index=True)


def dlq_messages(stack: Deployment, key: str, pipeline: str = PIPELINE) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=physical(stack, f"{pipeline}-dlq-queue"))["QueueUrl"]
    bodies: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        new = [m for m in batch if m["MessageId"] not in {b["MessageId"] for b in bodies}]
        if not new:
            break
        bodies.extend(new)
    messages = [json.loads(m["Body"]) for m in bodies]
    return [m for m in messages if m.get("detail", {}).get("object", {}).get("key") == key]


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode()


# --------------------------------------------------------------------------- the three sample files
def test_clean_file_is_published_with_manifest_and_completed_counts(stack: Deployment) -> None:
    description, arn = run(stack, "incoming/clean.csv", sample_files(seed=11)["sensors-clean.csv"])
    assert description["status"] == "SUCCEEDED"
    assert executed_states(arn, aws=stack.aws)[:4] == ["Ingest", "IsDuplicate", "ChooseMap", "DistributedMap"]
    item = ledger_item(stack, "incoming/clean.csv")
    assert item["status"] == "COMPLETED"
    assert (item["rows_rows"], item["rows_rejected"]) == (500, 0)
    assert item["rows_published"] + item["rows_duplicates"] == 500 and item["rows_duplicates"] > 0
    files = published(stack, item)
    assert sorted(files) == ["aggregates.csv", "manifest.json", "report.xlsx", "rows.csv", "summary.json"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["status"] == "COMPLETED" and len(manifest["artifacts"]) == 4
    assert len(files["rows.csv"].splitlines()) == item["rows_published"] + 1
    assert json.loads(files["summary.json"])["counts"]["published"] == item["rows_published"]


def test_bad_rows_are_quarantined_with_reasons_and_run_completes_with_rejects(stack: Deployment) -> None:
    description, _ = run(stack, "incoming/some-bad.csv", sample_files(seed=11)["sensors-with-rejects.csv"])
    assert description["status"] == "SUCCEEDED"
    item = ledger_item(stack, "incoming/some-bad.csv")
    assert item["status"] == "COMPLETED_WITH_REJECTS"
    rejects = quarantined(stack, item)
    assert len(rejects) == item["rows_rejected"] == 10
    assert rejects["_reason"].str.match(r"^(timestamp|sensor_id|value|unit): ").all()
    assert item["rows_published"] + item["rows_rejected"] + item["rows_duplicates"] == item["rows_rows"]


def test_schema_broken_file_fails_with_one_dlq_message_and_nothing_published(stack: Deployment) -> None:
    description, arn = run(stack, "incoming/broken.csv", sample_files(seed=11)["sensors-broken.csv"])
    assert description["status"] == "FAILED"
    assert (description["error"], description["cause"]) == (
        "EtlRunFailed", "The run failed: see the ledger item and the DLQ message")
    assert executed_states(arn, aws=stack.aws) == ["Ingest", "RecordFailure", "SendToDlq", "Failed"]
    item = ledger_item(stack, "incoming/broken.csv")
    assert (item["status"], item["error"]) == ("FAILED", "FileRejected")
    assert item["error_message"].startswith("MISSING_COLUMNS: s3://")
    messages = dlq_messages(stack, "incoming/broken.csv")
    assert len(messages) == 1
    assert messages[0]["error"]["Error"] == "FileRejected"
    assert messages[0]["execution_id"] == arn
    assert all("broken" not in key for key in object_keys(stack, f"{PIPELINE}-processed-bucket", ""))


@pytest.mark.parametrize("name", sorted(SAMPLE_OUTCOMES))
def test_sample_files_end_in_their_expected_status(stack: Deployment, name: str) -> None:
    run(stack, f"incoming/samples/{name}", sample_files(seed=5)[name], pipeline=SINGLE)
    assert ledger_item(stack, f"incoming/samples/{name}", SINGLE)["status"] == SAMPLE_OUTCOMES[name]


# --------------------------------------------------------------------------- reliability
def test_step_failing_once_is_retried_and_the_run_completes(stack: Deployment,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.exceptions import JsonRESTError

    transform_fn = physical(stack, f"{PIPELINE}-transform-fn")
    installed = LambdaSimpleBackend.invoke
    failures: list[str] = []

    def flaky(self: Any, function_name: str, *args: Any, **kwargs: Any) -> Any:
        if function_name.endswith(transform_fn) and not failures:
            failures.append(function_name)
            raise JsonRESTError("ServiceException", "injected: Lambda service error")
        return installed(self, function_name, *args, **kwargs)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", flaky)
    body = to_csv(generate_frame(150, seed=21))
    description, arn = run(stack, "incoming/flaky.csv", body)
    assert failures and description["status"] == "SUCCEEDED"
    history = [e for e in _history(stack, arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in history] == ["Lambda.ServiceException"]
    assert ledger_item(stack, "incoming/flaky.csv")["status"] == "COMPLETED"


def test_failed_run_is_replayed_from_its_dlq_message(stack: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.exceptions import JsonRESTError

    ingest_fn = physical(stack, f"{PIPELINE}-ingest-fn")
    installed = LambdaSimpleBackend.invoke

    def broken(self: Any, function_name: str, *args: Any, **kwargs: Any) -> Any:
        if function_name.endswith(ingest_fn):
            raise JsonRESTError("InvalidRuntimeException", "injected: the runtime is broken")
        return installed(self, function_name, *args, **kwargs)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", broken)
    description, _ = run(stack, "incoming/replay.csv", to_csv(generate_frame(80, seed=41)))
    assert description["status"] == "FAILED"
    assert ledger_item(stack, "incoming/replay.csv")["status"] == "FAILED"
    monkeypatch.setattr(LambdaSimpleBackend, "invoke", installed)
    [message] = dlq_messages(stack, "incoming/replay.csv")
    assert message["error"]["Error"] == "Lambda.InvalidRuntimeException"
    replay = start_execution(stack, f"{PIPELINE}-sfn", {"detail": message["detail"]}, name="replay-from-dlq")
    assert wait_execution(replay, TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"
    item = ledger_item(stack, "incoming/replay.csv")
    assert (item["status"], item["attempts"], item["execution_id"]) == ("COMPLETED", 2, replay)


def _history(stack: Deployment, arn: str) -> list[dict[str, Any]]:
    from sandbox.events import execution_history

    return execution_history(arn, aws=stack.aws)


def test_same_object_version_delivered_twice_is_processed_once(stack: Deployment) -> None:
    body = to_csv(generate_frame(120, seed=31))
    first_arn, event = drop_file(stack, "incoming/twice.csv", body)
    assert wait_execution(first_arn, TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"
    before = object_keys(stack, f"{PIPELINE}-processed-bucket", f"{PIPELINE}/published/")
    second_arn = start_execution(stack, f"{PIPELINE}-sfn", event, name="redelivered-twice")
    assert wait_execution(second_arn, TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"
    assert executed_states(second_arn, aws=stack.aws) == ["Ingest", "IsDuplicate", "AlreadyProcessed"]
    assert object_keys(stack, f"{PIPELINE}-processed-bucket", f"{PIPELINE}/published/") == before
    assert ledger_item(stack, "incoming/twice.csv")["execution_id"] == first_arn


def test_the_same_event_started_twice_at_once_is_processed_once(stack: Deployment) -> None:
    """Two executions of one object version started together: each Ingest can run in its own worker process (the
    deployment is isolated), and the ledger's conditional claim lets exactly one of them through."""
    body = to_csv(generate_frame(120, seed=37))
    arn, event = drop_file(stack, "incoming/raced.csv", body)
    twin = start_execution(stack, f"{PIPELINE}-sfn", event, name="redelivered-raced")
    assert {wait_execution(a, TIMEOUT_S, aws=stack.aws)["status"] for a in (arn, twin)} == {"SUCCEEDED"}
    paths = {a: executed_states(a, aws=stack.aws) for a in (arn, twin)}
    skipped = [a for a, states in paths.items() if states == ["Ingest", "IsDuplicate", "AlreadyProcessed"]]
    assert len(skipped) == 1, paths
    [winner] = set(paths) - set(skipped)
    assert paths[winner][-1] != "AlreadyProcessed"
    assert ledger_item(stack, "incoming/raced.csv")["execution_id"] == winner
    assert cold_starts(stack, physical(stack, f"{PIPELINE}-ingest-fn")) >= 1
    assert stack.aws.shadowed_layer_packages == {}


def test_object_outside_the_prefix_starts_nothing(stack: Deployment) -> None:
    deliveries = put_object(stack, f"{PIPELINE}-raw-bucket", "elsewhere/file.csv", b"a,b\n1,2\n")
    assert [d.execution_arn for d in deliveries if d.execution_arn] == []


# --------------------------------------------------------------------------- fan-out
def large_file(rows: int) -> bytes:
    frame = generate_frame(rows, seed=rows, bad_fraction=0.02, duplicate_fraction=0.02)
    # a conflicting duplicate whose first occurrence is in the first partition
    conflict = frame.iloc[[3]].assign(value="99.000", unit="C")
    return to_csv(pd.concat([frame, conflict], ignore_index=True))


@pytest.mark.parametrize(("rows", "map_state"), [(350, "InlineMap"), (650, "DistributedMap")])
def test_large_file_through_map_equals_one_partition_run(stack: Deployment, rows: int, map_state: str) -> None:
    body = large_file(rows)
    key = f"incoming/large-{rows}.csv"
    description, arn = run(stack, key, body)
    reference, _ = run(stack, key, body, pipeline=SINGLE)
    assert description["status"] == reference["status"] == "SUCCEEDED"
    assert map_state in executed_states(arn, aws=stack.aws)
    item, single = ledger_item(stack, key), ledger_item(stack, key, SINGLE)
    assert item["partition_count"] == -(-(rows + 1) // 100) and single["partition_count"] == 1
    for field in ("status", "rows_rows", "rows_published", "rows_rejected", "rows_duplicates"):
        assert item[field] == single[field], field
    assert item["rows_rejected"] > 0 and item["rows_duplicates"] > 0
    ours, theirs = published(stack, item), published(stack, single, SINGLE)
    assert ours["rows.csv"] == theirs["rows.csv"]
    assert ours["aggregates.csv"] == theirs["aggregates.csv"]
    assert quarantined(stack, item).equals(quarantined(stack, single, SINGLE))
