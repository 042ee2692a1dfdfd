"""handlers.runtime.scheduled: event parsing, business dates, seeds and settings (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handlers.runtime import env
from handlers.runtime.errors import EventError, SettingsError
from handlers.runtime.scheduled import Settings, business_date, date_seed, parse_event
from tests.support.events import scheduled_event


def test_parses_scheduler_payload() -> None:
    parsed = parse_event(scheduled_event(attempt="2"))
    assert parsed.scheduled_time == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert (parsed.execution_id, parsed.attempt, parsed.source) == ("exec-1", 2, "scheduler")


def test_parses_eventbridge_rule_scheduled_event() -> None:
    parsed = parse_event({"detail-type": "Scheduled Event", "time": "2026-03-01T10:30:00Z", "id": "ev-1"})
    assert (parsed.scheduled_time.hour, parsed.execution_id, parsed.source) == (10, "ev-1", "events")


def test_offset_timestamps_are_normalized_to_utc() -> None:
    parsed = parse_event(scheduled_event("2026-03-01T16:00:00+05:30"))
    assert parsed.scheduled_time == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def test_rejects_non_object_event() -> None:
    with pytest.raises(EventError) as err:
        parse_event(["not", "an", "object"])
    assert err.value.code == "InvalidEvent"
    assert err.value.message == "field 'event' must be a JSON object with scheduledTime and executionId, got list"


def test_rejects_missing_scheduled_time() -> None:
    with pytest.raises(EventError) as err:
        parse_event({"executionId": "e"})
    assert (err.value.code, err.value.field) == ("InvalidEvent", "scheduledTime")
    assert "is required" in err.value.message and "<aws.scheduler.scheduled-time>" in err.value.message


def test_rejects_unparseable_scheduled_time() -> None:
    with pytest.raises(EventError) as err:
        parse_event(scheduled_event("yesterday"))
    assert err.value.message == "field 'scheduledTime' 'yesterday' is not an ISO-8601 timestamp"


def test_rejects_scheduled_time_without_offset() -> None:
    with pytest.raises(EventError) as err:
        parse_event(scheduled_event("2026-03-01T10:30:00"))
    assert "has no UTC offset" in err.value.message


def test_rejects_unsubstituted_template() -> None:
    with pytest.raises(EventError) as err:
        parse_event(scheduled_event(execution_id="<aws.scheduler.execution-id>"))
    assert err.value.field == "executionId"


def test_rejects_bad_attempt_number() -> None:
    with pytest.raises(EventError) as err:
        parse_event(scheduled_event(attempt="zero"))
    assert err.value.message == "field 'attemptNumber' must be a positive integer, got 'zero'"


def test_near_midnight_utc_maps_to_next_local_date_in_kolkata() -> None:
    assert business_date(datetime(2026, 2, 28, 23, 30, tzinfo=UTC), "Asia/Kolkata") == date(2026, 3, 1)


def test_early_utc_maps_to_previous_local_date_in_los_angeles() -> None:
    assert business_date(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), "America/Los_Angeles") == date(2026, 2, 28)


def test_date_seed_depends_on_the_date_only() -> None:
    assert date_seed(date(2026, 3, 1)) == date_seed(date(2026, 3, 1))
    assert date_seed(date(2026, 3, 1)) != date_seed(date(2026, 3, 2))


def test_settings_read_from_environment() -> None:
    settings = Settings.from_env({env.COMPUTATION_NAME: "c", env.ARTIFACT_BUCKET: "b", env.LEDGER_TABLE: "t",
                                  env.TIMEZONE: "Asia/Kolkata", env.LEASE_SECONDS: "180"})
    assert (settings.timezone, settings.lease_s, settings.prefix) == ("Asia/Kolkata", 180, "")


def test_settings_argument_beats_environment() -> None:
    settings = Settings.from_env({env.COMPUTATION_NAME: "c", env.ARTIFACT_BUCKET: "b", env.LEDGER_TABLE: "t"},
                                 bucket="other")
    assert settings.bucket == "other"


def test_settings_missing_bucket_names_the_variable() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({env.COMPUTATION_NAME: "c", env.LEDGER_TABLE: "t"})
    assert err.value.code == "InvalidSettings"
    assert err.value.message == "SCIFLOW_ARTIFACT_BUCKET is not set (and no bucket= argument was given)"


def test_settings_reject_unknown_timezone() -> None:
    with pytest.raises(SettingsError, match=r"SCIFLOW_TIMEZONE: 'Mars/Olympus' is not an IANA time zone"):
        Settings.from_env({env.COMPUTATION_NAME: "c", env.ARTIFACT_BUCKET: "b", env.LEDGER_TABLE: "t",
                           env.TIMEZONE: "Mars/Olympus"})
