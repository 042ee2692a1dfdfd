"""The ETL step handlers against moto S3/DynamoDB (no Step Functions): one behaviour per test."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pandas as pd
import pytest

from handlers.etl import ingest as ingest_mod
from handlers.etl import on_failure, output, transform, validate
from handlers.etl.contract import IngestOutput, OutputOutput, TransformOutput, ValidateInput
from handlers.etl.errors import FileRejected, IncompleteRun
from handlers.etl.ledger import RunLedger
from handlers.etl.settings import EtlSettings, object_id
from handlers.etl.staging import read_staged
from handlers.runtime.errors import EventError, SettingsError

REGION = "ap-south-1"
RAW, PROCESSED, QUARANTINE, TABLE = "etl-raw", "etl-processed", "etl-quarantine", "etl-runs"
HEADER = "timestamp,sensor_id,value,unit\n"
CLEAN = HEADER + "".join(f"2026-03-01T00:{m:02d}:00Z,TMP-0001,{20 + m}.5,C\n" for m in range(5))
WITH_REJECTS = HEADER + ("2026-03-01T00:00:00Z,TMP-0001,20.5,C\n"
                         "2026-03-01T00:01:00Z,TMP-0001,abc,C\n"
                         "2026-03-01T00:02:00Z,TMP-0001,21.5,X\n"
                         "2026-03-01T00:00:00Z,TMP-0001,20.5,C\n")


@dataclass
class Env:
    s3: Any
    dynamodb: Any
    settings: EtlSettings

    @property
    def ledger(self) -> RunLedger:
        return RunLedger(TABLE, client=self.dynamodb)

    def put(self, key: str, body: str | bytes) -> dict[str, Any]:
        data = body.encode() if isinstance(body, str) else body
        response = self.s3.put_object(Bucket=RAW, Key=key, Body=data)
        return s3_event(key, response["VersionId"], response["ETag"].strip('"'), len(data))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def item(self, event: dict[str, Any]) -> dict[str, Any] | None:
        obj = event["detail"]["object"]
        return self.ledger.get(object_id(RAW, obj["key"], obj["version-id"]))


def s3_event(key: str, version_id: str | None = "v1", etag: str = "e1", size: int = 10, *,
             execution_id: str = "arn:aws:states:ap-south-1:123456789012:execution:etl:run-1") -> dict[str, Any]:
    """What the state machine passes to ingest: the EventBridge detail plus the execution id."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": "00AB"}
    if version_id:
        obj["version-id"] = version_id
    return {"detail": {"version": "0", "bucket": {"name": RAW}, "object": obj, "reason": "PutObject"},
            "execution_id": execution_id}


@pytest.fixture(name="env")
def env_fixture(aws_credentials: None) -> Iterator[Env]:
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RAW, PROCESSED, QUARANTINE):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=RAW, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "object_id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "object_id", "AttributeType": "S"}])
        settings = EtlSettings("sensor-etl", "sensor_readings", PROCESSED, QUARANTINE, TABLE, partition_rows=2,
                               distributed_threshold=10)
        yield Env(s3, dynamodb, settings)


def do_ingest(env: Env, event: dict[str, Any], **changes: Any) -> IngestOutput:
    return ingest_mod.ingest(event, settings=replace(env.settings, **changes), s3=env.s3, ledger=env.ledger)


def run_partitions(env: Env, plan: IngestOutput) -> list[TransformOutput]:
    out = []
    for part in plan["partitions"]:
        checked = validate.validate_partition({"run": plan["run"], "partition": part}, settings=env.settings,
                                              s3=env.s3)
        out.append(transform.transform_partition(checked, settings=env.settings, s3=env.s3))
    return out


def run_all(env: Env, key: str, body: str) -> tuple[dict[str, Any], OutputOutput]:
    event = env.put(key, body)
    plan = do_ingest(env, event)
    run_partitions(env, plan)
    return event, output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)


# --------------------------------------------------------------------------- settings
def test_settings_come_from_the_environment() -> None:
    settings = EtlSettings.from_env({"SCIFLOW_ETL_PIPELINE": "p", "SCIFLOW_ETL_DATASET": "sensor_readings",
                                     "SCIFLOW_ETL_PROCESSED_BUCKET": "b", "SCIFLOW_ETL_QUARANTINE_BUCKET": "q",
                                     "SCIFLOW_LEDGER_TABLE": "t", "SCIFLOW_ETL_PARTITION_ROWS": "500",
                                     "SCIFLOW_ETL_DISTRIBUTED_THRESHOLD": "40"})
    assert (settings.pipeline, settings.partition_rows, settings.distributed_threshold) == ("p", 500, 40)


def test_settings_have_no_defaults_of_their_own() -> None:
    """The component always sets every variable; the defaults live once, in EtlPipelineArgs."""
    with pytest.raises(SettingsError, match="SCIFLOW_ETL_DISTRIBUTED_THRESHOLD is not set"):
        EtlSettings.from_env({"SCIFLOW_ETL_PIPELINE": "p", "SCIFLOW_ETL_DATASET": "sensor_readings",
                              "SCIFLOW_ETL_PROCESSED_BUCKET": "b", "SCIFLOW_ETL_QUARANTINE_BUCKET": "q",
                              "SCIFLOW_LEDGER_TABLE": "t", "SCIFLOW_ETL_PARTITION_ROWS": "500"})


def test_settings_reject_a_non_integer_partition_size() -> None:
    with pytest.raises(SettingsError) as err:
        EtlSettings.from_env({"SCIFLOW_ETL_PIPELINE": "p", "SCIFLOW_ETL_DATASET": "d",
                              "SCIFLOW_ETL_PROCESSED_BUCKET": "b", "SCIFLOW_ETL_QUARANTINE_BUCKET": "q",
                              "SCIFLOW_LEDGER_TABLE": "t", "SCIFLOW_ETL_PARTITION_ROWS": "many"})
    assert err.value.code == "InvalidSettings"
    assert err.value.message == "SCIFLOW_ETL_PARTITION_ROWS='many' is not an integer"


# --------------------------------------------------------------------------- ingest
def test_ingest_claims_the_version_and_plans_partitions(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    plan = do_ingest(env, event)
    assert (plan["duplicate"], plan["distributed"]) == (False, False)
    assert [(p["first_row"], p["rows"]) for p in plan["partitions"]] == [(1, 2), (3, 2), (5, 1)]
    assert plan["run"]["partition_count"] == 3 and plan["run"]["rows"] == 5
    item = env.item(event)
    assert item is not None
    assert (item["status"], item["rows_total"], item["execution_id"]) == ("RUNNING", 5, event["execution_id"])


def test_second_event_for_the_same_version_is_a_duplicate(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, event)
    again = do_ingest(env, {**event, "execution_id": "arn:other-execution"})
    assert again["duplicate"] is True and again["partitions"] == []
    assert env.item(event)["execution_id"] == event["execution_id"]  # type: ignore[index]


def test_retried_ingest_of_the_same_execution_continues(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, event)
    assert do_ingest(env, event)["duplicate"] is False


def test_failed_run_can_be_replayed_by_a_new_execution(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, event)
    on_failure.record_failure({**event, "error": {"Error": "X", "Cause": "boom"}}, settings=env.settings,
                              ledger=env.ledger)
    replay = {**event, "execution_id": "arn:replay"}
    assert do_ingest(env, replay)["duplicate"] is False
    item = env.item(event)
    assert item is not None and (item["execution_id"], item["attempts"], item["status"]) == ("arn:replay", 2,
                                                                                            "RUNNING")


def test_new_version_of_the_same_key_is_a_new_run(env: Env) -> None:
    first = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, first)
    second = env.put("incoming/a.csv", CLEAN)
    assert do_ingest(env, {**second, "execution_id": "arn:exec-2"})["duplicate"] is False


def test_unversioned_object_is_identified_by_etag() -> None:
    event = s3_event("incoming/a.csv", version_id=None, etag="abc")
    assert ingest_mod.parse_detail(event) == (RAW, "incoming/a.csv", None, "abc")


def test_event_without_key_names_the_field() -> None:
    event = s3_event("incoming/a.csv")
    del event["detail"]["object"]["key"]
    with pytest.raises(EventError) as err:
        ingest_mod.parse_detail(event)
    assert (err.value.code, err.value.message) == ("InvalidEvent", "field 'detail.object.key' is required")


def test_many_partitions_go_to_s3_for_the_distributed_map(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/a.csv", CLEAN), distributed_threshold=2)
    assert plan["distributed"] is True and plan["partitions"] == []
    items = json.loads(env.read(PROCESSED, plan["items"]["key"]))
    assert plan["items"]["bucket"] == PROCESSED
    assert plan["items"]["key"].startswith("sensor-etl/staging/")
    assert [p["index"] for p in items] == [0, 1, 2]


def test_missing_column_fails_ingest_before_any_partition(env: Env) -> None:
    with pytest.raises(FileRejected) as err:
        do_ingest(env, env.put("incoming/a.csv", "timestamp,sensor_id,value\n2026-03-01T00:00:00Z,TMP-0001,1\n"))
    assert err.value.code == "MISSING_COLUMNS"
    assert err.value.message == ("s3://etl-raw/incoming/a.csv: missing column(s) 'unit' "
                                 "(expected timestamp, sensor_id, value, unit)")
    assert env.keys(PROCESSED) == []


# --------------------------------------------------------------------------- validate / transform
def test_validate_stages_valid_rows_and_quarantines_rejects_with_reasons(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/b.csv", WITH_REJECTS), partition_rows=10)
    result = validate.validate_partition({"run": plan["run"], "partition": plan["partitions"][0]},
                                         settings=env.settings, s3=env.s3)
    assert (result["rows"], result["valid"], result["rejected"]) == (4, 2, 2)
    assert result["rejects_key"] is not None
    rejects = pd.read_csv(io.BytesIO(env.read(QUARANTINE, result["rejects_key"])), dtype=str)
    assert rejects[["_row", "_reason"]].values.tolist() == [
        ["2", "value: 'abc' is not a number"], ["3", "unit: 'X' is not one of C, F, K"]]
    assert result["rejects_key"].startswith("sensor-etl/rejects/sensor_readings/")


def test_clean_partition_writes_no_quarantine_object(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/a.csv", CLEAN))
    result = validate.validate_partition({"run": plan["run"], "partition": plan["partitions"][1]},
                                         settings=env.settings, s3=env.s3)
    assert result["rejects_key"] is None and env.keys(QUARANTINE) == []


def test_transform_drops_exact_duplicates_and_records_the_result(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/b.csv", WITH_REJECTS), partition_rows=10)
    checked = validate.validate_partition({"run": plan["run"], "partition": plan["partitions"][0]},
                                          settings=env.settings, s3=env.s3)
    done = transform.transform_partition(checked, settings=env.settings, s3=env.s3)
    result = json.loads(env.read(PROCESSED, done["result_key"]))
    assert (result["valid"], result["duplicates"], result["rejected"]) == (2, 1, 2)
    rendered = env.read(PROCESSED, result["rows_key"]).decode().splitlines()
    assert rendered == ["2026-03-01T00:00:00Z,TMP-0001,20.5,C,20.5,2026-03-01"]
    assert len(read_staged(env.read(PROCESSED, result["valid_key"]))) == 2


def test_retried_step_rewrites_identical_objects(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/a.csv", CLEAN))
    event: ValidateInput = {"run": plan["run"], "partition": plan["partitions"][0]}
    first = validate.validate_partition(event, settings=env.settings, s3=env.s3)
    assert validate.validate_partition(event, settings=env.settings, s3=env.s3) == first


# --------------------------------------------------------------------------- output
def test_output_publishes_rows_aggregates_summary_report_and_manifest(env: Env) -> None:
    event, result = run_all(env, "incoming/a.csv", CLEAN)
    assert result["status"] == "COMPLETED"
    assert result["counts"] == {"rows": 5, "published": 5, "rejected": 0, "duplicates": 0}
    folder = result["manifest_key"].rsplit("/", 1)[0]
    assert folder.startswith("sensor-etl/published/sensor_readings/a/")
    names = [k.rsplit("/", 1)[1] for k in env.keys(PROCESSED, folder)]
    assert names == ["aggregates.csv", "manifest.json", "report.xlsx", "rows.csv", "summary.json"]
    manifest = json.loads(env.read(PROCESSED, result["manifest_key"]))
    assert sorted(a["name"] for a in manifest["artifacts"]) == ["aggregates.csv", "report.xlsx", "rows.csv",
                                                                "summary.json"]
    rows = env.read(PROCESSED, f"{folder}/rows.csv").decode().splitlines()
    assert rows[:2] == ["timestamp,sensor_id,value,unit,value_c,date",
                        "2026-03-01T00:00:00Z,TMP-0001,20.5,C,20.5,2026-03-01"]
    item = env.item(event)
    assert item is not None
    assert (item["status"], item["rows_published"], item["manifest_key"]) == ("COMPLETED", 5, result["manifest_key"])


def test_rejected_rows_make_the_run_completed_with_rejects(env: Env) -> None:
    event, result = run_all(env, "incoming/b.csv", WITH_REJECTS)
    assert result["status"] == "COMPLETED_WITH_REJECTS"
    assert result["counts"] == {"rows": 4, "published": 1, "rejected": 2, "duplicates": 1}
    assert env.item(event)["status"] == "COMPLETED_WITH_REJECTS"  # type: ignore[index]


def test_conflicting_duplicates_across_partitions_are_quarantined_by_output(env: Env) -> None:
    body = HEADER + ("2026-03-01T00:00:00Z,TMP-0001,20.5,C\n2026-03-01T00:01:00Z,TMP-0001,21.5,C\n"
                     "2026-03-01T00:00:00Z,TMP-0001,99.0,C\n")
    _, result = run_all(env, "incoming/c.csv", body)
    assert result["counts"]["rejected"] == 1
    key = next(k for k in env.keys(QUARANTINE) if k.endswith("duplicates.csv"))
    rejects = pd.read_csv(io.BytesIO(env.read(QUARANTINE, key)), dtype=str)
    assert rejects[["_row", "_reason"]].values.tolist() == [
        ["3", "sensor_id, timestamp: duplicate of row 1 with different values"]]


def test_missing_partition_result_publishes_nothing(env: Env) -> None:
    plan = do_ingest(env, env.put("incoming/a.csv", CLEAN))
    run_partitions(env, {**plan, "partitions": plan["partitions"][:1]})
    with pytest.raises(IncompleteRun) as err:
        output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert err.value.code == "INCOMPLETE_RUN"
    assert "partition(s) 1, 2 of 3 have no result" in err.value.message
    assert env.keys(PROCESSED, "sensor-etl/published/") == []


def test_retried_output_republishes_identical_objects(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    plan = do_ingest(env, event)
    run_partitions(env, plan)
    first = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    second = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert first == second


# --------------------------------------------------------------------------- on_failure
def lambda_error(message: str, error_type: str = "FileRejected") -> dict[str, str]:
    return {"Error": error_type, "Cause": json.dumps({"errorMessage": message, "errorType": error_type})}


def test_failure_is_recorded_with_the_lambda_error_message(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, event)
    out = on_failure.record_failure({**event, "error": lambda_error("EMPTY_FILE: s3://x is empty")},
                                    settings=env.settings, ledger=env.ledger)
    assert (out["status"], out["error"], out["message"], out["recorded"]) == (
        "FAILED", "FileRejected", "EMPTY_FILE: s3://x is empty", True)
    item = env.item(event)
    assert item is not None
    assert (item["status"], item["error"], item["error_message"]) == ("FAILED", "FileRejected",
                                                                      "EMPTY_FILE: s3://x is empty")


def test_failure_of_another_execution_does_not_overwrite_the_owner(env: Env) -> None:
    event = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, event)
    out = on_failure.record_failure({**event, "execution_id": "arn:intruder", "error": lambda_error("x")},
                                    settings=env.settings, ledger=env.ledger)
    assert out["recorded"] is False
    assert env.item(event)["status"] == "RUNNING"  # type: ignore[index]


def test_failure_before_any_claim_creates_the_item(env: Env) -> None:
    event = s3_event("incoming/never.csv", version_id="v9")
    on_failure.record_failure({**event, "error": {"Error": "States.Timeout", "Cause": "took too long"}},
                              settings=env.settings, ledger=env.ledger)
    item = env.item(event)
    assert item is not None and (item["status"], item["error_message"]) == ("FAILED", "took too long")
    assert (item["bucket"], item["key"], item["version"]) == (RAW, "incoming/never.csv", "v9")


def test_failure_message_without_a_lambda_cause_keeps_the_raw_cause() -> None:
    assert on_failure.failure_message(None) == ("Unknown", "")
    assert on_failure.failure_message({"Error": "X", "Cause": "not json"}) == ("X", "not json")


def test_failure_of_an_unreadable_event_is_recorded_under_the_execution(env: Env) -> None:
    out = on_failure.record_failure({"execution_id": "arn:exec-7", "error": lambda_error("bad event")},
                                    settings=env.settings, ledger=env.ledger)
    assert out["object_id"] == "unknown#arn:exec-7"
    assert env.ledger.get("unknown#arn:exec-7")["status"] == "FAILED"  # type: ignore[index]


def test_conflicting_duplicate_inside_one_partition_is_quarantined(env: Env) -> None:
    body = HEADER + ("2026-03-01T00:00:00Z,TMP-0001,20.5,C\n2026-03-01T00:01:00Z,TMP-0001,21.5,C\n"
                     "2026-03-01T00:00:00Z,TMP-0001,99.0,C\n2026-03-01T00:00:00Z,TMP-0001,20.5,C\n")
    event = env.put("incoming/one.csv", body)
    plan = do_ingest(env, event, partition_rows=100)
    run_partitions(env, plan)
    result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert result["counts"] == {"rows": 4, "published": 2, "rejected": 1, "duplicates": 1}
    folder = result["manifest_key"].rsplit("/", 1)[0]
    rows = env.read(PROCESSED, f"{folder}/rows.csv").decode().splitlines()
    assert [r.split(",")[2] for r in rows[1:]] == ["20.5", "21.5"]


def test_every_row_is_accounted_for_across_many_partitions(env: Env) -> None:
    from handlers.etl.datasets.sensor_readings import generate_frame

    frame = generate_frame(300, seed=4, bad_fraction=0.05, duplicate_fraction=0.05)
    conflict = frame.iloc[[7, 8]].assign(value="99.000", unit="C")  # conflicts far from their first rows
    body = pd.concat([frame, conflict], ignore_index=True).to_csv(index=False, lineterminator="\n")
    event = env.put("incoming/many.csv", body)
    plan = do_ingest(env, event, partition_rows=40)
    run_partitions(env, plan)
    result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    counts = result["counts"]
    assert counts["rows"] == 302 and counts["published"] + counts["rejected"] + counts["duplicates"] == 302
    folder = result["manifest_key"].rsplit("/", 1)[0]
    published = pd.read_csv(io.BytesIO(env.read(PROCESSED, f"{folder}/rows.csv")))
    assert len(published) == counts["published"]
    assert not published.duplicated(["sensor_id", "timestamp"]).any()
    assert published["timestamp"].is_monotonic_increasing  # file order kept across partitions


# --------------------------------------------------------------------------- input forms and limits
def published_rows(env: Env, result: Any) -> list[str]:
    folder = result["manifest_key"].rsplit("/", 1)[0]
    return env.read(PROCESSED, f"{folder}/rows.csv").decode().splitlines()


def test_gzip_input_is_decompressed_as_a_stream_and_publishes_what_the_plain_file_does(env: Env) -> None:
    import gzip

    _, plain = run_all(env, "incoming/plain.csv", WITH_REJECTS + CLEAN.split("\n", 1)[1])
    packed = gzip.compress(WITH_REJECTS.encode()) + gzip.compress(CLEAN.split("\n", 1)[1].encode())  # 2 members
    event = env.put("incoming/packed.csv.gz", packed)
    plan = do_ingest(env, event)
    assert plan["run"].get("staged_input") is True and len(plan["partitions"]) == 5
    run_partitions(env, plan)
    packed_result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert packed_result["counts"] == plain["counts"] == {"rows": 9, "published": 5, "rejected": 2, "duplicates": 2}
    assert published_rows(env, packed_result) == published_rows(env, plain)


def test_gzip_magic_without_a_gz_name_is_still_gzip(env: Env) -> None:
    import gzip

    event = env.put("incoming/no-suffix.csv", gzip.compress(CLEAN.encode()))
    plan = do_ingest(env, event)
    run_partitions(env, plan)
    result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert result["counts"]["published"] == 5


def test_corrupt_gzip_fails_ingest_naming_the_problem(env: Env) -> None:
    import gzip

    body = gzip.compress(CLEAN.encode())
    with pytest.raises(FileRejected) as err:
        do_ingest(env, env.put("incoming/cut.csv.gz", body[: len(body) // 2]))
    assert err.value.code == "BAD_GZIP" and "truncated" in err.value.message
    assert env.keys(PROCESSED, "sensor-etl/published/") == []


def test_json_lines_publish_what_the_same_csv_publishes(env: Env) -> None:
    frame = pd.read_csv(io.StringIO(WITH_REJECTS), dtype=str, keep_default_na=False)
    lines = "".join(json.dumps(r) + "\n" for r in frame.to_dict("records"))
    _, from_csv = run_all(env, "incoming/rows.csv", WITH_REJECTS)
    _, from_jsonl = run_all(env, "incoming/rows.jsonl", lines)
    assert from_jsonl["counts"] == from_csv["counts"]
    assert published_rows(env, from_jsonl) == published_rows(env, from_csv)


def test_timestamp_without_offset_is_rejected_with_its_reason_code(env: Env) -> None:
    body = HEADER + "2026-03-01T00:00:00,TMP-0001,20.5,C\n2026-03-01T00:01:00Z,TMP-0001,21.5,C\n"
    plan = do_ingest(env, env.put("incoming/naive.csv", body), partition_rows=10)
    checked = validate.validate_partition({"run": plan["run"], "partition": plan["partitions"][0]},
                                          settings=env.settings, s3=env.s3)
    assert checked["rejected"] == 1
    assert checked["rejects_key"] is not None
    rejects = pd.read_csv(io.BytesIO(env.read(QUARANTINE, checked["rejects_key"])), dtype=str)
    assert rejects["_reason"].tolist() == ["timestamp: '2026-03-01T00:00:00' has no UTC offset [NO_UTC_OFFSET]"]


def test_partitions_that_would_not_fit_in_memory_fail_ingest_naming_the_settings(env: Env) -> None:
    body = HEADER + "".join(f"2026-03-01T00:{m % 60:02d}:00Z,TMP-{m:04d},20.5,C\n" for m in range(3000))
    with pytest.raises(FileRejected) as err:
        do_ingest(env, env.put("incoming/big.csv", body), partition_rows=3000, worker_memory_mb=257)
    assert err.value.code == "PARTITION_TOO_LARGE"
    assert "lower partitionRows (now 3000) or raise memoryMb" in err.value.message
    assert env.keys(PROCESSED) == []
    smaller = do_ingest(env, env.put("incoming/big.csv", body), partition_rows=100, worker_memory_mb=300)
    assert smaller["run"]["partition_count"] == 30
