"""Event shapes, pattern matching and input templates of sandbox.events (pure functions, no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sandbox.async_invoke import destination_record
from sandbox.core import S3Notice
from sandbox.routing import (
    execution_name,
    iso_z,
    json_path,
    matches_pattern,
    render_input_transformer,
    render_scheduler_input,
    s3_eventbridge_event,
    scheduler_execution_id,
    target_input,
)

WHEN = datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=UTC)


def notice(**overrides: object) -> S3Notice:
    fields: dict[str, object] = {
        "event_name": "s3:ObjectCreated:Put", "bucket": "ingest-bucket", "region": "ap-south-1",
        "key": "incoming/2026-03-01.csv", "size": 42, "etag": "b1946ac92492d2347c6235b4d2611184",
        "version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "0064D3901D00059242", "time": WHEN,
    }
    fields.update(overrides)
    return S3Notice(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- S3 -> EventBridge shape
def test_object_created_event_has_the_aws_envelope_and_detail() -> None:
    event = s3_eventbridge_event(notice())
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources",
                          "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Object Created"
    assert event["source"] == "aws.s3"
    assert event["account"] == "123456789012"
    assert event["time"] == "2026-03-01T10:30:00Z"
    assert event["region"] == "ap-south-1"
    assert event["resources"] == ["arn:aws:s3:::ingest-bucket"]
    detail = event["detail"]
    assert detail["version"] == "0"
    assert detail["bucket"] == {"name": "ingest-bucket"}
    assert detail["object"] == {"key": "incoming/2026-03-01.csv", "size": 42,
                                "etag": "b1946ac92492d2347c6235b4d2611184",
                                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "0064D3901D00059242"}
    assert detail["reason"] == "PutObject"
    assert detail["requester"] == "123456789012"
    assert len(detail["request-id"]) == 16 and detail["request-id"].isupper()


def test_unversioned_bucket_event_has_no_version_id() -> None:
    assert "version-id" not in s3_eventbridge_event(notice(version_id=None))["detail"]["object"]


def test_event_id_is_stable_for_the_same_change_and_differs_per_change() -> None:
    assert s3_eventbridge_event(notice())["id"] == s3_eventbridge_event(notice())["id"]
    assert s3_eventbridge_event(notice())["id"] != s3_eventbridge_event(notice(sequencer="0064D3901D00059243"))["id"]


def test_delete_event_has_deletion_type_and_no_size() -> None:
    event = s3_eventbridge_event(notice(event_name="s3:ObjectRemoved:Delete"))
    assert event["detail-type"] == "Object Deleted"
    assert event["detail"]["deletion-type"] == "Permanently Deleted"
    assert "size" not in event["detail"]["object"]


def test_unknown_s3_event_is_an_error() -> None:
    with pytest.raises(ValueError, match="s3:Replication:OperationFailedReplication"):
        s3_eventbridge_event(notice(event_name="s3:Replication:OperationFailedReplication"))


# ---------------------------------------------------------------- pattern matching
S3_EVENT = s3_eventbridge_event(notice())


@pytest.mark.parametrize("pattern", [
    {"source": ["aws.s3"]},
    {"source": ["aws.ec2", "aws.s3"], "detail-type": ["Object Created"]},
    {"detail": {"bucket": {"name": ["ingest-bucket"]}}},
    {"detail": {"object": {"key": [{"prefix": "incoming/"}]}}},
    {"detail": {"object": {"key": [{"suffix": ".csv"}]}}},
    {"detail": {"object": {"key": [{"suffix": {"equals-ignore-case": ".CSV"}}]}}},
    {"detail": {"object": {"key": [{"wildcard": "incoming/*.csv"}]}}},
    {"detail": {"object": {"size": [{"numeric": [">", 0, "<=", 42]}]}}},
    {"detail": {"object": {"key": [{"anything-but": {"prefix": "quarantine/"}}]}}},
    {"detail": {"reason": [{"anything-but": ["DeleteObject"]}]}},
    {"detail": {"object": {"version-id": [{"exists": True}]}}},
    {"detail": {"missing": [{"exists": False}]}},
    {"detail": {"source-ip-address": [{"cidr": "127.0.0.0/8"}]}},
    {"resources": ["arn:aws:s3:::ingest-bucket"]},
    {"$or": [{"source": ["aws.ec2"]}, {"detail": {"reason": ["PutObject"]}}]},
])
def test_pattern_matches(pattern: dict[str, object]) -> None:
    assert matches_pattern(pattern, S3_EVENT)


@pytest.mark.parametrize("pattern", [
    {"source": ["aws.ec2"]},
    {"source": ["aws.s3"], "detail-type": ["Object Deleted"]},
    {"detail": {"bucket": {"name": ["other-bucket"]}}},
    {"detail": {"object": {"key": [{"prefix": "outgoing/"}]}}},
    {"detail": {"object": {"key": [{"suffix": ".json"}]}}},
    {"detail": {"object": {"key": [{"wildcard": "incoming/*.json"}]}}},
    {"detail": {"object": {"size": [{"numeric": [">", 42]}]}}},
    {"detail": {"object": {"key": [{"anything-but": {"prefix": "incoming/"}}]}}},
    {"detail": {"object": {"version-id": [{"exists": False}]}}},
    {"detail": {"missing": [{"exists": True}]}},
    {"detail": {"missing": ["x"]}},
    {"detail": {"object": {"key": ["INCOMING/2026-03-01.csv"]}}},
    {"$or": [{"source": ["aws.ec2"]}, {"detail": {"reason": ["CopyObject"]}}]},
    {},
])
def test_pattern_does_not_match(pattern: dict[str, object]) -> None:
    assert not matches_pattern(pattern, S3_EVENT)


def test_pattern_given_as_json_text_and_numbers_compare_as_numbers() -> None:
    assert matches_pattern(json.dumps({"detail": {"object": {"size": [42.0]}}}), S3_EVENT)
    assert not matches_pattern({"detail": {"flag": [True]}}, {"detail": {"flag": 1}})


def test_array_values_in_the_event_match_if_any_element_matches() -> None:
    assert matches_pattern({"resources": [{"prefix": "arn:aws:s3:::"}]}, {"resources": ["x", "arn:aws:s3:::b"]})


def test_unsupported_filter_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="frobnicate"):
        matches_pattern({"source": [{"frobnicate": 1}]}, {"source": "aws.s3"})


# ---------------------------------------------------------------- input templates
def test_json_path_resolves_dotted_indexed_and_quoted_paths() -> None:
    assert json_path(S3_EVENT, "$.detail.object.key") == "incoming/2026-03-01.csv"
    assert json_path(S3_EVENT, "$.resources[0]") == "arn:aws:s3:::ingest-bucket"
    assert json_path(S3_EVENT, "$.detail['request-id']") == S3_EVENT["detail"]["request-id"]
    assert json_path(S3_EVENT, "$.detail.nope") is None
    assert json_path(S3_EVENT, "$") == S3_EVENT


def test_input_transformer_quotes_outside_strings_and_inlines_inside() -> None:
    rendered = render_input_transformer(
        '{"bucket": <bucket>, "uri": "s3://<bucket>/<key>", "size": <size>, "rule": "<aws.events.rule-name>"}',
        {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key", "size": "$.detail.object.size"},
        S3_EVENT, rule_name="incoming")
    assert json.loads(rendered) == {"bucket": "ingest-bucket", "uri": "s3://ingest-bucket/incoming/2026-03-01.csv",
                                    "size": 42, "rule": "incoming"}


def test_target_input_precedence() -> None:
    assert target_input({"Input": '{"fixed": 1}'}, S3_EVENT) == '{"fixed": 1}'
    assert json.loads(target_input({"InputPath": "$.detail.bucket"}, S3_EVENT)) == {"name": "ingest-bucket"}
    assert json.loads(target_input({}, S3_EVENT)) == S3_EVENT


def test_scheduler_input_substitutes_every_context_attribute() -> None:
    arn = "arn:aws:scheduler:ap-south-1:123456789012:schedule/default/daily"
    template = json.dumps({"t": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>",
                           "n": "<aws.scheduler.attempt-number>", "arn": "<aws.scheduler.schedule-arn>"})
    rendered = json.loads(render_scheduler_input(template, schedule_arn=arn, scheduled_time=WHEN, attempt=2))
    assert rendered == {"t": "2026-03-01T10:30:00Z", "id": scheduler_execution_id(arn, WHEN, 2), "n": "2",
                        "arn": arn}
    assert len(rendered["id"]) == 16
    assert scheduler_execution_id(arn, WHEN, 1) != scheduler_execution_id(arn, WHEN, 2)


def test_scheduler_input_defaults_to_empty_object_and_converts_to_utc() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert render_scheduler_input(None, schedule_arn="a", scheduled_time=WHEN) == "{}"
    assert iso_z(datetime(2026, 3, 1, 16, 0, tzinfo=ist)) == "2026-03-01T10:30:00Z"
    with pytest.raises(ValueError, match="naive"):
        iso_z(datetime(2026, 3, 1, 10, 30))


def test_execution_names_are_valid_and_deterministic() -> None:
    name = execution_name("sample target/with spaces:colons", "event-id")
    assert name == execution_name("sample target/with spaces:colons", "event-id")
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)
    assert name != execution_name("sample target/with spaces:colons", "other-event")


def test_destination_record_shape() -> None:
    fn_arn = "arn:aws:lambda:ap-south-1:123456789012:function:f:$LATEST"
    record = destination_record(function_arn=fn_arn,
                                request_id="rid", event={"a": 1}, response={"errorType": "ValueError"},
                                function_error="Unhandled", invoke_count=3, timestamp=WHEN)
    assert record == {
        "version": "1.0", "timestamp": "2026-03-01T10:30:00.123Z",
        "requestContext": {"requestId": "rid", "functionArn": fn_arn,
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"a": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "ValueError"},
    }
