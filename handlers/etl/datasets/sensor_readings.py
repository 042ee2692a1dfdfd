"""Dataset ``sensor_readings``: ``timestamp, sensor_id, value, unit`` temperature readings.

Derived columns: ``value_c`` (the reading in degrees Celsius) and ``date`` (UTC day). Aggregates: per sensor
and day, ``count, mean_c, min_c, max_c, std_c``. :func:`generate_csv` makes synthetic files (vectorized, any
size, optional bad rows) and :func:`sample_files` the three demo files whose expected outcomes are
:data:`SAMPLE_OUTCOMES`.

Example
-------
>>> files = sample_files(seed=7)
>>> sorted(files) == sorted(SAMPLE_OUTCOMES)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from handlers.etl.aggregates import Aggregates
from handlers.etl.datasets import Dataset
from handlers.etl.schema import Column, Schema

UNITS = ("C", "F", "K")
SCHEMA = Schema(
    name="sensor_readings",
    columns=(
        Column("timestamp", "datetime", without_offset="reject"),  # the data contract says ISO 8601 with offset
        Column("sensor_id", pattern=r"[A-Z]{2,4}-\d{3,6}"),
        Column("value", "float", minimum=-273.15, maximum=1000.0),
        Column("unit", allowed=UNITS),
    ),
    unique=("sensor_id", "timestamp"),
)
START = pd.Timestamp("2026-03-01T00:00:00Z")


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``value_c`` and ``date`` to a typed frame (vectorized).

    Example
    -------
    >>> f = pd.DataFrame({"timestamp": pd.to_datetime(["2026-03-01T10:00:00Z"]), "sensor_id": ["TMP-001"],
    ...                   "value": [212.0], "unit": ["F"]})
    >>> derive(f)[["value_c", "date"]].values.tolist()
    [[100.0, '2026-03-01']]
    """
    value = frame["value"].to_numpy(dtype="float64")
    unit = frame["unit"]  # compared as a Series: a categorical compares its few categories, not every row
    value_c = np.select([(unit == u).to_numpy(dtype=bool) for u in ("C", "F", "K")],
                        [value, (value - 32.0) * (5.0 / 9.0), value - 273.15], default=np.nan)
    out = frame.copy()
    out["value_c"] = np.round(value_c, 6)
    days = frame["timestamp"].dt.tz_convert("UTC").dt.floor("D")
    codes, uniques = pd.factorize(days)
    labels = pd.Index(np.asarray(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d"), dtype=object), dtype=object)
    out["date"] = pd.Categorical.from_codes(codes, categories=labels)
    return out


AGGREGATES = Aggregates(by=("sensor_id", "date"), value="value_c",
                        columns={"count": "count", "mean_c": "mean", "min_c": "min", "max_c": "max", "std_c": "std"})
"""Per sensor and day: ``count, mean_c, min_c, max_c, std_c`` (sample std, 0 for one reading).

Example
-------
>>> f = pd.DataFrame({"sensor_id": ["A-001"] * 2, "date": ["2026-03-01"] * 2, "value_c": [1.0, 3.0]})
>>> AGGREGATES(f)[["count", "mean_c", "max_c"]].values.tolist()
[[2.0, 2.0, 3.0]]
"""


DATASET = Dataset(
    name="sensor_readings",
    schema=SCHEMA,
    derive=derive,
    aggregate=AGGREGATES,
    group_column="sensor_id",
    output_columns=("timestamp", "sensor_id", "value", "unit", "value_c", "date"),
)


def generate_frame(rows: int, *, seed: int = 0, sensors: int = 50, bad_fraction: float = 0.0,
                   duplicate_fraction: float = 0.0, start: int = 0) -> pd.DataFrame:
    """A synthetic file as a frame of strings: one reading per sensor per minute, units mixed.

    ``start`` is the index of the first row in a longer file (generate a big file in chunks: ``start=0``,
    ``start=n``, ... continue the same clock).

    ``bad_fraction`` of the rows get one broken field (a non-number, unknown unit, bad id, empty or invalid
    timestamp, out-of-range value); ``duplicate_fraction`` of the rows are exact copies of their predecessor.

    Example
    -------
    >>> generate_frame(3, seed=1).columns.tolist()
    ['timestamp', 'sensor_id', 'value', 'unit']
    """
    rng = np.random.default_rng([seed, start])
    i = np.arange(start, start + rows)
    first, last = start // sensors, (start + rows + sensors - 1) // sensors
    minutes = (START + pd.to_timedelta(np.arange(first, max(last, first + 1)), unit="min"))
    stamps = np.asarray(minutes.strftime("%Y-%m-%dT%H:%M:%SZ"), dtype=object)[i // sensors - first]
    ids = np.array([f"TMP-{k:04d}" for k in range(sensors)], dtype=object)[i % sensors]
    celsius = 20.0 + 5.0 * rng.standard_normal(rows)
    unit_idx = rng.integers(0, 3, rows)
    value = np.select([unit_idx == 0, unit_idx == 1], [celsius, celsius * 9.0 / 5.0 + 32.0], celsius + 273.15)
    frame = pd.DataFrame({
        "timestamp": stamps,
        "sensor_id": ids,
        "value": np.round(value, 3).astype(str).astype(object),
        "unit": np.asarray(UNITS, dtype=object)[unit_idx],
    })
    if duplicate_fraction > 0 and rows > 1:
        dup = rng.choice(np.arange(1, rows), size=max(1, int(rows * duplicate_fraction)), replace=False)
        frame.iloc[dup] = frame.iloc[dup - 1].to_numpy()
    if bad_fraction > 0:
        count = max(1, int(rows * bad_fraction))
        bad = rng.choice(rows, size=count, replace=False)
        kinds = [("value", "abc"), ("unit", "X"), ("sensor_id", "tmp 1"), ("timestamp", ""),
                 ("timestamp", "yesterday"), ("value", "5000")]
        for n, row in enumerate(np.sort(bad)):
            column, text = kinds[n % len(kinds)]
            frame.iat[row, frame.columns.get_loc(column)] = text
    return frame


def generate_csv(rows: int, **kwargs: float | int) -> bytes:
    """:func:`generate_frame` rendered as CSV bytes (header + ``rows`` lines).

    Example
    -------
    >>> generate_csv(1, seed=3).splitlines()[0]
    b'timestamp,sensor_id,value,unit'
    """
    frame = generate_frame(rows, **kwargs)  # type: ignore[arg-type]
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


SAMPLE_OUTCOMES = {
    "sensors-clean.csv": "COMPLETED",
    "sensors-with-rejects.csv": "COMPLETED_WITH_REJECTS",
    "sensors-broken.csv": "FAILED",
}
"""Expected ledger status per sample file (what ``make demo`` checks)."""


def sample_files(seed: int = 0, rows: int = 500) -> dict[str, bytes]:
    """The three demo files: clean, with some bad rows, and broken (the ``unit`` column is missing).

    Example
    -------
    >>> b"unit" in sample_files(1)["sensors-broken.csv"].splitlines()[0]
    False
    """
    clean = generate_csv(rows, seed=seed, duplicate_fraction=0.01)
    with_rejects = generate_csv(rows, seed=seed + 1, bad_fraction=0.02)
    broken = generate_frame(rows, seed=seed + 2).drop(columns=["unit"])
    return {
        "sensors-clean.csv": clean,
        "sensors-with-rejects.csv": with_rejects,
        "sensors-broken.csv": broken.to_csv(index=False, lineterminator="\n").encode("utf-8"),
    }
