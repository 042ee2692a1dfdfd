"""Typed stack config: every error names the key path and the bad value."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, RetryConfig, parse_stack_config


def computation(**overrides: Any) -> dict[str, Any]:
    base = {"name": "daily-stats", "handler": "computations.daily_stats.handler",
            "schedule": "cron(0 16 * * ? *)", "timezone": "Asia/Kolkata"}
    base.update(overrides)
    return base


def parse(**raw: Any):
    return parse_stack_config(raw, region="ap-south-1")


def error_of(**raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse(**raw)
    return str(info.value)


def test_defaults_are_safe() -> None:
    cfg = parse(computations=[computation()])
    comp = cfg.computations[0]
    assert (comp.memory_mb, comp.timeout_s, comp.reserved_concurrency) == (1024, 30, 1)
    assert comp.retry == RetryConfig()
    assert comp.log_retention_days == 30


def test_bad_timezone_names_the_key_path_and_value() -> None:
    assert error_of(computations=[computation(timezone="Asia/Kolkatta")]) == (
        "sciflow:computations[0].timezone: 'Asia/Kolkatta' is not an IANA time zone")


def test_unknown_key_is_an_error() -> None:
    assert error_of(computations=[computation(memory=512)]).startswith("sciflow:computations[0].memory: unknown key")


def test_unknown_top_level_key_is_an_error() -> None:
    assert error_of(computation=[]).startswith("sciflow:computation: unknown key")


@pytest.mark.parametrize(("schedule", "message"), [
    ("cron(0 16 * * *)", "cron needs 6 fields"),
    ("cron(0 16 * * 1 *)", "one of day-of-month and day-of-week must be '?'"),
    ("rate(1 hours)", "use rate(1 unit) or rate(N units)"),
    ("every day", "is not a schedule expression"),
])
def test_bad_schedules(schedule: str, message: str) -> None:
    assert message in error_of(computations=[computation(schedule=schedule)])


def test_timeout_out_of_range() -> None:
    assert error_of(computations=[computation(timeoutS=901)]) == (
        "sciflow:computations[0].timeoutS: 901 is outside 1..900")


def test_memory_must_be_an_integer() -> None:
    assert error_of(computations=[computation(memoryMb="lots")]) == (
        "sciflow:computations[0].memoryMb: 'lots' is not an integer")


def test_layer_reference_must_exist() -> None:
    assert error_of(computations=[computation(layers=["scientific"])]) == (
        "sciflow:computations[0].layers[0]: 'scientific' is not a layer declared in sciflow:layers")


def test_duplicate_names() -> None:
    assert error_of(computations=[computation(), computation()]) == (
        "sciflow:computations[1].name: 'daily-stats' is used twice")


def test_retention_must_be_a_cloudwatch_period() -> None:
    assert "is not a CloudWatch Logs retention period" in error_of(computations=[computation(logRetentionDays=31)])


def test_region_is_required() -> None:
    with pytest.raises(ConfigError, match=r"^aws:region: is required"):
        parse_stack_config({}, region=None)


def test_pipeline_and_layers_parse() -> None:
    cfg = parse(layers=[{"name": "scientific", "requirements": ["numpy==2.4.6"]}],
                pipelines=[{"name": "sensor-etl", "dataset": "sensor_readings", "layers": ["scientific"],
                            "retry": {"maxAttempts": 5}}])
    assert cfg.layer("scientific").runtime == "python3.11"
    assert cfg.pipelines[0].retry.max_attempts == 5
    assert cfg.pipelines[0].state_machine_type == "STANDARD"


def test_bad_runtime_lists_choices() -> None:
    message = error_of(layers=[{"name": "sci", "requirements": ["numpy"], "runtime": "python2.7"}])
    assert message.startswith("sciflow:layers[0].runtime: 'python2.7' is not one of python3.11")


def test_config_objects_are_frozen() -> None:
    cfg = parse(computations=[computation()])
    with pytest.raises(AttributeError):
        cfg.computations[0].memory_mb = 1  # type: ignore[misc]
