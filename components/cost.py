"""Monthly cost estimates from a documented price table (pure; no Pulumi, no network).

Prices are on-demand list prices in USD for the regions below, as published on the AWS pricing pages and
recorded on ``PRICES_AS_OF``. The free tier is ignored (estimates are an upper bound for a busy account).
Unknown regions fall back to us-east-1 and say so in ``Estimate.notes``.

An estimate multiplies a workload (runs a month, duration, memory, objects, rows) by unit prices, line by line,
so a reader can check every number:

>>> est = estimate_computation(runs_per_month=30.4, duration_s=20, memory_mb=1024, region="us-east-1",
...                            artifacts_per_run=5, artifact_bytes=2_000_000)
>>> round(est.total_usd, 2)
1.33
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRICES_AS_OF = "2026-11-01"
DAYS_PER_MONTH = 30.4
GB = 1024**3


@dataclass(frozen=True)
class PriceTable:
    lambda_gb_s_x86: float = 0.0000166667
    lambda_gb_s_arm: float = 0.0000133334
    lambda_requests_per_m: float = 0.20
    sfn_standard_per_1k_transitions: float = 0.025
    sfn_express_requests_per_m: float = 1.00
    sfn_express_gb_s: float = 0.00001667
    dynamodb_write_per_m: float = 0.625
    dynamodb_read_per_m: float = 0.125
    dynamodb_storage_gb_month: float = 0.25
    s3_put_per_1k: float = 0.005
    s3_get_per_1k: float = 0.0004
    s3_storage_gb_month: float = 0.023
    kms_key_month: float = 1.00
    kms_requests_per_10k: float = 0.03
    logs_ingest_gb: float = 0.50
    logs_storage_gb_month: float = 0.03
    sqs_requests_per_m: float = 0.40
    eventbridge_events_per_m: float = 1.00
    scheduler_invocations_per_m: float = 1.00
    alarm_month: float = 0.10
    dashboard_month: float = 3.00
    xray_traces_per_m: float = 5.00


PRICES: dict[str, PriceTable] = {
    "us-east-1": PriceTable(),
    "us-west-2": PriceTable(),
    "eu-west-1": PriceTable(dynamodb_write_per_m=0.7063, dynamodb_read_per_m=0.1413,
                            dynamodb_storage_gb_month=0.283, s3_storage_gb_month=0.023, logs_ingest_gb=0.57),
    "eu-central-1": PriceTable(dynamodb_write_per_m=0.7625, dynamodb_read_per_m=0.1525,
                               dynamodb_storage_gb_month=0.306, s3_put_per_1k=0.0054, s3_get_per_1k=0.00043,
                               s3_storage_gb_month=0.0245, logs_ingest_gb=0.63),
    "ap-south-1": PriceTable(dynamodb_write_per_m=0.711, dynamodb_read_per_m=0.142,
                             dynamodb_storage_gb_month=0.285, s3_storage_gb_month=0.025, logs_ingest_gb=0.67),
}


@dataclass
class Estimate:
    """Line items of one component's monthly estimate (USD)."""

    name: str
    lines: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, item: str, usd: float) -> None:
        self.lines[item] = self.lines.get(item, 0.0) + usd

    @property
    def total_usd(self) -> float:
        return sum(self.lines.values())

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "total_usd": round(self.total_usd, 4),
                "lines": {k: round(v, 4) for k, v in sorted(self.lines.items())}, "notes": list(self.notes),
                "prices_as_of": PRICES_AS_OF}


def prices_for(region: str) -> tuple[PriceTable, list[str]]:
    if region in PRICES:
        return PRICES[region], []
    return PRICES["us-east-1"], [f"no price table for {region}: using us-east-1 prices"]


_RATE = re.compile(r"^rate\((\d+) (minute|hour|day)s?\)$")


def runs_per_month(schedule: str) -> float:
    """How many times a schedule expression fires in an average month.

    >>> runs_per_month("cron(0 16 * * ? *)"), runs_per_month("rate(15 minutes)")
    (30.4, 2918.4)
    """
    rate = _RATE.match(schedule)
    if rate:
        n, unit = int(rate.group(1)), rate.group(2)
        minutes = {"minute": 1, "hour": 60, "day": 1440}[unit] * n
        return DAYS_PER_MONTH * 1440 / minutes
    if schedule.startswith("at("):
        return 1.0
    cron = schedule.removeprefix("cron(").removesuffix(")").split()
    if len(cron) != 6:
        raise ValueError(f"{schedule!r} is not a schedule expression")
    minute_field, hour_field, dom, _month, dow, _year = cron
    per_day = _field_count(minute_field, 60) * _field_count(hour_field, 24)
    if dow not in ("?", "*"):
        days = DAYS_PER_MONTH * _field_count(dow.replace("L", "").split("#")[0], 7) / 7
    elif dom not in ("?", "*"):
        days = float(_field_count(dom.replace("L", "1").replace("W", ""), 31))
    else:
        days = DAYS_PER_MONTH
    return round(per_day * days, 4)


def _field_count(text: str, size: int) -> int:
    """How many values one cron field selects (``*``, lists, ranges, steps)."""
    if text in ("*", "?"):
        return size
    count = 0
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", ""):
            span = size
        elif "-" in base:
            lo, hi = base.split("-")
            span = _cron_value(hi) - _cron_value(lo) + 1
        else:
            span = 1 if not step else size - _cron_value(base)
        count += -(-span // int(step)) if step else span
    return max(count, 1)


_DAY_NAMES = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def _cron_value(text: str) -> int:
    return _DAY_NAMES.get(text.upper(), 0) or int(text)


def lambda_cost(est: Estimate, prices: PriceTable, *, invocations: float, duration_s: float, memory_mb: int,
                architecture: str = "x86_64", label: str = "lambda") -> None:
    gb_s = invocations * duration_s * memory_mb / 1024
    rate = prices.lambda_gb_s_arm if architecture == "arm64" else prices.lambda_gb_s_x86
    est.add(f"{label} compute ({gb_s:,.0f} GB-s)", gb_s * rate)
    est.add(f"{label} requests", invocations / 1e6 * prices.lambda_requests_per_m)
    est.add("x-ray traces", invocations / 1e6 * prices.xray_traces_per_m)


def estimate_computation(*, runs_per_month: float, duration_s: float, memory_mb: int, region: str,
                         artifacts_per_run: int, artifact_bytes: int, architecture: str = "x86_64",
                         log_bytes_per_run: int = 20_000, retention_months: float = 12, alarms: int = 3,
                         name: str = "computation") -> Estimate:
    """A ScheduledComputation: schedule + function + ledger writes + write-once artifacts + key + logs."""
    prices, notes = prices_for(region)
    est = Estimate(name, notes=notes)
    est.add("scheduler invocations", runs_per_month / 1e6 * prices.scheduler_invocations_per_m)
    lambda_cost(est, prices, invocations=runs_per_month, duration_s=duration_s, memory_mb=memory_mb,
                architecture=architecture)
    est.add("dynamodb writes (ledger)", runs_per_month * 3 / 1e6 * prices.dynamodb_write_per_m)
    est.add("dynamodb reads (ledger)", runs_per_month / 1e6 * prices.dynamodb_read_per_m)
    puts = runs_per_month * (artifacts_per_run + 1)
    est.add("s3 puts (artifacts + manifest)", puts / 1000 * prices.s3_put_per_1k)
    stored_gb = runs_per_month * artifact_bytes * retention_months / GB
    est.add("s3 storage (a year of artifacts)", stored_gb * prices.s3_storage_gb_month)
    est.add("kms key", prices.kms_key_month)
    est.add("kms requests", puts * 2 / 10_000 * prices.kms_requests_per_10k)
    est.add("log ingestion", runs_per_month * log_bytes_per_run / GB * prices.logs_ingest_gb)
    est.add("alarms", alarms * prices.alarm_month)
    return est


def estimate_pipeline(*, files_per_month: float, rows_per_file: int, bytes_per_row: int, partition_rows: int,
                      memory_mb: int, region: str, state_machine_type: str = "STANDARD",
                      seconds_per_million_rows: float = 6.0, architecture: str = "x86_64", alarms: int = 3,
                      name: str = "pipeline") -> Estimate:
    """An EtlPipeline: events + state transitions (incl. Map iterations) + five steps + ledger + objects."""
    prices, notes = prices_for(region)
    est = Estimate(name, notes=notes)
    partitions = max(1, -(-rows_per_file // partition_rows))
    est.add("eventbridge events", files_per_month / 1e6 * prices.eventbridge_events_per_m)
    # Ingest, Map, 3 steps per partition (+ the Map iteration's own transitions), Output, Succeed
    transitions = files_per_month * (4 + partitions * 4)
    if state_machine_type == "EXPRESS":
        est.add("step functions requests", files_per_month / 1e6 * prices.sfn_express_requests_per_m)
    else:
        est.add(f"step functions transitions ({transitions:,.0f})",
                transitions / 1000 * prices.sfn_standard_per_1k_transitions)
    seconds_per_file = max(1.0, rows_per_file / 1e6 * seconds_per_million_rows)
    invocations = files_per_month * (2 + partitions * 2)
    lambda_cost(est, prices, invocations=invocations, duration_s=seconds_per_file * 2 / (2 + partitions * 2),
                memory_mb=memory_mb, architecture=architecture)
    est.add("dynamodb writes (run ledger)", files_per_month * 4 / 1e6 * prices.dynamodb_write_per_m)
    puts = files_per_month * (partitions * 2 + 4)
    est.add("s3 puts", puts / 1000 * prices.s3_put_per_1k)
    est.add("s3 gets", files_per_month * (partitions * 3 + 1) / 1000 * prices.s3_get_per_1k)
    stored_gb = files_per_month * rows_per_file * bytes_per_row * 2 * 12 / GB
    est.add("s3 storage (a year of raw + processed)", stored_gb * prices.s3_storage_gb_month)
    est.add("kms key", prices.kms_key_month)
    est.add("kms requests", (puts + files_per_month * partitions * 3) / 10_000 * prices.kms_requests_per_10k)
    est.add("log ingestion", invocations * 5_000 / GB * prices.logs_ingest_gb)
    est.add("alarms", alarms * prices.alarm_month)
    return est


def estimate_layer(*, zipped_bytes: int, region: str, staged: bool, name: str = "layer") -> Estimate:
    """A LayerBundle: layer storage is free up to the account's 75 GB code storage; S3 staging costs storage."""
    prices, notes = prices_for(region)
    est = Estimate(name, notes=notes)
    if staged:
        est.add("s3 storage (staged layer zip)", zipped_bytes / GB * prices.s3_storage_gb_month)
        est.add("kms key", prices.kms_key_month)
    return est


def estimate_dashboard(region: str) -> Estimate:
    prices, notes = prices_for(region)
    est = Estimate("dashboard", notes=notes)
    est.add("cloudwatch dashboard", prices.dashboard_month)
    return est
