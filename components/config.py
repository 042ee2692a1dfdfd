"""Typed stack configuration: the one module that reads ``pulumi.Config``.

``load()`` reads the ``sciflow:*`` keys (and ``aws:region``) once; ``parse_stack_config`` validates a plain
mapping into frozen dataclasses. Every error names the key path and the bad value, e.g.::

    sciflow:computations[0].timezone: 'Asia/Kolkatta' is not an IANA time zone

Components never read configuration or the environment: ``__main__.py`` hands these objects down as Args.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

NAMESPACE = "sciflow"
SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("x86_64", "arm64")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
_SCHEDULE = re.compile(
    r"^(cron\((?P<cron>[^)]+)\)|rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)|at\([0-9T:-]+\))$")
_LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                       2922, 3288, 3653)


class ConfigError(ValueError):
    """A stack configuration value is invalid; the message starts with the key path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class RetryConfig:
    """How often and for how long an event may be retried before it goes to the DLQ."""

    max_attempts: int = 3
    max_event_age_s: int = 3600
    backoff_rate: float = 2.0
    interval_s: int = 2


@dataclass(frozen=True)
class LayerConfig:
    name: str
    requirements: tuple[str, ...]
    runtime: str = "python3.11"
    architecture: str = "x86_64"
    exclude: tuple[str, ...] = ()
    include_runtime_packages: bool = False
    size_budget_bytes: int = 262_144_000
    smoke_imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComputationConfig:
    name: str
    handler: str
    schedule: str
    timezone: str = "UTC"
    flexible_window_minutes: int = 0
    layers: tuple[str, ...] = ()
    memory_mb: int = 1024
    timeout_s: int = 30
    environment: tuple[tuple[str, str], ...] = ()
    artifact_prefix: str = ""
    reserved_concurrency: int = 1
    retry: RetryConfig = field(default_factory=RetryConfig)
    log_retention_days: int = 30
    alarm_topic_arn: str | None = None
    expected_duration_s: float = 20.0
    expected_artifact_bytes: int = 2_000_000


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    dataset: str
    input_prefix: str = "incoming/"
    input_suffix: str = ".csv"
    layers: tuple[str, ...] = ()
    memory_mb: int = 1024
    timeout_s: int = 60
    partition_rows: int = 250_000
    max_concurrency: int = 4
    distributed_map_threshold: int = 40
    retry: RetryConfig = field(default_factory=RetryConfig)
    state_machine_type: str = "STANDARD"
    log_level: str = "INFO"
    log_retention_days: int = 30
    alarm_topic_arn: str | None = None
    expected_files_per_day: float = 24.0
    expected_rows_per_file: int = 100_000


@dataclass(frozen=True)
class StackConfig:
    region: str
    tags: tuple[tuple[str, str], ...] = ()
    budget_usd_month: float = 100.0
    layers: tuple[LayerConfig, ...] = ()
    computations: tuple[ComputationConfig, ...] = ()
    pipelines: tuple[PipelineConfig, ...] = ()

    def layer(self, name: str) -> LayerConfig:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


# --------------------------------------------------------------------------- field readers
T = TypeVar("T")


class _Obj:
    """A mapping being read at ``path``; remembers which keys were used so unknown keys are errors."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(path, f"expected a mapping, got {_show(raw)}")
        self.raw = raw
        self.path = path
        self.used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str, kind: Callable[[Any, str], T], default: T | None = None, *,
            required: bool = False) -> T:
        self.used.add(key)
        if key not in self.raw or self.raw[key] is None:
            if required:
                raise ConfigError(self.at(key), "is required")
            return default  # type: ignore[return-value]
        return kind(self.raw[key], self.at(key))

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise ConfigError(self.at(unknown[0]), f"unknown key (known: {', '.join(sorted(self.used))})")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(path, f"{_show(value)} is not a non-empty string")
    return value


def _int(lo: int, hi: int) -> Callable[[Any, str], int]:
    def read(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(path, f"{_show(value)} is not an integer")
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(path, f"{_show(value)} is not an integer") from None
        if not lo <= number <= hi:
            raise ConfigError(path, f"{number} is outside {lo}..{hi}")
        return number

    return read


def _float(value: Any, path: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(path, f"{_show(value)} is not a number") from None
    if number < 0:
        raise ConfigError(path, f"{number} must not be negative")
    return number


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ConfigError(path, f"{_show(value)} is not true or false")


def _choice(*options: str) -> Callable[[Any, str], str]:
    def read(value: Any, path: str) -> str:
        if value not in options:
            raise ConfigError(path, f"{_show(value)} is not one of {', '.join(options)}")
        return str(value)

    return read


def _name(value: Any, path: str) -> str:
    text = _str(value, path)
    if not _NAME.match(text):
        raise ConfigError(path, f"{text!r} is not a valid name (lowercase letters, digits and '-', 2-32 chars)")
    return text


def _timezone(value: Any, path: str) -> str:
    text = _str(value, path)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(path, f"{text!r} is not an IANA time zone") from None
    return text


def _schedule(value: Any, path: str) -> str:
    text = _str(value, path)
    match = _SCHEDULE.match(text)
    if not match:
        raise ConfigError(path, f"{text!r} is not a schedule expression: use cron(...), rate(N unit) or at(...)")
    if match.group("cron") is not None:
        fields = match.group("cron").split()
        if len(fields) != 6:
            raise ConfigError(path, f"{text!r}: cron needs 6 fields (minutes hours day-of-month month "
                                    f"day-of-week year), got {len(fields)}")
        if "?" not in (fields[2], fields[4]):
            raise ConfigError(path, f"{text!r}: one of day-of-month and day-of-week must be '?'")
    if match.group("n") is not None:
        n, unit = int(match.group("n")), match.group("unit")
        if n < 1 or (n == 1) != (not unit.endswith("s")):
            raise ConfigError(path, f"{text!r}: use rate(1 unit) or rate(N units) with N > 1")
    return text


def _handler(value: Any, path: str) -> str:
    text = _str(value, path)
    if not re.match(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$", text):
        raise ConfigError(path, f"{text!r} is not a dotted path inside handlers/ "
                                "(e.g. computations.daily_stats.handler)")
    return text


def _prefix(value: Any, path: str) -> str:
    text = str(value) if value is not None else ""
    if text.startswith("/") or ".." in text or "*" in text:
        raise ConfigError(path, f"{text!r} is not a valid S3 key prefix")
    return text


def _retention(value: Any, path: str) -> int:
    days = _int(1, 3653)(value, path)
    if days not in _LOG_RETENTION_DAYS:
        raise ConfigError(path, f"{days} is not a CloudWatch Logs retention period ({_LOG_RETENTION_DAYS})")
    return days


def _list(item: Callable[[Any, str], T]) -> Callable[[Any, str], tuple[T, ...]]:
    def read(value: Any, path: str) -> tuple[T, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(path, f"expected a list, got {_show(value)}")
        return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))

    return read


def _str_map(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping, got {_show(value)}")
    out = []
    for key, item in sorted(value.items()):
        if not isinstance(item, str | int | float | bool):
            raise ConfigError(f"{path}.{key}", f"{_show(item)} is not a string")
        out.append((str(key), str(item)))
    return tuple(out)


def _arn(value: Any, path: str) -> str:
    text = _str(value, path)
    if not text.startswith("arn:"):
        raise ConfigError(path, f"{text!r} is not an ARN")
    return text


def _retry(value: Any, path: str) -> RetryConfig:
    obj = _Obj(value, path)
    retry = RetryConfig(
        max_attempts=obj.get("maxAttempts", _int(0, 185), 3),
        max_event_age_s=obj.get("maxEventAgeS", _int(60, 86_400), 3600),
        backoff_rate=obj.get("backoffRate", _float, 2.0),
        interval_s=obj.get("intervalS", _int(1, 3600), 2),
    )
    obj.done()
    return retry


def _layer(value: Any, path: str) -> LayerConfig:
    obj = _Obj(value, path)
    layer = LayerConfig(
        name=obj.get("name", _name, required=True),
        requirements=obj.get("requirements", _list(_str), required=True),
        runtime=obj.get("runtime", _choice(*SUPPORTED_RUNTIMES), "python3.11"),
        architecture=obj.get("architecture", _choice(*ARCHITECTURES), "x86_64"),
        exclude=obj.get("exclude", _list(_str), ()),
        include_runtime_packages=obj.get("includeRuntimePackages", _bool, False),
        size_budget_bytes=obj.get("sizeBudgetBytes", _int(1, 262_144_000), 262_144_000),
        smoke_imports=obj.get("smokeImports", _list(_str), ()),
    )
    obj.done()
    if not layer.requirements:
        raise ConfigError(obj.at("requirements"), "must list at least one requirement")
    return layer


def _computation(value: Any, path: str) -> ComputationConfig:
    obj = _Obj(value, path)
    comp = ComputationConfig(
        name=obj.get("name", _name, required=True),
        handler=obj.get("handler", _handler, required=True),
        schedule=obj.get("schedule", _schedule, required=True),
        timezone=obj.get("timezone", _timezone, "UTC"),
        flexible_window_minutes=obj.get("flexibleWindowMinutes", _int(0, 1440), 0),
        layers=obj.get("layers", _list(_name), ()),
        memory_mb=obj.get("memoryMb", _int(128, 10_240), 1024),
        timeout_s=obj.get("timeoutS", _int(1, 900), 30),
        environment=obj.get("environment", _str_map, ()),
        artifact_prefix=obj.get("artifactPrefix", _prefix, ""),
        reserved_concurrency=obj.get("reservedConcurrency", _int(1, 1000), 1),
        retry=obj.get("retry", _retry, RetryConfig()),
        log_retention_days=obj.get("logRetentionDays", _retention, 30),
        alarm_topic_arn=obj.get("alarmTopicArn", _arn, None),
        expected_duration_s=obj.get("expectedDurationS", _float, 20.0),
        expected_artifact_bytes=obj.get("expectedArtifactBytes", _int(0, 10**12), 2_000_000),
    )
    obj.done()
    return comp


def _pipeline(value: Any, path: str) -> PipelineConfig:
    obj = _Obj(value, path)
    pipe = PipelineConfig(
        name=obj.get("name", _name, required=True),
        dataset=obj.get("dataset", _handler_module, required=True),
        input_prefix=obj.get("inputPrefix", _prefix, "incoming/"),
        input_suffix=obj.get("inputSuffix", _choice(".csv", ".json", ""), ".csv"),
        layers=obj.get("layers", _list(_name), ()),
        memory_mb=obj.get("memoryMb", _int(128, 10_240), 1024),
        timeout_s=obj.get("timeoutS", _int(1, 900), 60),
        partition_rows=obj.get("partitionRows", _int(1, 10_000_000), 250_000),
        max_concurrency=obj.get("maxConcurrency", _int(1, 1000), 4),
        distributed_map_threshold=obj.get("distributedMapThreshold", _int(1, 10_000), 40),
        retry=obj.get("retry", _retry, RetryConfig()),
        state_machine_type=obj.get("stateMachineType", _choice("STANDARD", "EXPRESS"), "STANDARD"),
        log_level=obj.get("logLevel", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        log_retention_days=obj.get("logRetentionDays", _retention, 30),
        alarm_topic_arn=obj.get("alarmTopicArn", _arn, None),
        expected_files_per_day=obj.get("expectedFilesPerDay", _float, 24.0),
        expected_rows_per_file=obj.get("expectedRowsPerFile", _int(1, 10**10), 100_000),
    )
    obj.done()
    return pipe


def _handler_module(value: Any, path: str) -> str:
    text = _str(value, path)
    if not re.match(r"^[a-z_][a-z0-9_]*$", text):
        raise ConfigError(path, f"{text!r} is not a dataset name (a module in handlers/etl/datasets/)")
    return text


def _unique(items: Sequence[Any], path: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.name in seen:
            raise ConfigError(f"{path}[{i}].name", f"{item.name!r} is used twice")
        seen.add(item.name)


def parse_stack_config(raw: Mapping[str, Any], *, region: str | None) -> StackConfig:
    """Validate the ``sciflow:*`` config of one stack (keys without the namespace, camelCase).

    Parameters
    ----------
    raw:
        e.g. ``{"layers": [...], "computations": [...], "pipelines": [...], "tags": {...}}``; values may be
        JSON-decoded structures or strings (as ``pulumi.Config.get`` returns them).
    region:
        the stack's ``aws:region``.

    Example
    -------
    >>> parse_stack_config({"budgetUsdMonth": 10}, region="eu-west-1").budget_usd_month
    10.0
    """
    if not region:
        raise ConfigError("aws:region", "is required (pulumi config set aws:region <region>)")
    obj = _Obj(raw, NAMESPACE)
    obj.at = lambda key: f"{NAMESPACE}:{key}"  # type: ignore[method-assign]
    cfg = StackConfig(
        region=region,
        tags=obj.get("tags", _str_map, ()),
        budget_usd_month=obj.get("budgetUsdMonth", _float, 100.0),
        layers=obj.get("layers", _list(_layer), ()),
        computations=obj.get("computations", _list(_computation), ()),
        pipelines=obj.get("pipelines", _list(_pipeline), ()),
    )
    obj.done()
    for key, items in (("layers", cfg.layers), ("computations", cfg.computations), ("pipelines", cfg.pipelines)):
        _unique(items, f"{NAMESPACE}:{key}")
    known = {layer.name for layer in cfg.layers}
    users_by_key: tuple[tuple[str, Sequence[ComputationConfig | PipelineConfig]], ...] = (
        ("computations", cfg.computations), ("pipelines", cfg.pipelines))
    for key, users in users_by_key:
        for i, user in enumerate(users):
            for j, layer_name in enumerate(user.layers):
                if layer_name not in known:
                    raise ConfigError(f"{NAMESPACE}:{key}[{i}].layers[{j}]",
                                      f"{layer_name!r} is not a layer declared in {NAMESPACE}:layers")
    return cfg


KEYS = ("tags", "budgetUsdMonth", "layers", "computations", "pipelines")


def load() -> StackConfig:
    """Read ``sciflow:*`` and ``aws:region`` from the running stack (the only place config is read)."""
    import json

    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for key in KEYS:
        text = config.get(key)
        if text is None:
            continue
        try:
            raw[key] = json.loads(text)
        except json.JSONDecodeError:
            raw[key] = text
    unknown = sorted(_configured_keys() - set(KEYS))
    if unknown:
        raise ConfigError(f"{NAMESPACE}:{unknown[0]}", f"unknown key (known: {', '.join(KEYS)})")
    return parse_stack_config(raw, region=pulumi.Config("aws").get("region"))


def _configured_keys() -> set[str]:
    """The ``sciflow:*`` keys the engine passed (explicitly set or through ``PULUMI_CONFIG``)."""
    from pulumi.runtime.config import CONFIG, get_config_env

    prefix = f"{NAMESPACE}:"
    keys = set(CONFIG.get()) | set(get_config_env())
    return {key[len(prefix):].removeprefix("config:") for key in keys if key.startswith(prefix)}
