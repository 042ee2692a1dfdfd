"""handlers.runtime.scheduled.run_scheduled: ledger, write-once artifacts and failure paths (moto)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from handlers.runtime.errors import ComputationFailed, EventError, TimeBudgetExceeded
from handlers.runtime.scheduled import Result, RunContext, Settings, run_scheduled, scheduled_handler
from tests.support.events import scheduled_event
from tests.support.lambda_context import LambdaContext
from tests.support.runtime import BUCKET, PREFIX, TABLE, Aws

SETTINGS = Settings(computation="daily-stats", bucket=BUCKET, table=TABLE, prefix=PREFIX, timezone="Asia/Kolkata",
                    code_hash="hash-1", lease_s=180, margin_ms=3_000)
FOLDER = f"{PREFIX}date=2026-03-01/"


class Counting:
    """A compute function that counts its calls and can be told to raise."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error
        self.lock = threading.Lock()

    def __call__(self, ctx: RunContext) -> Result:
        with self.lock:
            self.calls += 1
        if self.error is not None:
            raise self.error
        values = ctx.rng().normal(size=3)
        return Result(summary={"date": ctx.business_date.isoformat(), "first": float(values[0])},
                      artifacts={"values.json": {"values": values.tolist()}})


def run(aws: Aws, compute: Callable[[RunContext], Result], event: Any = None,
        context: LambdaContext | None = None) -> dict[str, Any]:
    return run_scheduled(compute, scheduled_event() if event is None else event, context or LambdaContext(),
                         settings=SETTINGS, s3_client=aws.s3, dynamodb_client=aws.dynamodb)


def test_success_writes_artifacts_result_manifest_and_ledger(aws: Aws) -> None:
    response = run(aws, Counting())
    assert response["status"] == "SUCCESS" and response["outcome"] == "computed"
    assert aws.object_keys() == [f"{FOLDER}manifest.json", f"{FOLDER}result.json", f"{FOLDER}values.json"]
    item = aws.item("2026-03-01")
    assert item is not None and item["status"]["S"] == "SUCCESS" and item["attempts"]["N"] == "1"
    assert item["manifest_key"]["S"] == f"{FOLDER}manifest.json"


def test_artifacts_carry_run_id_and_code_hash_metadata(aws: Aws) -> None:
    response = run(aws, Counting(), context=LambdaContext(request_id="req-1"))
    head = aws.s3.head_object(Bucket=BUCKET, Key=f"{FOLDER}values.json")
    assert head["Metadata"]["run-id"] == response["runId"] == "req-1"
    assert head["Metadata"]["code-hash"] == "hash-1"


def test_manifest_lists_every_artifact_with_its_checksum(aws: Aws) -> None:
    run(aws, Counting())
    manifest = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}manifest.json")["Body"].read())
    assert [entry["name"] for entry in manifest["artifacts"]] == ["result.json", "values.json"]
    assert all(len(entry["sha256"]) == 64 for entry in manifest["artifacts"])
    assert manifest["scheduled_time"] == "2026-03-01T10:30:00Z"


def test_rng_is_seeded_by_the_business_date(aws: Aws) -> None:
    first = run(aws, Counting())["summary"]["first"]
    other = run(aws, Counting(), scheduled_event("2026-03-02T10:30:00Z"))["summary"]["first"]
    assert first != other
    assert run(aws, Counting())["summary"]["first"] == first


def test_second_run_of_a_successful_date_writes_nothing(aws: Aws) -> None:
    run(aws, Counting())
    versions = aws.versions()
    compute = Counting()
    response = run(aws, compute, scheduled_event(execution_id="exec-2"))
    assert (response["outcome"], compute.calls, aws.versions()) == ("already_done", 0, versions)


def test_failure_records_error_and_writes_no_artifacts(aws: Aws) -> None:
    with pytest.raises(ComputationFailed) as err:
        run(aws, Counting(ValueError("negative variance")))
    assert (err.value.code, err.value.message) == ("ValueError", "negative variance")
    item = aws.item("2026-03-01")
    assert item is not None
    assert (item["status"]["S"], item["error_code"]["S"], item["error"]["S"]) == (
        "FAILED", "ValueError", "negative variance")
    assert aws.object_keys() == []


def test_retry_after_failure_succeeds_and_counts_attempts(aws: Aws) -> None:
    with pytest.raises(ComputationFailed):
        run(aws, Counting(RuntimeError("flaky")))
    response = run(aws, Counting())
    assert (response["status"], response["attempts"]) == ("SUCCESS", 2)
    item = aws.item("2026-03-01")
    assert item is not None and "error" not in item


def test_timeout_records_failed_timeout(aws: Aws) -> None:
    release = threading.Event()

    def stuck(ctx: RunContext) -> Result:
        release.wait()
        return Result(summary={})

    try:
        with pytest.raises(TimeBudgetExceeded):
            run(aws, stuck, context=LambdaContext(remaining_ms=3_100))
    finally:
        release.set()
    item = aws.item("2026-03-01")
    assert item is not None and (item["status"]["S"], item["error_code"]["S"]) == ("FAILED", "timeout")
    assert aws.object_keys() == []


def test_malformed_event_is_rejected_before_any_write(aws: Aws) -> None:
    with pytest.raises(EventError) as err:
        run(aws, Counting(), {"executionId": "e"})
    assert err.value.code == "InvalidEvent" and err.value.field == "scheduledTime"
    assert aws.dynamodb.scan(TableName=TABLE)["Count"] == 0


def test_conflicting_existing_artifact_is_a_loud_failure(aws: Aws) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}values.json", Body=b"someone else's bytes")
    with pytest.raises(ComputationFailed) as err:
        run(aws, Counting())
    assert err.value.code == "ArtifactConflict"
    assert aws.s3.get_object(Bucket=BUCKET, Key=f"{FOLDER}values.json")["Body"].read() == b"someone else's bytes"
    assert f"{FOLDER}manifest.json" not in aws.object_keys()
    item = aws.item("2026-03-01")
    assert item is not None and item["error_code"]["S"] == "ArtifactConflict"


def test_reserved_result_name_is_refused(aws: Aws) -> None:
    with pytest.raises(ComputationFailed) as err:
        run(aws, lambda ctx: Result(summary={}, artifacts={"result.json": {}}))
    assert err.value.code == "InvalidArtifact"
    assert err.value.message == "'result.json' is reserved for the summary; rename the artifact"


def test_concurrent_identical_invocations_compute_once(aws: Aws) -> None:
    compute = Counting()
    barrier = threading.Barrier(8)
    responses: list[dict[str, Any]] = []

    def invoke() -> None:
        barrier.wait()
        responses.append(run(aws, compute))

    threads = [threading.Thread(target=invoke) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compute.calls == 1
    assert sorted(r["outcome"] for r in responses).count("computed") == 1
    assert aws.versions() == 3


def test_handler_reads_settings_from_environment(aws: Aws, monkeypatch: pytest.MonkeyPatch,
                                                 lambda_context: LambdaContext) -> None:
    for key, value in (("SCIFLOW_COMPUTATION", "daily-stats"), ("SCIFLOW_ARTIFACT_BUCKET", BUCKET),
                       ("SCIFLOW_LEDGER_TABLE", TABLE), ("SCIFLOW_ARTIFACT_PREFIX", PREFIX),
                       ("SCIFLOW_TIMEZONE", "Asia/Kolkata")):
        monkeypatch.setenv(key, value)
    response = scheduled_handler(Counting())(scheduled_event("2026-02-28T23:30:00Z"), lambda_context)
    assert (response["date"], response["status"]) == ("2026-03-01", "SUCCESS")


def test_replay_after_a_lost_ledger_update_adopts_the_published_set(aws: Aws) -> None:
    """A crash after the manifest (ledger left FAILED) is recovered from the manifest, not recomputed: a
    computation whose inputs changed since would otherwise fail forever on its own write-once artifacts."""
    first = run(aws, lambda ctx: Result(summary={"n": 1}, artifacts={"values.json": {"v": 1}}))
    aws.dynamodb.update_item(TableName=TABLE, Key={"computation": {"S": "daily-stats"}, "date": {"S": "2026-03-01"}},
                             UpdateExpression="SET #s = :f", ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":f": {"S": "FAILED"}})
    versions = aws.versions()
    changed = Counting()
    again = run(aws, changed, scheduled_event(execution_id="exec-2"))
    assert (again["outcome"], again["status"], changed.calls, aws.versions()) == ("recovered", "SUCCESS", 0, versions)
    assert (again["artifacts"], again["manifest"], again["summary"]) == (
        first["artifacts"], first["manifest"], {"n": 1})
    assert (again["inputs"], again["outputs"]) == (first["inputs"], first["outputs"])


def test_a_manifest_of_another_date_or_computation_is_not_adopted(aws: Aws) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}manifest.json",
                      Body=json.dumps({"computation": "other", "date": "2026-03-01", "artifacts": []}).encode())
    with pytest.raises(ComputationFailed) as err:
        run(aws, Counting())
    assert err.value.code == "ArtifactConflict"


def test_a_refused_manifest_read_is_recorded_failed_not_left_running(aws: Aws) -> None:
    """Reading back the published set is part of the run: an error there is a FAILED record and a raise."""
    run(aws, Counting())
    aws.dynamodb.update_item(TableName=TABLE, Key={"computation": {"S": "daily-stats"}, "date": {"S": "2026-03-01"}},
                             UpdateExpression="SET #s = :f", ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":f": {"S": "FAILED"}})
    aws.s3.put_object(Bucket=BUCKET, Key=f"{FOLDER}manifest.json", Body=b"{not json")
    with pytest.raises(ComputationFailed) as err:
        run(aws, Counting(), scheduled_event(execution_id="exec-2"))
    item = aws.item("2026-03-01")
    assert item is not None and (item["status"]["S"], item["error_code"]["S"]) == ("FAILED", err.value.code)
