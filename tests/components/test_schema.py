"""components.schema: one declaration per knob gives Python checks, the config reader and the docs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from components.config import ComputationEntry, LayerEntry, PipelineEntry, StackConfig, parse_stack_config
from components.etl_pipeline import EtlPipelineArgs, EtlRetryArgs
from components.functions import FunctionSpec, RetryArgs
from components.layer_bundle import LayerBundleArgs
from components.scheduled_computation import ScheduledComputationArgs
from components.schema import (
    ConfigError,
    _plain,
    _resolve_type,
    camel,
    config_key,
    config_keys,
    from_config,
    knob,
    knob_of,
    markdown_table,
    validate,
)
from handlers.runtime import validators as v
from handlers.runtime.validators import Invalid

SCHEMAS = (LayerBundleArgs, ScheduledComputationArgs, EtlPipelineArgs, RetryArgs, EtlRetryArgs, FunctionSpec,
           StackConfig, LayerEntry, ComputationEntry, PipelineEntry)


# --------------------------------------------------------------------------- every field is declared once, fully
@pytest.mark.parametrize("cls", SCHEMAS, ids=lambda c: c.__name__)
def test_every_field_has_a_doc_line_and_a_unique_camel_case_key(cls: type) -> None:
    for field in dataclasses.fields(cls):
        assert knob_of(field).doc.strip(), f"{cls.__name__}.{field.name} has no doc line"
    keys = config_keys(cls)
    assert len(keys) == len(set(keys)), f"{cls.__name__}: duplicate config keys {keys}"
    for field in dataclasses.fields(cls):
        key = config_key(field)
        if key is not None and not knob_of(field).inline:
            assert key == camel(field.name)


@pytest.mark.parametrize("cls", SCHEMAS, ids=lambda c: c.__name__)
def test_every_config_key_has_a_type_the_reader_can_spell(cls: type) -> None:
    for field in dataclasses.fields(cls):
        if config_key(field) is not None:
            assert _plain(_resolve_type(cls, field)), f"{cls.__name__}.{field.name}: {field.type}"


def test_camel() -> None:
    assert [camel(n) for n in ("memory_mb", "max_event_age_s", "dataset", "budget_usd_month")] == [
        "memoryMb", "maxEventAgeS", "dataset", "budgetUsdMonth"]


def test_a_field_without_knob_is_a_declaration_error() -> None:
    @dataclass
    class Plain:
        x: int = 1

    with pytest.raises(TypeError, match=r"not declared with components\.schema\.knob"):
        config_keys(Plain)


# --------------------------------------------------------------------------- one validator, two entry points
CASES: list[tuple[type, dict[str, Any], str, str, Any, str]] = [
    # (Args, required kwargs, field, config key, bad value, expected message)
    (ScheduledComputationArgs, {"handler": "a.b", "schedule": "rate(1 day)"}, "schedule", "schedule",
     "cron(99 16 * * ? *)", "'cron(99 16 * * ? *)': minutes 99 is outside 0..59"),
    (ScheduledComputationArgs, {"handler": "a.b", "schedule": "rate(1 day)"}, "timezone", "timezone",
     "Mars/Olympus", "'Mars/Olympus' is not an IANA time zone"),
    (ScheduledComputationArgs, {"handler": "a.b", "schedule": "rate(1 day)"}, "artifact_prefix", "artifactPrefix",
     "/abs/", "'/abs/' is not a relative S3 prefix ending with '/'"),
    (ScheduledComputationArgs, {"handler": "a.b", "schedule": "rate(1 day)"}, "log_retention_days",
     "logRetentionDays", 31, "31 is not a CloudWatch Logs retention period"),
    (ScheduledComputationArgs, {"handler": "a.b", "schedule": "rate(1 day)"}, "alarm_topic_arn", "alarmTopicArn",
     "sns-topic", "'sns-topic' is not an ARN"),
    (EtlPipelineArgs, {"dataset": "sensor_readings"}, "partition_rows", "partitionRows", 0,
     "0 is outside 1..10000000"),
    (EtlPipelineArgs, {"dataset": "sensor_readings"}, "state_machine_type", "stateMachineType", "standard",
     "'standard' is not one of STANDARD, EXPRESS; did you mean 'STANDARD'?"),
    (EtlPipelineArgs, {"dataset": "sensor_readings"}, "input_suffix", "inputSuffix", "*.csv",
     "'*.csv' is not a key suffix"),
    (LayerBundleArgs, {"requirements": ["numpy"]}, "architecture", "architecture", "aarch64",
     "'aarch64' is not one of x86_64, arm64"),
    (LayerBundleArgs, {"requirements": ["numpy"]}, "pyc", "pyc", "some", "'some' is not one of all, imported, none"),
]


@pytest.mark.parametrize(("cls", "required", "field", "key", "bad", "message"), CASES,
                         ids=[f"{c[0].__name__}.{c[2]}" for c in CASES])
def test_python_and_config_get_the_same_check(cls: type, required: dict[str, Any], field: str, key: str, bad: Any,
                                              message: str) -> None:
    with pytest.raises(Invalid) as python_error:
        cls(**{**required, field: bad})
    assert str(python_error.value).startswith(f"{field}: {message}")
    config = {camel(k): v_ for k, v_ in required.items()}
    with pytest.raises(ConfigError) as config_error:
        from_config(cls, {**config, key: bad}, root="sciflow:", parts=("things", 0))
    assert str(config_error.value) == f"sciflow:things[0].{key}: {python_error.value.message}"


def test_python_errors_in_nested_args_and_mappings_name_the_field() -> None:
    with pytest.raises(Invalid, match=r"^max_attempts: 200 is outside 0\.\.185$"):
        RetryArgs(max_attempts=200)
    with pytest.raises(Invalid, match=r"^backoff_rate: 0\.5 must be at least 1\.0$"):
        EtlRetryArgs(backoff_rate=0.5)
    with pytest.raises(Invalid, match=r"^step_memory_mb\.ingest: 64 is outside 128\.\.10240$"):
        EtlPipelineArgs(dataset="sensor_readings", step_memory_mb={"ingest": 64})
    with pytest.raises(Invalid, match=r"^layers: 6 items, at most 5 allowed$"):
        FunctionSpec("etl.ingest.handler", layers=["a"] * 6)


def test_nested_args_must_be_their_own_class() -> None:
    with pytest.raises(Invalid, match=r"^retry: RetryArgs\(max_attempts=3, max_event_age_s=3600\) \(RetryArgs\) is "
                                      r"not an instance of EtlRetryArgs$"):
        EtlPipelineArgs(dataset="sensor_readings", retry=RetryArgs())  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=r"^retry: \{'max_attempts': 5\} \(dict\) is not an instance of RetryArgs$"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", retry={"max_attempts": 5})  # type: ignore
    assert EtlPipelineArgs(dataset="sensor_readings", retry=EtlRetryArgs(max_attempts=1)).retry.max_attempts == 1


def test_python_type_mistakes_are_caught() -> None:
    with pytest.raises(Invalid, match=r"^memory_mb: '1024' is not an integer$"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", memory_mb="1024")  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=r"^environment\.SEED: 42 \(int\) is not a string$"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", environment={"SEED": 42})  # type: ignore


def test_replace_revalidates() -> None:
    args = ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)")
    with pytest.raises(Invalid, match=r"^timeout_s: "):
        dataclasses.replace(args, timeout_s=0)


def test_values_only_known_at_deploy_time_pass() -> None:
    class Deferred:  # stands in for a pulumi.Output
        pass

    args = ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", alarm_topic_arn=Deferred(),  # type: ignore
                                    environment={"X": Deferred()}, layers=[Deferred()])  # type: ignore[dict-item,list-item]
    assert len(args.layers) == 1


# --------------------------------------------------------------------------- the generic reader
@dataclass(frozen=True)
class Inner:
    limit: int = knob(5, check=v.int_range(1, 9), doc="a limit")
    ratio: float = knob(1.0, check=v.number_at_least(0), doc="a ratio")

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class Outer:
    label: str = knob(check=v.text, doc="required")
    inner: Inner = knob(Inner(), doc="nested")
    items: tuple[Inner, ...] = knob((), doc="list of nested")
    names: Sequence[str] = knob((), check=v.each(v.name), doc="names")
    counts: Mapping[str, int] = knob({}, check=v.mapping(v.text, v.int_range(0, 3)), doc="counts")
    enabled: bool = knob(False, check=v.boolean, doc="flag")
    secret: str = knob("hidden", key=None, doc="python only")
    renamed: int = knob(0, key="otherName", doc="explicit key")

    def __post_init__(self) -> None:
        validate(self)


def read(raw: Any, **python: Any) -> Outer:
    return from_config(Outer, raw, root="ns:", parts=("outer",), **python)


def error(raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        read(raw)
    return str(info.value)


def test_reader_builds_nested_lists_and_mappings() -> None:
    got = read({"label": "x", "inner": {"limit": "7"}, "items": [{"ratio": 2}, {}], "names": ["ab-c"],
                "counts": {"b": 1, "a": 2}, "enabled": "true", "otherName": 3})
    assert got == Outer(label="x", inner=Inner(limit=7), items=(Inner(ratio=2.0), Inner()), names=["ab-c"],
                        counts={"a": 2, "b": 1}, enabled=True, renamed=3)
    assert list(got.counts) == ["a", "b"]  # sorted: the same config gives the same program


def test_reader_paths() -> None:
    assert error({"label": "x", "items": [{}, {"limit": 10}]}) == "ns:outer.items[1].limit: 10 is outside 1..9"
    assert error({"label": "x", "items": [{}, {"limt": 1}]}).startswith(
        "ns:outer.items[1].limt: unknown key; did you mean 'limit'?")
    assert error({"label": "x", "counts": {"a": 4}}) == "ns:outer.counts.a: 4 is outside 0..3"
    assert error({"label": "x", "names": ["ok", "Bad"]}).startswith("ns:outer.names[1]: 'Bad' is not a valid name")
    assert error({"label": "x", "inner": [1]}) == "ns:outer.inner: expected a mapping, got [1] (list)"
    assert error({"label": "x", "items": {"a": 1}}) == "ns:outer.items: expected a list, got {'a': 1} (dict)"
    assert error({}) == "ns:outer.label: is required"
    assert error({"label": 5}) == "ns:outer.label: 5 (int) is not a string"


def test_python_only_fields_are_not_config_keys() -> None:
    assert "secret" not in config_keys(Outer)
    assert error({"label": "x", "secret": "s"}).startswith("ns:outer.secret: unknown key")
    assert read({"label": "x"}, secret="given").secret == "given"


def test_markdown_table_lists_nested_fields_and_python_only_ones() -> None:
    table = markdown_table(Outer).splitlines()
    assert table[0] == "| arg | config key | type | default | meaning |"
    assert "| `inner.limit` | `inner.limit` | `int` | `5` | a limit |" in table
    assert "| `inner` | `inner` | `Inner` | `Inner()` | nested |" in table
    assert "| `secret` | — | `str` | `'hidden'` | python only |" in table
    assert "| `renamed` | `otherName` | `int` | `0` | explicit key |" in table


def test_the_stack_reads_every_component_key() -> None:
    """A key in a component's table is accepted in a stack entry (no second list of keys to keep in step)."""
    entry_keys = {LayerEntry: LayerBundleArgs, ComputationEntry: ScheduledComputationArgs,
                  PipelineEntry: EtlPipelineArgs}
    for entry, args in entry_keys.items():
        assert config_keys(entry) == ["name", *config_keys(args)]
    cfg = parse_stack_config({"computations": [{"name": "comp", "handler": "a.b", "schedule": "rate(1 day)",
                                                "logLevel": "DEBUG", "expectedDurationS": 3}]}, region="eu-west-1")
    assert (cfg.computations[0].args.log_level, cfg.computations[0].args.expected_duration_s) == ("DEBUG", 3.0)
