"""The bounded-memory building blocks of the ETL output: key-window de-duplication equals the whole-file rule,
partial aggregates merge to the whole-file statistics, and the CSV renderer is lossless."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
import pytest

from handlers.etl.aggregates import Aggregates
from handlers.etl.csvout import format_floats, format_timestamps, render
from handlers.etl.datasets import load_dataset
from handlers.etl.dedupe import (
    BUCKET_BITS,
    BUCKETS,
    Duplicates,
    entry_range,
    key_index,
    plan_windows,
    read_index,
    window_duplicates,
)
from handlers.etl.schema import REASON, ROW, Column, Schema, resolve_duplicates

SCHEMA = Schema("d", (Column("k"), Column("t", "datetime"), Column("v", "float")), unique=("k", "t"))


def random_frame(rows: int, seed: int) -> pd.DataFrame:
    """Many exact duplicates and key conflicts among few keys, in file order."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "k": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
        "t": pd.to_datetime(rng.integers(0, 4, rows), unit="s", utc=True),
        "v": rng.integers(0, 3, rows).astype("float64"),
        ROW: np.arange(1, rows + 1),
    })


def split(frame: pd.DataFrame, bounds: list[int]) -> list[pd.DataFrame]:
    edges = [0, *bounds, len(frame)]
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(edges)]


def pieces_of(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    return split(frame, [len(frame) * i // n for i in range(1, n)])


def by_windows(parts: list[pd.DataFrame], max_rows: int) -> Duplicates:
    """What the output step does: one key index per partition, merged window by window."""
    indexes = [read_index(key_index(p, key=SCHEMA.unique, columns=SCHEMA.names)) for p in parts]
    offsets = np.stack([o for o, _ in indexes])
    found = []
    for lo, hi in plan_windows(offsets, max_rows):
        found.append(window_duplicates(np.concatenate([e[o[lo]:o[hi]] for o, e in indexes])))
    return Duplicates.concat(found)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_rows", [1, 50, 10_000])
def test_windowed_duplicates_equal_the_whole_file_rule(seed: int, max_rows: int) -> None:
    whole = random_frame(300, seed)
    kept, rejects, dropped = resolve_duplicates(whole, SCHEMA)
    cut = np.sort(np.random.default_rng(seed).choice(np.arange(1, 300), 3, replace=False)).tolist()
    parts = split(whole, cut)
    found = by_windows(parts, max_rows)
    assert sorted(found.dropped.tolist()) != [] and len(found.dropped) == dropped
    assert sorted(found.conflicts.tolist()) == rejects[ROW].tolist()
    firsts = dict(zip(found.conflicts.tolist(), found.first.tolist(), strict=True))
    assert [f"k, t: duplicate of row {firsts[r]} with different values" for r in rejects[ROW]] == \
        rejects[REASON].tolist()
    removed = set(found.dropped.tolist()) | set(found.conflicts.tolist())
    assert [r for r in whole[ROW] if r not in removed] == kept[ROW].tolist()


def test_equal_keys_land_in_the_same_bucket_whatever_the_partition() -> None:
    one = random_frame(50, 1)
    offsets, entries = read_index(key_index(one, key=SCHEMA.unique, columns=SCHEMA.names))
    assert offsets[0] == 0 and offsets[-1] == len(entries) == 50 and len(offsets) == BUCKETS + 1
    buckets = entries["key"] >> np.uint64(64 - BUCKET_BITS)
    assert (np.diff(buckets.astype("int64")) >= 0).all()  # grouped by bucket ...
    for b in np.unique(buckets):  # ... each bucket where its offsets say, in row order
        assert (buckets[offsets[b]:offsets[b + 1]] == b).all()
        assert (np.diff(entries["row"][offsets[b]:offsets[b + 1]]) > 0).all()
    start, end = entry_range(2, 5)
    assert end - start == 3 * 24


def test_a_bucket_bigger_than_the_window_is_its_own_window() -> None:
    offsets = np.zeros((1, BUCKETS + 1), dtype="int64")
    offsets[0, 1:] = 100  # everything in bucket 0
    assert plan_windows(offsets, 10) == [(0, 1), (1, BUCKETS)]


# --------------------------------------------------------------------------- aggregates
AGG = Aggregates(by=("g",), value="x", columns={"n": "count", "mean": "mean", "std": "std", "lo": "min",
                                                  "hi": "max", "total": "sum"})


@pytest.mark.parametrize("pieces", [1, 2, 7])
def test_partial_aggregates_merge_to_the_whole_file_statistics(pieces: int) -> None:
    rng = np.random.default_rng(pieces)
    frame = pd.DataFrame({"g": rng.choice(list("abcd"), 500), "x": rng.normal(20, 5, 500)})
    frame.loc[::37, "x"] = np.nan  # missing values are not counted
    merged = AGG.finish(AGG.merge([AGG.partial(p) for p in pieces_of(frame, pieces)]))
    expected = frame.groupby("g")["x"].agg(["count", "mean", "std", "min", "max", "sum"]).round(6)
    assert merged["n"].tolist() == expected["count"].tolist()
    for ours, theirs in (("mean", "mean"), ("std", "std"), ("lo", "min"), ("hi", "max"), ("total", "sum")):
        np.testing.assert_allclose(merged[ours], expected[theirs], rtol=0, atol=2e-6)


@pytest.mark.parametrize("keys", [
    pd.Categorical(["b", "a", None, "b", "c"], categories=["c", "b", "a", "unused"]),
    [2, 1, 1, 2, 3], [1.5, float("nan"), 1.5, 2.5, 2.5], [True, False, True, True, False],
    pd.to_datetime([0, 1, 1, 0, 2], unit="D", utc=True)])
def test_partials_group_by_value_whatever_the_key_dtype(keys: object) -> None:
    """A categorical key groups by its codes (observed only), yet the partial table equals the one of the same
    keys as plain objects: values, not codes or category order, are what partitions merge on."""
    agg = Aggregates(by=("g",), value="x", columns={"n": "count", "mean": "mean", "max": "max"})
    frame = pd.DataFrame({"g": keys, "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    as_objects = pd.DataFrame({"g": pd.Series(frame["g"].astype(object).tolist(), dtype=object), "x": frame["x"]})
    pd.testing.assert_frame_equal(agg.partial(frame), agg.partial(as_objects))
    assert agg.partial(frame)["g"].dtype != "category"


def test_aggregates_of_nothing_are_an_empty_table_with_the_columns() -> None:
    out = AGG.finish(AGG.merge([]))
    assert list(out.columns) == ["g", "n", "mean", "std", "lo", "hi", "total"] and out.empty


def test_unknown_statistic_is_refused() -> None:
    with pytest.raises(ValueError, match="'median' is not one of"):
        Aggregates(by=("g",), value="x", columns={"m": "median"})


def test_sensor_readings_aggregates_are_the_same_in_one_or_many_partitions() -> None:
    from handlers.etl.datasets.sensor_readings import generate_frame
    from handlers.etl.schema import validate

    dataset = load_dataset("sensor_readings")
    frame = dataset.derive(validate(generate_frame(2000, seed=3).astype(object), dataset.schema).valid)
    whole = dataset.aggregate(frame)
    parts = dataset.aggregate.finish(dataset.aggregate.merge(
        [dataset.aggregate.partial(p) for p in pieces_of(frame, 5)]))
    pd.testing.assert_frame_equal(whole, parts, check_exact=False, atol=1e-6)


# --------------------------------------------------------------------------- csv
def test_timestamps_one_nanosecond_apart_print_differently_and_read_back_exactly() -> None:
    stamps = pd.to_datetime(pd.Series(["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000000001Z",
                                       "2026-03-01T10:00:00.001Z", "2026-03-01T10:00:00.000001Z", None]),
                            format="ISO8601", utc=True)
    text = format_timestamps(stamps).tolist()
    assert text == ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000000001Z", "2026-03-01T10:00:00.001Z",
                    "2026-03-01T10:00:00.000001Z", ""]
    back = pd.to_datetime(pd.Series(text[:4]), format="ISO8601", utc=True)
    assert back.tolist() == stamps[:4].tolist()


def test_floats_round_trip_exactly() -> None:
    values = np.array([0.1, 1 / 3, -273.15, 1e-300, 123456789.123, 5.0])
    assert [float(t) for t in format_floats(values)] == values.tolist()


def test_render_quotes_only_what_needs_quoting_and_reads_back() -> None:
    frame = pd.DataFrame({"s": ['a,b', 'say "x"', "line\nbreak", "plain", None], "n": [1.5, 2.0, np.nan, 0.0, 3.25]})
    body = render(frame, header=True)
    back = pd.read_csv(io.BytesIO(body), keep_default_na=False, dtype=str)
    assert back["s"].tolist() == ["a,b", 'say "x"', "line\nbreak", "plain", ""]
    assert body.splitlines()[-1] == b",3.25"


def test_render_equals_pandas_for_the_published_sensor_rows() -> None:
    from handlers.etl.datasets.sensor_readings import generate_frame
    from handlers.etl.schema import validate

    dataset = load_dataset("sensor_readings")
    frame = dataset.derive(validate(generate_frame(500, seed=9).astype(object), dataset.schema).valid)
    ours = pd.read_csv(io.BytesIO(render(frame, columns=dataset.output_columns, header=True)))
    expected = frame[list(dataset.output_columns)].reset_index(drop=True)
    assert pd.to_datetime(ours["timestamp"], utc=True).tolist() == expected["timestamp"].tolist()
    for name in ("sensor_id", "value", "unit", "value_c", "date"):
        assert ours[name].tolist() == expected[name].tolist(), name
