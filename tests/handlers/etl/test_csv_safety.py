"""Every CSV the ETL writes (published rows, aggregates, quarantined rejects and key conflicts) is safe to open in a
spreadsheet: data-derived text that would run as a formula is neutralized, numbers stay numbers."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from handlers.etl import output, transform, validate
from handlers.etl.aggregates import Aggregates
from handlers.etl.csvout import header_line, render
from handlers.etl.datasets import Dataset
from handlers.etl.schema import Column, Schema
from handlers.runtime.cells import TRIGGERS
from tests.handlers.etl.test_steps import PROCESSED, QUARANTINE, Env, do_ingest, env_fixture  # noqa: F401

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
           "=cmd|' /C calc'!A0"]


def cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def test_render_neutralizes_every_trigger_in_text_and_reads_back_with_a_quote() -> None:
    frame = pd.DataFrame({"label": [*HOSTILE, "plain", None], "n": np.arange(len(HOSTILE) + 2) - 3.5})
    body = render(frame, header=True)
    back = pd.read_csv(io.BytesIO(body), keep_default_na=False, dtype={"label": str})
    assert back["label"].tolist() == ["'" + h for h in HOSTILE] + ["plain", ""]
    assert back["n"].tolist() == frame["n"].tolist()  # -3.5 ... written as numbers, read back as floats
    assert [row[0] for row in cells(body)[1:]] == back["label"].tolist()


def test_render_neutralizes_categorical_text_and_header_names() -> None:
    frame = pd.DataFrame({"=a": pd.Categorical(["-x", "y", "-x"]), "@b": [1, -2, 3]})
    rows = cells(render(frame, header=True))
    assert rows == [["'=a", "'@b"], ["'-x", "1"], ["y", "-2"], ["'-x", "3"]]
    assert header_line(["+c"]) == b"'+c\n"


def test_raw_text_of_a_numeric_column_keeps_plain_numbers_only() -> None:
    raw = pd.DataFrame({"value": ["-3.5", "+2", "1e-3", "-x", "=1+2", "-1-1"], "note": ["-3.5"] * 6})
    rows = cells(render(raw, numbers=["value"]))
    assert [r[0] for r in rows] == ["-3.5", "+2", "1e-3", "'-x", "'=1+2", "'-1-1"]
    assert {r[1] for r in rows} == {"'-3.5"}  # a text column is text, whatever it looks like


def test_carriage_return_and_commas_stay_inside_their_field() -> None:
    frame = pd.DataFrame({"a": ["x\ry", "\rz", "p,q"], "b": [1.0, 2.0, 3.0]})
    rows = cells(render(frame))
    assert rows == [["x\ry", "1.0"], ["'\rz", "2.0"], ["p,q", "3.0"]]


@pytest.mark.parametrize("value", ["a\0b", "x" * 5000])
def test_values_the_byte_matrix_cannot_pad_fall_back_to_joined_lines(value: str) -> None:
    frame = pd.DataFrame({"a": [value, "-y", "z"], "b": [1, 2, 3]})
    assert cells(render(frame)) == [[value, "1"], ["'-y", "2"], ["z", "3"]]


def test_non_ascii_text_is_utf8_in_the_byte_matrix() -> None:
    frame = pd.DataFrame({"city": ["Zürich", "東京", "Zürich", "Oslo"], "t": [1.5, 2.0, 1.5, -0.25]})
    data = render(frame, header=True)
    assert data == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert cells(data) == [["city", "t"], ["Zürich", "1.5"], ["東京", "2.0"], ["Zürich", "1.5"], ["Oslo", "-0.25"]]


def test_render_assembles_big_frames_in_blocks_identically(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.etl import csvout

    frame = pd.DataFrame({"a": [f"v{i % 7}" for i in range(1000)], "b": np.arange(1000) / 8})
    whole = render(frame, header=True)
    monkeypatch.setattr(csvout, "MATRIX_BYTES", 64)
    assert render(frame, header=True) == whole
    assert whole == frame.to_csv(index=False, lineterminator="\n").encode()


# --------------------------------------------------------------------------- through the steps
NOTES = Dataset(
    name="notes",
    schema=Schema("notes", (Column("label"), Column("amount", "float"), Column("unit", allowed=("C", "F"))),
                  unique=("label",)),
    derive=lambda frame: frame.copy(),
    aggregate=Aggregates(by=("label",), value="amount", columns={"count": "count", "mean": "mean"}),
    group_column="label",
    output_columns=("label", "amount", "unit"),
)


def hostile_file() -> str:
    rows = [(h, f"{-3.5 - i}", "C") for i, h in enumerate(HOSTILE)]
    rows += [("=bad", "=1+2", "C"),        # rejected: not a number (both cells hostile)
             ("-rejected", "-7.25", "X"),  # rejected for its unit: -7.25 stays a number
             ("=dup", "1.0", "C"), ("=dup", "2.0", "F")]  # a key conflict, quarantined by output
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a bare CR needs quotes
    writer.writerow(["label", "amount", "unit"])
    writer.writerows(rows)
    return buffer.getvalue()


def dangerous(rows: list[list[str]]) -> list[str]:
    """Cells a spreadsheet would run: a trigger first, unless the cell is a plain number."""
    return [cell for row in rows for cell in row if cell.startswith(TRIGGERS) and not _is_number(cell)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_every_etl_csv_is_neutralized_end_to_end(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.etl import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda name: NOTES)  # ingest checks the columns by name
    plan = do_ingest(env, env.put("incoming/=hostile.csv", hostile_file()), partition_rows=4)
    for part in plan["partitions"]:
        checked = validate.validate_partition({"run": plan["run"], "partition": part}, settings=env.settings,
                                              s3=env.s3, dataset=NOTES)
        transform.transform_partition(checked, settings=env.settings, s3=env.s3, dataset=NOTES)
    result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger,
                            dataset=NOTES)
    assert result["counts"] == {"rows": 11, "published": 8, "rejected": 3, "duplicates": 0}
    folder = result["manifest_key"].rsplit("/", 1)[0]
    published = cells(env.read(PROCESSED, f"{folder}/rows.csv"))
    assert [r[0] for r in published[1:]] == ["'" + h for h in HOSTILE] + ["'=dup"]
    assert [float(r[1]) for r in published[1:]] == [-3.5 - i for i in range(len(HOSTILE))] + [1.0]
    aggregates = cells(env.read(PROCESSED, f"{folder}/aggregates.csv"))
    assert sorted(r[0] for r in aggregates[1:]) == sorted(["'" + h for h in HOSTILE] + ["'=dup"])
    quarantined = [cells(env.read(QUARANTINE, key)) for key in env.keys(QUARANTINE)]
    rejected = [row for body in quarantined for row in body[1:]]
    assert sorted(r[0] for r in rejected) == ["'-rejected", "'=bad", "'=dup"]
    assert next(r[:2] for r in rejected if r[0] == "'=bad") == ["'=bad", "'=1+2"]
    assert next(r[:2] for r in rejected if r[0] == "'-rejected") == ["'-rejected", "-7.25"]
    for body in (published, aggregates, *quarantined):
        assert dangerous(body) == []
