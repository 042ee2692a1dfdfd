"""Dataset specs: loading by name, sensor_readings' derived columns and aggregates, the sample files."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from handlers.etl.datasets import load_dataset
from handlers.etl.datasets.sensor_readings import SAMPLE_OUTCOMES, generate_frame, sample_files
from handlers.etl.formats import CSV, parse_partition
from handlers.etl.report import sheet_title, workbook_bytes
from handlers.etl.schema import validate

DATASET = load_dataset("sensor_readings")


def typed(text: str) -> pd.DataFrame:
    header, body = text.encode().split(b"\n", 1)
    raw = parse_partition(body, fmt=CSV, header=header + b"\n", source="t", first_row=1)
    return validate(raw, DATASET.schema).valid


def test_unknown_dataset_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"dataset .nope.: no module handlers/etl/datasets/nope\.py"):
        load_dataset("nope")


def test_dataset_name_must_be_a_module_name() -> None:
    with pytest.raises(ValueError, match="is not a module name"):
        load_dataset("../etc")


def test_units_are_converted_to_celsius_and_days_are_utc() -> None:
    frame = DATASET.derive(typed("timestamp,sensor_id,value,unit\n"
                                 "2026-03-01T23:30:00-02:00,TMP-0001,212,F\n"
                                 "2026-03-01T10:00:00Z,TMP-0001,273.15,K\n"
                                 "2026-03-01T10:00:01Z,TMP-0001,-5,C\n"))
    assert frame["value_c"].tolist() == [100.0, 0.0, -5.0]
    assert frame["date"].tolist() == ["2026-03-02", "2026-03-01", "2026-03-01"]


def test_daily_aggregates_per_sensor() -> None:
    frame = DATASET.derive(typed("timestamp,sensor_id,value,unit\n"
                                 "2026-03-01T01:00:00Z,TMP-0001,10,C\n"
                                 "2026-03-01T02:00:00Z,TMP-0001,20,C\n"
                                 "2026-03-01T02:00:00Z,TMP-0002,5,C\n"))
    out = DATASET.aggregate(frame)
    assert out.to_dict("records") == [
        {"sensor_id": "TMP-0001", "date": "2026-03-01", "count": 2, "mean_c": 15.0, "min_c": 10.0,
         "max_c": 20.0, "std_c": 7.071068},
        {"sensor_id": "TMP-0002", "date": "2026-03-01", "count": 1, "mean_c": 5.0, "min_c": 5.0, "max_c": 5.0,
         "std_c": 0.0}]


def test_generated_bad_rows_are_all_rejected() -> None:
    raw = generate_frame(600, seed=3, bad_fraction=0.05)
    result = validate(raw.astype(object), DATASET.schema)
    assert len(result.rejects) == 30


def test_generation_is_deterministic() -> None:
    assert sample_files(seed=4) == sample_files(seed=4)


def test_sample_files_cover_the_three_outcomes() -> None:
    files = sample_files(seed=1)
    assert set(files) == set(SAMPLE_OUTCOMES)
    assert set(SAMPLE_OUTCOMES.values()) == {"COMPLETED", "COMPLETED_WITH_REJECTS", "FAILED"}
    clean = validate(pd.read_csv(io.BytesIO(files["sensors-clean.csv"]), dtype=str, keep_default_na=False),
                     DATASET.schema)
    assert clean.rejects.empty
    assert b"unit" not in files["sensors-broken.csv"].splitlines()[0]


def test_report_workbook_has_summary_and_one_sheet_per_sensor() -> None:
    from openpyxl import load_workbook

    aggregates = pd.DataFrame({"sensor_id": ["B-002", "A-001"], "date": ["2026-03-01"] * 2, "count": [1, 2]})
    book = load_workbook(io.BytesIO(workbook_bytes({"status": "COMPLETED", "rows": 3}, aggregates,
                                                   group_column="sensor_id")))
    assert book.sheetnames == ["Summary", "A-001", "B-002"]
    assert [list(r) for r in book["Summary"].iter_rows(values_only=True)] == [
        ["field", "value"], ["status", "COMPLETED"], ["rows", 3]]
    assert [list(r) for r in book["A-001"].iter_rows(values_only=True)] == [["date", "count"], ["2026-03-01", 2]]


def test_report_bytes_are_deterministic() -> None:
    aggregates = pd.DataFrame({"g": ["a"], "v": [1.5]})
    assert workbook_bytes({"k": 1}, aggregates, group_column="g") == workbook_bytes({"k": 1}, aggregates,
                                                                                    group_column="g")


def test_groups_beyond_the_sheet_limit_are_listed_on_the_summary() -> None:
    from openpyxl import load_workbook

    aggregates = pd.DataFrame({"g": ["a", "b", "c"], "v": [1, 2, 3]})
    book = load_workbook(io.BytesIO(workbook_bytes({}, aggregates, group_column="g", max_sheets=2)))
    assert book.sheetnames == ["Summary", "a", "b"]
    assert list(book["Summary"].iter_rows(values_only=True))[-1] == ("groups without a sheet", "c")


def test_sheet_titles_are_excel_safe_and_unique() -> None:
    used: set[str] = set()
    assert sheet_title("a/b:c", used) == "a_b_c"
    assert sheet_title("A/B:C", used) == "A_B_C~2"
    assert sheet_title("x" * 40, used) == "x" * 31
    assert sheet_title("Summary", used) == "Summary~2"
