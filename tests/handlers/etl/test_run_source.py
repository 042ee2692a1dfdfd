"""Ingest records where a run's input came from (``source`` in the ledger) and claims one item per object
version whatever triggered it (an upload's event, a computation's write, a batch run's listing)."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.etl.contract import BATCH_SCHEDULE
from handlers.etl.ingest import object_version, run_source
from handlers.runtime.outputs import SOURCE_METADATA
from tests.handlers.etl.test_steps import CLEAN, RAW, Env, do_ingest, env_fixture, s3_event

__all__ = ["env_fixture"]


@pytest.mark.parametrize(("detail", "metadata", "expected"), [
    ({}, {}, ("upload", None)),
    ({}, {SOURCE_METADATA: "computation:region-fetcher"}, ("computation:region-fetcher", None)),
    ({BATCH_SCHEDULE: "sensor-etl-batch"}, {SOURCE_METADATA: "computation:x1"}, ("schedule:sensor-etl-batch", None)),
    ({}, {SOURCE_METADATA: "schedule:nightly"},
     ("upload", 'ignored sciflow-source metadata "schedule:nightly" (expected computation:<name>)')),
    ({}, {SOURCE_METADATA: "computation:Bad_Name"},
     ("upload", 'ignored sciflow-source metadata "computation:Bad_Name" (expected computation:<name>)')),
    ({}, {SOURCE_METADATA: "upload"}, ("upload", 'ignored sciflow-source metadata "upload" (expected '
                                                  "computation:<name>)")),
    ({BATCH_SCHEDULE: "=HYPERLINK(1)"}, {}, ("upload", "ignored batch schedule name '=HYPERLINK(1)'")),
    ({BATCH_SCHEDULE: ["x"]}, {}, ("upload", "ignored batch schedule name \"['x']\"")),
])
def test_run_source_trusts_only_the_three_shapes(detail: dict[str, object], metadata: dict[str, str],
                                                 expected: tuple[str, str | None]) -> None:
    assert run_source(detail, metadata) == expected


def test_object_version_prefers_the_event_then_s3_then_the_etag() -> None:
    assert object_version({"VersionId": "v9", "ETag": '"e"'}, "v1") == ("v1", "v1")
    assert object_version({"VersionId": "v9", "ETag": '"e"'}, None) == ("v9", "v9")
    assert object_version({"ETag": '"abc-2"'}, None) == (None, "abc-2")


def test_upload_computation_and_batch_sources_reach_the_ledger(env: Env) -> None:
    upload = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, upload)
    assert env.item(upload)["source"] == "upload"  # type: ignore[index]
    written = env.s3.put_object(Bucket=RAW, Key="incoming/b.csv", Body=CLEAN.encode(),
                                Metadata={SOURCE_METADATA: "computation:fetcher"})
    event = s3_event("incoming/b.csv", written["VersionId"], written["ETag"].strip('"'))
    do_ingest(env, event)
    assert env.item(event)["source"] == "computation:fetcher"  # type: ignore[index]
    forged = env.s3.put_object(Bucket=RAW, Key="incoming/c.csv", Body=CLEAN.encode(),
                               Metadata={SOURCE_METADATA: "=1+1"})
    event = s3_event("incoming/c.csv", forged["VersionId"], forged["ETag"].strip('"'))
    do_ingest(env, event)
    item = env.item(event)
    assert item is not None and (item["source"], item["source_note"]) == (
        "upload", 'ignored sciflow-source metadata "=1+1" (expected computation:<name>)')


def test_a_batch_item_and_the_upload_event_claim_the_same_version_once(env: Env) -> None:
    """The batch lists keys (no version id, quoted ETag): ingest resolves the version the event names."""
    upload = env.put("incoming/a.csv", CLEAN)
    listed = env.s3.list_objects_v2(Bucket=RAW, Prefix="incoming/")["Contents"][0]
    batch: dict[str, Any] = {"detail": {"bucket": {"name": RAW}, BATCH_SCHEDULE: "sensor-etl-batch",
                        "object": {"key": listed["Key"], "etag": listed["ETag"], "size": listed["Size"]}},
             "execution_id": "arn:aws:states:ap-south-1:123456789012:execution:etl:batch-1"}
    first = do_ingest(env, batch)
    assert first["duplicate"] is False
    assert first["run"]["version_id"] == upload["detail"]["object"]["version-id"]
    assert do_ingest(env, upload)["duplicate"] is True
    assert env.item(upload)["source"] == "schedule:sensor-etl-batch"  # type: ignore[index]
    # and the other way round: swept after its event ran
    second = env.put("incoming/b.csv", CLEAN)
    do_ingest(env, second)
    listed_b = {"key": "incoming/b.csv", "etag": '"x"', "size": 1}
    again = do_ingest(env, {**batch, "detail": {**batch["detail"], "object": listed_b}, "execution_id": "arn:b2"})
    assert again["duplicate"] is True
    assert env.item(second)["source"] == "upload"  # type: ignore[index]


def test_a_batch_leaves_a_failed_file_to_its_replay(env: Env) -> None:
    """Only an explicit replay (a new execution with the upload's event) runs a FAILED version again."""
    from handlers.etl import on_failure

    upload = env.put("incoming/a.csv", CLEAN)
    do_ingest(env, upload)
    on_failure.record_failure({**upload, "error": {"Error": "X", "Cause": "boom"}}, settings=env.settings,
                              ledger=env.ledger)
    listed = {k: v for k, v in upload["detail"]["object"].items() if k != "version-id"}
    batch = {"detail": {**upload["detail"], "object": listed, BATCH_SCHEDULE: "nightly-batch"},
             "execution_id": "arn:batch-child"}
    assert do_ingest(env, batch)["duplicate"] is True
    assert env.item(upload)["status"] == "FAILED"  # type: ignore[index]
    assert do_ingest(env, {**upload, "execution_id": "arn:replay"})["duplicate"] is False
