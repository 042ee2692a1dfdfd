"""Cost estimates: schedule arithmetic and line items from the price table."""

from __future__ import annotations

import pytest

from components.cost import (
    PRICES,
    estimate_computation,
    estimate_pipeline,
    prices_for,
    runs_per_month,
)


@pytest.mark.parametrize(("schedule", "expected"), [
    ("cron(0 16 * * ? *)", 30.4),
    ("cron(0/15 * * * ? *)", 30.4 * 96),
    ("cron(0 9,17 * * ? *)", 60.8),
    ("cron(0 8 1 * ? *)", 1.0),
    ("rate(1 hour)", 30.4 * 24),
    ("rate(5 minutes)", 30.4 * 288),
    ("at(2026-12-01T10:00:00)", 1.0),
])
def test_runs_per_month(schedule: str, expected: float) -> None:
    assert runs_per_month(schedule) == pytest.approx(expected)


def test_weekdays_only() -> None:
    assert runs_per_month("cron(0 9 ? * MON-FRI *)") == pytest.approx(30.4 * 5 / 7, rel=1e-3)


def test_lambda_compute_line_is_gb_seconds_times_price() -> None:
    est = estimate_computation(runs_per_month=100, duration_s=10, memory_mb=2048, region="us-east-1",
                               artifacts_per_run=4, artifact_bytes=1000)
    assert est.lines["lambda compute (2,000 GB-s)"] == pytest.approx(2000 * PRICES["us-east-1"].lambda_gb_s_x86)
    assert est.lines["kms key"] == 1.0


def test_unknown_region_falls_back_with_a_note() -> None:
    table, notes = prices_for("xx-moon-1")
    assert table == PRICES["us-east-1"]
    assert notes == ["no price table for xx-moon-1: using us-east-1 prices"]


def test_pipeline_transitions_grow_with_partitions() -> None:
    one = estimate_pipeline(files_per_month=1000, rows_per_file=100, bytes_per_row=50, partition_rows=100,
                            memory_mb=1024, region="us-east-1")
    many = estimate_pipeline(files_per_month=1000, rows_per_file=1000, bytes_per_row=50, partition_rows=100,
                             memory_mb=1024, region="us-east-1")
    assert one.lines["step functions transitions (8,000)"] == pytest.approx(8 * 0.025)
    assert many.lines["step functions transitions (44,000)"] == pytest.approx(44 * 0.025)


def test_express_machines_bill_requests_not_transitions() -> None:
    est = estimate_pipeline(files_per_month=1e6, rows_per_file=10, bytes_per_row=50, partition_rows=100,
                            memory_mb=1024, region="us-east-1", state_machine_type="EXPRESS")
    assert est.lines["step functions requests"] == pytest.approx(1.0)
    assert not any(k.startswith("step functions transitions") for k in est.lines)
