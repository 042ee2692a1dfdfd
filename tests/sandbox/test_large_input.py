"""sandbox.scenarios.large_input keeps the dataset's format: a JSON Lines dataset gets JSON Lines, with the
designed rejects and a conflicting duplicate of the first row's key."""

from __future__ import annotations

import gzip

import pytest

from handlers.etl.datasets import load_dataset
from handlers.etl.formats import CSV, JSON_LINES, plan_partitions
from handlers.etl.schema import resolve_duplicates, validate
from sandbox.scenarios import large_input


@pytest.mark.parametrize(("dataset", "fmt"), [("region_services", JSON_LINES), ("sensor_readings", CSV)])
def test_large_input_has_the_samples_format_rejects_and_a_conflict(dataset: str, fmt: str) -> None:
    import importlib

    from handlers.etl.formats import parse_partition

    module = importlib.import_module(f"handlers.etl.datasets.{dataset}")
    schema = load_dataset(dataset).schema
    body = gzip.decompress(large_input(module.sample_files(), module.SAMPLE_OUTCOMES, schema.unique, 1200))
    plan = plan_partitions([body], partition_rows=400, source="t")
    assert plan.format == fmt and len(plan.partitions) > 1
    header = body[plan.header_start:plan.header_end]
    raw = parse_partition(body[plan.header_end:], fmt=fmt, header=header, source="t", first_row=1)
    checked = validate(raw, schema)
    _, conflicts, dropped = resolve_duplicates(checked.valid, schema)
    assert len(checked.rejects) > 0 and len(conflicts) > 0 and dropped > 0
