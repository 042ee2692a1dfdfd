"""handlers.runtime.validators: every value check of sciflow, tested directly."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers.runtime import validators as v
from handlers.runtime.validators import Invalid


def message(check: Any, value: Any) -> str:
    with pytest.raises(Invalid) as info:
        check(value)
    return str(info.value)


# --------------------------------------------------------------------------- schedules (AWS's cron table)
@pytest.mark.parametrize("expression", [
    "cron(0 16 * * ? *)", "cron(15 10 ? * 6L 2026-2030)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 12 L * ? *)",
    "cron(0 8 1W * ? *)", "cron(0 8 LW * ? *)", "cron(0 9 ? * 3#2 *)", "cron(5,35 14 * JAN,JUL ? *)",
    "cron(*/10 * * * ? *)", "cron(0 0 1 1 ? 1970)", "cron(59 23 31 12 ? 2199)", "cron(0 18 ? * sun *)",
    "cron(0 0 ? DEC-FEB 1-7 *)", "rate(1 minute)", "rate(5 minutes)", "rate(1 day)", "rate(12 hours)",
    "at(2026-03-01T10:30:00)",
])
def test_schedules_aws_accepts(expression: str) -> None:
    assert v.schedule(expression) == expression


@pytest.mark.parametrize(("expression", "problem"), [
    ("cron(99 16 * * ? *)", "minutes 99 is outside 0..59"),
    ("cron(0 24 * * ? *)", "hours 24 is outside 0..23"),
    ("cron(0 16 0 * ? *)", "day-of-month 0 is outside 1..31"),
    ("cron(0 16 32 * ? *)", "day-of-month 32 is outside 1..31"),
    ("cron(0 16 * 13 ? *)", "month 13 is outside 1..12"),
    ("cron(0 16 ? * 8 *)", "day-of-week 8 is outside 1..7"),
    ("cron(0 16 * * ? 1969)", "year 1969 is outside 1970..2199"),
    ("cron(0 16 * * ? 2200)", "year 2200 is outside 1970..2199"),
    ("cron(0 16 * FOO ? *)", "month 'FOO' is not a value (1..12 or JAN-DEC)"),
    ("cron(0 16 * * *)", "cron needs 6 fields"),
    ("cron(0 16 * * 1 *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 16 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 ? * * ? *)", "hours '?' is not a value"),
    ("cron(0 16 ? * 3#6 *)", "'#' needs a week 1..5"),
    ("cron(0/0 16 * * ? *)", "increment '0' is not 1..59"),
    ("cron(0 16 ? * MON/2 *)", "'/' is not allowed in day-of-week"),
    ("cron(0 16 20-10 * ? *)", "day-of-month range '20-10' runs backwards"),
    ("cron(0 16 1,,2 * ? *)", "empty list item"),
    ("cron(0 L * * ? *)", "hours 'L' is not a value"),
    ("rate(1 hours)", "use rate(1 hour) or rate(N hours) with N > 1"),
    ("rate(5 minute)", "use rate(1 minute) or rate(N minutes) with N > 1"),
    ("rate(0 minutes)", "use rate(1 minute)"),
    ("rate(2 weeks)", "is not a schedule expression"),
    ("at(2026-02-30T10:00:00)", "2026-02-30T10:00:00 is not a date and time"),
    ("every day", "is not a schedule expression"),
])
def test_schedules_aws_rejects(expression: str, problem: str) -> None:
    text = message(v.schedule, expression)
    assert text.startswith(repr(expression)) and problem in text


def test_schedule_must_be_a_string() -> None:
    assert message(v.schedule, None) == "None is not a non-empty string"


# --------------------------------------------------------------------------- time zones, names, prefixes
def test_timezone() -> None:
    assert v.timezone("UTC") == "UTC"
    assert message(v.timezone, "Europe/Berln") == (
        "'Europe/Berln' is not an IANA time zone; did you mean 'Europe/Berlin'?")
    assert message(v.timezone, "../etc/passwd").startswith("'../etc/passwd' is not an IANA time zone")
    assert message(v.timezone, "") == "'' is not a non-empty string"


@pytest.mark.parametrize(("value", "ok"), [("daily-stats", True), ("ab", True), ("a", False), ("Daily", False),
                                           ("1abc", False), ("abc-", False), ("a" * 33, False), ("a_b", False)])
def test_name(value: str, ok: bool) -> None:
    if ok:
        assert v.name(value) == value
    else:
        assert "is not a valid name" in message(v.name, value)


@pytest.mark.parametrize(("value", "ok"), [("", True), ("incoming/", True), ("a/b/", True), ("incoming", False),
                                           ("/abs/", False), ("a/../b/", False), ("a*/", False), ("..x/", True)])
def test_s3_prefix(value: str, ok: bool) -> None:
    if ok:
        assert v.s3_prefix(value) == value
    else:
        assert "is not a relative S3 prefix" in message(v.s3_prefix, value)


def test_key_suffix() -> None:
    assert v.key_suffix(".jsonl") == ".jsonl"
    assert "is not a key suffix" in message(v.key_suffix, "/x.csv")


def test_dataset() -> None:
    assert v.dataset("sensor_readings") == "sensor_readings"
    assert "did you mean 'sensor_readings'" in message(v.dataset, "sensor_reading")
    assert "no module" in message(v.dataset, "../etc")


def test_handler_path_and_module_name() -> None:
    assert v.handler_path("computations.daily_stats.handler")
    assert "dotted path" in message(v.handler_path, "handler")
    assert v.module_name("matplotlib.pyplot")
    assert "module name" in message(v.module_name, "matplotlib/pyplot")


def test_arn() -> None:
    assert v.arn("arn:aws-cn:sns:cn-north-1:123456789012:t")
    assert "is not an ARN" in message(v.arn, "arn:aws:sns:region:acct:t")


def test_requirement() -> None:
    assert v.requirement("numpy==2.2.6; python_version>='3.11'")
    assert "is not a PEP 508 requirement" in message(v.requirement, "numpy===")


def test_env_var_name() -> None:
    assert v.env_var_name("MY_VAR") == "MY_VAR"
    assert message(v.env_var_name, "1X") == "'1X' is not an environment variable name (letters, digits, '_')"
    assert message(v.env_var_name, "_HANDLER") == (
        "'_HANDLER' is not an environment variable name (letters, digits, '_')")
    assert message(v.env_var_name, "AWS_ACCESS_KEY_ID") == "'AWS_ACCESS_KEY_ID' is reserved by Lambda"


# --------------------------------------------------------------------------- ranges and Lambda facts
def test_int_range_rejects_bools_and_floats() -> None:
    check = v.int_range(1, 10)
    assert check(10) == 10
    assert message(check, True) == "True (bool) is not an integer"
    assert message(check, 2.0) == "2.0 (float) is not an integer"
    assert message(check, 11) == "11 is outside 1..10"


def test_number_at_least() -> None:
    assert v.number_at_least(0)(0) == 0
    assert message(v.number_at_least(0), float("nan")) == "nan (float) is not a number"
    assert message(v.number_at_least(0), "1") == "'1' is not a number"


def test_log_retention_days_is_a_cloudwatch_value() -> None:
    assert all(v.log_retention_days(d) == d for d in v.LOG_RETENTION_DAYS)
    assert "is not a CloudWatch Logs retention period" in message(v.log_retention_days, 0)
    assert "is not a CloudWatch Logs retention period" in message(v.log_retention_days, 3650)


def test_runtime_and_architecture() -> None:
    assert v.runtime("python3.12") == "python3.12"
    assert v.architecture("arm64") == "arm64"
    assert message(v.runtime, "python3.9").startswith("'python3.9' is not one of python3.11, python3.12, python3.13")
    assert message(v.architecture, "ARM64") == "'ARM64' is not one of x86_64, arm64; did you mean 'arm64'?"


def test_lambda_sizes() -> None:
    assert v.memory_mb(128) == 128 and v.memory_mb(10_240) == 10_240
    assert message(v.memory_mb, 127) == "127 is outside 128..10240"
    assert message(v.timeout_s, 901) == "901 is outside 1..900"
    assert message(v.layers, ["a"] * 6) == "6 items, at most 5 allowed"


# --------------------------------------------------------------------------- containers locate the bad item
def test_each_names_the_index() -> None:
    with pytest.raises(Invalid) as info:
        v.each(v.name)(["ok-name", "Bad"])
    assert info.value.parts == (1,) and str(info.value).startswith("[1]: 'Bad'")
    assert message(v.each(v.text), "abc") == "expected a list, got 'abc'"
    assert message(v.each(v.text, unique=True), ["a", "a"]) == "[1]: 'a' is listed twice"


def test_mapping_names_the_key() -> None:
    check = v.mapping(v.one_of("ingest", "output"), v.int_range(1, 2))
    assert check({"ingest": 1}) == {"ingest": 1}
    assert message(check, {"output": 3}) == "output: 3 is outside 1..2"
    assert message(check, {"outptu": 1}) == "outptu: key 'outptu' is not one of ingest, output; did you mean 'output'?"
    assert message(check, [1]) == "expected a mapping, got [1] (list)"


def test_invalid_at_prefixes_the_path() -> None:
    err = Invalid("bad", (0, "x")).at("items")
    assert (err.parts, str(err)) == (("items", 0, "x"), "items[0].x: bad")
    assert v.render_path(["a", 0, "b"], root="sciflow:") == "sciflow:a[0].b"


def test_validators_need_only_the_standard_library() -> None:
    """The module ships in the handlers zip and is imported by the Pulumi program: stdlib only (``packaging`` is
    imported lazily, for requirement strings, and optional)."""
    tree = ast.parse(Path(v.__file__).read_text())
    top_level = {alias.name.partition(".")[0] for node in tree.body if isinstance(node, ast.Import)
                 for alias in node.names}
    top_level |= {node.module.partition(".")[0] for node in tree.body
                  if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert top_level - {"__future__"} <= set(sys.stdlib_module_names)
