"""The declarative schema engine: one behaviour per test, reasons name the field and the value."""

from __future__ import annotations

import pandas as pd
import pytest

from handlers.etl.errors import FileRejected
from handlers.etl.schema import (
    REASON,
    ROW,
    Column,
    Schema,
    drop_exact_duplicates,
    find_conflicts,
    resolve_duplicates,
    validate,
)

SCHEMA = Schema("demo", (
    Column("when", "datetime"),
    Column("id", pattern=r"[A-Z]-\d{3}"),
    Column("x", "float", minimum=0, maximum=10),
    Column("n", "int", required=False),
    Column("kind", allowed=("a", "b")),
), unique=("id", "when"))


def rows(*records: dict[str, str]) -> pd.DataFrame:
    base = {"when": "2026-03-01T00:00:00Z", "id": "A-001", "x": "1.5", "n": "2", "kind": "a"}
    return pd.DataFrame([{**base, **r} for r in records], dtype=object)


def reasons(frame: pd.DataFrame) -> list[str]:
    return validate(frame, SCHEMA).rejects[REASON].tolist()


def test_clean_rows_are_typed_and_numbered() -> None:
    out = validate(rows({}, {"id": "B-002"}), SCHEMA, first_row=41)
    assert out.rejects.empty
    assert out.valid[ROW].tolist() == [41, 42]
    assert str(out.valid["when"].dtype).startswith("datetime64") and out.valid["x"].dtype == "float64"


def test_non_number_is_rejected_with_the_value() -> None:
    assert reasons(rows({"x": "abc"})) == ["x: 'abc' is not a number"]


def test_value_above_maximum_names_the_bound() -> None:
    assert reasons(rows({"x": "10.5"})) == ["x: 10.5 is above the maximum 10"]


def test_value_below_minimum_names_the_bound() -> None:
    assert reasons(rows({"x": "-1"})) == ["x: -1 is below the minimum 0"]


def test_fraction_in_int_column_is_rejected() -> None:
    assert reasons(rows({"n": "2.5"})) == ["n: '2.5' is not an integer"]


def test_empty_optional_value_is_missing_not_an_error() -> None:
    out = validate(rows({"n": ""}), SCHEMA)
    assert out.rejects.empty and out.valid["n"].isna().all()


def test_empty_required_value_is_rejected() -> None:
    assert reasons(rows({"kind": ""})) == ["kind: is required"]


def test_bad_timestamp_is_rejected() -> None:
    assert reasons(rows({"when": "yesterday"})) == ["when: 'yesterday' is not a timestamp (ISO8601)"]


def test_value_outside_allowed_set_lists_the_allowed_values() -> None:
    assert reasons(rows({"kind": "c"})) == ["kind: 'c' is not one of a, b"]


def test_pattern_mismatch_names_the_pattern() -> None:
    assert reasons(rows({"id": "a-1"})) == [r"id: 'a-1' does not match [A-Z]-\d{3}"]


def test_every_broken_field_of_a_row_is_in_its_one_reason() -> None:
    assert reasons(rows({"x": "abc", "kind": "z"})) == ["x: 'abc' is not a number; kind: 'z' is not one of a, b"]


def test_rejects_keep_raw_values_and_row_numbers() -> None:
    out = validate(rows({}, {"x": "oops"}, {}), SCHEMA, first_row=100)
    assert out.rejects[ROW].tolist() == [101]
    assert out.rejects["x"].tolist() == ["oops"]
    assert out.valid[ROW].tolist() == [100, 102]


def test_missing_column_is_a_file_error_naming_it() -> None:
    with pytest.raises(FileRejected) as err:
        validate(rows({}).drop(columns=["kind"]), SCHEMA)
    assert err.value.code == "MISSING_COLUMNS"
    assert err.value.message == "demo: missing column(s) 'kind' (expected when, id, x, n, kind)"


def test_strict_schema_refuses_extra_columns() -> None:
    strict = Schema("s", (Column("a"),), strict=True)
    with pytest.raises(FileRejected) as err:
        strict.check_columns(["a", "b"], "f.csv")
    assert err.value.code == "UNEXPECTED_COLUMNS"
    assert "'b'" in err.value.message


def test_extra_columns_are_ignored_by_default() -> None:
    out = validate(rows({}).assign(extra="zz"), SCHEMA)
    assert "extra" not in out.valid.columns and len(out.valid) == 1


def test_column_rules_must_fit_the_dtype() -> None:
    with pytest.raises(ValueError, match="minimum/maximum need a float or int column"):
        Column("a", minimum=1)
    with pytest.raises(ValueError, match="allowed/pattern need a string column"):
        Column("a", "float", allowed=("1",))
    with pytest.raises(ValueError, match="dtype 'bytes' is not one of"):
        Column("a", "bytes")


def test_unique_key_must_name_columns() -> None:
    with pytest.raises(ValueError, match="unique key column 'zz' is not a column"):
        Schema("s", (Column("a"),), unique=("zz",))


def test_exact_duplicates_are_dropped_and_counted() -> None:
    frame = validate(rows({}, {}, {"id": "B-002"}), SCHEMA).valid
    kept, rejects, dropped = resolve_duplicates(frame, SCHEMA)
    assert (kept[ROW].tolist(), len(rejects), dropped) == ([1, 3], 0, 1)


def test_same_key_with_other_values_is_rejected_naming_the_first_row() -> None:
    frame = validate(rows({}, {"x": "2.0"}), SCHEMA).valid
    kept, rejects, dropped = resolve_duplicates(frame, SCHEMA)
    assert kept[ROW].tolist() == [1]
    assert rejects[REASON].tolist() == ["id, when: duplicate of row 1 with different values"]
    assert dropped == 0


def test_missing_optional_values_compare_equal_for_duplicates() -> None:
    frame = validate(rows({"n": ""}, {"n": ""}), SCHEMA).valid
    assert find_conflicts(frame, SCHEMA.unique, SCHEMA.names).empty


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_dropping_exact_duplicates_per_partition_first_does_not_change_the_result(cut: int) -> None:
    whole = validate(rows({}, {"x": "3"}, {}, {"id": "B-002"}, {"x": "3"}), SCHEMA).valid
    once_kept, once_rejects, once_dropped = resolve_duplicates(whole, SCHEMA)
    parts = [drop_exact_duplicates(part, SCHEMA.names) for part in (whole.iloc[:cut], whole.iloc[cut:])]
    kept, rejects, dropped = resolve_duplicates(pd.concat([p for p, _ in parts], ignore_index=True), SCHEMA)
    assert kept[ROW].tolist() == once_kept[ROW].tolist() == [1, 4]
    assert rejects[ROW].tolist() == once_rejects[ROW].tolist() == [2]
    assert dropped + sum(n for _, n in parts) == once_dropped == 2
