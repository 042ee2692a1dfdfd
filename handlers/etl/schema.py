"""A small declarative, vectorized schema engine for tabular datasets (columns of raw strings in, typed out).

A :class:`Schema` lists :class:`Column` rules: dtype (``string``, ``float``, ``int``, ``datetime``), required,
range, allowed values, a regex pattern, plus a uniqueness key. :func:`validate` checks a whole partition with
numpy/pandas operations (no per-row Python): every column is parsed and checked once per *distinct* value
(``pd.factorize``), so a million rows with a thousand sensor ids cost a thousand regex matches.

Data rules: patterns are ASCII (``\\d`` is ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``; ``AB-١٢٣`` does not
match ``[A-Z]{2,4}-\\d{3,6}``). A timestamp without a UTC offset is rejected with the code
``NO_UTC_OFFSET`` unless its column names the zone to assume (``without_offset="Europe/Berlin"``); a local
time that does not exist or is ambiguous in that zone is rejected with ``NONEXISTENT_LOCAL_TIME`` /
``AMBIGUOUS_LOCAL_TIME``. Timestamps keep nanosecond precision. Each invalid row gets one reason
naming every broken field, e.g. ``value: 'abc' is not a number; unit: 'X' is not one of C, F, K``.

Why not pandera: it would add ~15 MiB of dependencies (pydantic, typeguard, ...) to the Lambda layer for rules
that fit in this module, and its per-check failure cases are not the one-reason-per-row report the
quarantine needs.

Example
-------
>>> import pandas as pd
>>> schema = Schema("demo", (Column("id", pattern=r"[A-Z]\\d"), Column("x", "float", minimum=0)))
>>> out = validate(pd.DataFrame({"id": ["A1", "b2"], "x": ["1.5", "-1"]}), schema)
>>> out.rejects[REASON].tolist()
["id: 'b2' does not match [A-Z]\\\\d; x: -1 is below the minimum 0"]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from handlers.etl.errors import FileRejected

ROW = "_row"
"""Column holding the 1-based data row number in the source file (the header is not a row)."""
REASON = "_reason"
"""Column holding why a row was rejected."""
DTYPES = ("string", "float", "int", "datetime")


@dataclass(frozen=True)
class Column:
    """Rules for one column.

    Parameters
    ----------
    name:
        column name in the file.
    dtype:
        ``string``, ``float``, ``int`` or ``datetime`` (timestamps become UTC ``datetime64``).
    required:
        an empty value is an error; when False an empty value is a missing value and skips other checks.
    minimum, maximum:
        inclusive bounds for numeric columns.
    allowed:
        the only accepted values of a string column.
    pattern:
        a regex every value of a string column must fully match (ASCII classes: ``\\d`` is ``[0-9]``).
    datetime_format:
        ``strftime`` format or ``"ISO8601"``.
    without_offset:
        what a timestamp without a UTC offset means: ``"reject"`` (the default; reason code
        ``NO_UTC_OFFSET``) or the IANA zone it is local time in (``"UTC"``, ``"Europe/Berlin"``).

    Example
    -------
    >>> Column("unit", allowed=("C", "F")).allowed
    ('C', 'F')
    """

    name: str
    dtype: str = "string"
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    datetime_format: str = "ISO8601"
    without_offset: str = "reject"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name!r}: dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        numeric = self.dtype in ("float", "int")
        if (self.minimum is not None or self.maximum is not None) and not numeric:
            raise ValueError(f"column {self.name!r}: minimum/maximum need a float or int column")
        if (self.allowed or self.pattern) and self.dtype != "string":
            raise ValueError(f"column {self.name!r}: allowed/pattern need a string column")
        if self.pattern is not None:
            re.compile(self.pattern, re.ASCII)
        if self.without_offset != "reject":
            if self.dtype != "datetime":
                raise ValueError(f"column {self.name!r}: without_offset needs a datetime column")
            try:
                pd.Timestamp("2000-01-01").tz_localize(self.without_offset)
            except Exception:  # pytz and zoneinfo raise different types for an unknown zone
                raise ValueError(f"column {self.name!r}: without_offset {self.without_offset!r} is not 'reject' "
                                 "or an IANA time zone") from None


@dataclass(frozen=True)
class Schema:
    """A dataset's columns and its uniqueness key.

    Example
    -------
    >>> Schema("demo", (Column("id"),), unique=("id",)).names
    ('id',)
    """

    name: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    strict: bool = False
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"schema {self.name!r}: duplicate column names")
        unknown = [k for k in self.unique if k not in names]
        if unknown:
            raise ValueError(f"schema {self.name!r}: unique key column {unknown[0]!r} is not a column")
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def numeric(self) -> tuple[str, ...]:
        """Names of the ``float`` and ``int`` columns."""
        return tuple(c.name for c in self.columns if c.dtype in ("float", "int"))

    def check_columns(self, present: Sequence[str], source: str) -> None:
        """Raise ``FileRejected(MISSING_COLUMNS | UNEXPECTED_COLUMNS)`` when the file's columns don't fit.

        Example
        -------
        >>> Schema("d", (Column("a"), Column("b"))).check_columns(["a"], "f.csv")
        Traceback (most recent call last):
        ...
        handlers.etl.errors.FileRejected: MISSING_COLUMNS: f.csv: missing column(s) 'b' (expected a, b)
        """
        missing = [n for n in self.names if n not in present]
        if missing:
            raise FileRejected("MISSING_COLUMNS", f"{source}: missing column(s) "
                               f"{', '.join(repr(m) for m in missing)} (expected {', '.join(self.names)})")
        extra = [n for n in present if n not in self._by_name]
        if self.strict and extra:
            raise FileRejected("UNEXPECTED_COLUMNS", f"{source}: unexpected column(s) "
                               f"{', '.join(repr(e) for e in extra)} (expected {', '.join(self.names)})")


@dataclass
class Validated:
    """The outcome of :func:`validate`: typed valid rows and raw rejected rows, both with :data:`ROW`."""

    valid: pd.DataFrame
    rejects: pd.DataFrame


class _Reasons:
    """Accumulates one reason string per row; only rows that fail a check are touched."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)

    def add(self, mask: np.ndarray, messages: Sequence[str]) -> None:
        for i, message in zip(np.flatnonzero(mask), messages, strict=True):
            self.text[i] = message if not self.text[i] else f"{self.text[i]}; {message}"

    @property
    def bad(self) -> np.ndarray:
        return self.text != ""


def _picked(values: pd.Series, mask: np.ndarray) -> list[str]:
    return values.iloc[np.flatnonzero(mask)].tolist()


def _factorize(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, uniques, missing)``: each distinct text once; a missing cell (``""`` or NA) is ``missing``.

    ``codes`` index ``uniques`` with NA as ``len(uniques)``, so a per-distinct array with one extra trailing
    entry (the NA answer) is taken by ``codes`` directly.
    """
    codes, uniques = pd.factorize(raw)
    uniq = np.asarray(uniques, dtype=object)
    codes = np.where(codes < 0, len(uniq), codes) if len(codes) and codes.min() < 0 else codes
    missing = np.append(uniq == "", True)[codes]
    return codes, uniq, missing


def _check_column(col: Column, raw: pd.Series, reasons: _Reasons) -> pd.Series:
    """Type one column, recording every violation; returns the typed column (invalid cells are NA).

    Every check runs once per *distinct* text and is taken back to the rows by the factorize codes.
    """
    codes, uniq, missing = _factorize(raw)
    if col.required and missing.any():
        reasons.add(missing, [f"{col.name}: is required"] * int(missing.sum()))
    present = ~missing
    if col.dtype in ("float", "int"):
        parsed = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce").to_numpy(dtype="float64",
                                                                                       na_value=np.nan)
        values = np.append(parsed, np.nan)[codes]
        number = pd.Series(values, index=raw.index, name=raw.name)
        bad = present & ~np.isfinite(values)
        if col.dtype == "int":
            bad |= present & np.isfinite(values) & (np.mod(values, 1) != 0)
        kind = "an integer" if col.dtype == "int" else "a number"
        reasons.add(bad, [f"{col.name}: {v!r} is not {kind}" for v in _picked(raw, bad)])
        ok = present & ~bad
        for bound, below, word in ((col.minimum, True, "below the minimum"), (col.maximum, False,
                                                                               "above the maximum")):
            if bound is None:
                continue
            out = ok & ((values < bound) if below else (values > bound))
            reasons.add(out, [f"{col.name}: {v} is {word} {bound:g}" for v in _picked(raw, out)])
        return number
    if col.dtype == "datetime":
        return _check_timestamps(col, raw, codes, uniq, present, reasons)
    if col.pattern is not None:
        rx = re.compile(col.pattern, re.ASCII)
        fits = np.fromiter((rx.fullmatch(u) is not None for u in uniq), dtype=bool, count=len(uniq))
        bad = present & ~np.append(fits, True)[codes]
        reasons.add(bad, [f"{col.name}: {v!r} does not match {col.pattern}" for v in _picked(raw, bad)])
    if col.allowed:
        fits = np.isin(uniq, np.asarray(col.allowed, dtype=object))
        bad = present & ~np.append(fits, True)[codes]
        reasons.add(bad, [f"{col.name}: {v!r} is not one of {', '.join(col.allowed)}" for v in _picked(raw, bad)])
    if len(uniq) * 2 <= len(raw):  # low cardinality (ids, units): keep the codes, later steps reuse them
        cat_codes = np.where(codes == len(uniq), -1, codes)
        return pd.Series(pd.Categorical.from_codes(cat_codes, categories=pd.Index(uniq, dtype=object)),
                         index=raw.index, name=raw.name)
    return raw


_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d(?::?\d\d(?::?\d\d)?)?)\s*$", re.ASCII)
NO_UTC_OFFSET = "NO_UTC_OFFSET"
NONEXISTENT_LOCAL_TIME = "NONEXISTENT_LOCAL_TIME"
AMBIGUOUS_LOCAL_TIME = "AMBIGUOUS_LOCAL_TIME"
_PROBLEMS = ("", NO_UTC_OFFSET, NONEXISTENT_LOCAL_TIME, AMBIGUOUS_LOCAL_TIME)
_NAT = np.iinfo("int64").min


def _epoch_ns(stamps: pd.Series) -> np.ndarray:
    """UTC epoch nanoseconds of a tz-aware series (NaT as int64 min)."""
    return np.asarray(stamps.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8, dtype="int64")


def _check_timestamps(col: Column, raw: pd.Series, codes: np.ndarray, uniq: np.ndarray, present: np.ndarray,
                      reasons: _Reasons) -> pd.Series:
    """Parse a datetime column once per distinct text; apply the column's rule for offset-less values.

    Values stay int64 epoch nanoseconds until the end: a datetime64 take never goes through Timestamp objects.
    """
    text = pd.Series(uniq, dtype=object)
    ns = np.full(len(text) + 1, _NAT, dtype="int64")  # the last slot answers missing cells
    problem = np.zeros(len(text) + 1, dtype="int8")  # index into _PROBLEMS
    if len(text):
        iso = col.datetime_format == "ISO8601"
        has_offset = text.str.contains(_OFFSET).to_numpy(dtype=bool) if iso else np.ones(len(text), dtype=bool)
        with_offset = pd.to_datetime(text[has_offset], format=col.datetime_format, utc=True, errors="coerce")
        ns[:-1][has_offset] = _epoch_ns(with_offset)
        naive = text[~has_offset]
        local = pd.to_datetime(naive, format=col.datetime_format, errors="coerce", utc=False) if len(naive) \
            else None
        where_naive = np.flatnonzero(~has_offset)
        if local is not None and col.without_offset == "reject":
            problem[where_naive[local.notna().to_numpy()]] = 1
        elif local is not None:
            if isinstance(local.dtype, pd.DatetimeTZDtype):  # an offset the pattern did not see
                zoned = local
            else:
                zoned = local.dt.tz_localize(col.without_offset, ambiguous="NaT", nonexistent="NaT")
                lost = local.notna() & zoned.isna()
                if lost.any():
                    earlier = local[lost].dt.tz_localize(col.without_offset, ambiguous=True, nonexistent="NaT")
                    problem[where_naive[lost.to_numpy()]] = np.where(earlier.isna().to_numpy(), 2, 3)
            ns[where_naive] = _epoch_ns(zoned)
    row_problem = problem[codes]
    coded = present & (row_problem != 0)
    typed = ns[codes]
    bad = present & (typed == _NAT) & ~coded
    reasons.add(bad, [f"{col.name}: {v!r} is not a timestamp ({col.datetime_format})" for v in _picked(raw, bad)])
    if coded.any():
        hint = {NO_UTC_OFFSET: f"has no UTC offset [{NO_UTC_OFFSET}]",
                NONEXISTENT_LOCAL_TIME: f"does not exist in {col.without_offset} [{NONEXISTENT_LOCAL_TIME}]",
                AMBIGUOUS_LOCAL_TIME: f"is ambiguous in {col.without_offset} [{AMBIGUOUS_LOCAL_TIME}]"}
        reasons.add(coded, [f"{col.name}: {v!r} {hint[_PROBLEMS[p]]}" for v, p in zip(
            _picked(raw, coded), row_problem[coded].tolist(), strict=True)])
        typed[coded] = _NAT
    return pd.Series(pd.DatetimeIndex(typed.view("datetime64[ns]")).tz_localize("UTC"), index=raw.index,
                     name=raw.name)


def find_conflicts(frame: pd.DataFrame, key: Sequence[str], columns: Sequence[str]) -> pd.Series:
    """Rows whose ``key`` repeats an earlier row's key with *different* values.

    Returns the first row number (``ROW``) each conflicting row clashes with, indexed like ``frame``; exact
    duplicates are not conflicts (:func:`drop_exact_duplicates` removes them). Work is proportional to the
    rows that share a key, not to the frame.

    Example
    -------
    >>> f = pd.DataFrame({"k": ["a", "a", "a"], "v": [1, 1, 2], ROW: [1, 2, 3]})
    >>> find_conflicts(f, ["k"], ["k", "v"]).to_dict()
    {2: 1}
    """
    if not key or frame.empty:
        return pd.Series(dtype="int64")
    shared = frame.duplicated(list(key), keep=False)
    if not shared.any():
        return pd.Series(dtype="int64")
    keys = list(key)
    values = [c for c in columns if c not in keys]
    sub = frame.loc[shared, [*keys, *values, ROW]]
    first_label = sub.groupby(keys, sort=False, dropna=False)[ROW].transform("idxmin").to_numpy()
    first = sub.loc[first_label, [*values, ROW]].set_axis(sub.index)
    same = (sub[values] == first[values]) | (sub[values].isna() & first[values].isna())
    conflict = ~same.all(axis=1) & (sub[ROW] != first[ROW])
    return first.loc[conflict, ROW].astype("int64")


def drop_exact_duplicates(frame: pd.DataFrame, columns: Sequence[str],
                          key: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """Drop rows identical (on ``columns``) to an earlier row; return the frame and how many were dropped.

    With ``key`` (a subset of ``columns``), only rows sharing a key are compared: identical rows share every
    key, and hashing two key columns instead of all of them halves the work on large partitions.

    Example
    -------
    >>> f = pd.DataFrame({"k": ["a", "a"], ROW: [1, 2]})
    >>> drop_exact_duplicates(f, ["k"])[1]
    1
    """
    candidates = frame
    if key:
        shared = frame.duplicated(list(key), keep=False).to_numpy()
        if not shared.any():
            return frame, 0
        candidates = frame.loc[shared]
    dup = candidates.duplicated(list(columns), keep="first")
    dropped = int(dup.sum())
    return (frame.drop(index=dup.index[dup.to_numpy()]) if dropped else frame), dropped


def validate(raw: pd.DataFrame, schema: Schema, *, first_row: int = 1) -> Validated:
    """Check a partition of raw string columns against ``schema``.

    Parameters
    ----------
    raw:
        the partition as read (every column a string, empty string = missing); extra columns are ignored.
    schema:
        the dataset's rules.
    first_row:
        the 1-based data row number of ``raw``'s first row in the source file.

    Returns
    -------
    Validated
        ``valid``: typed schema columns plus ``ROW`` (low-cardinality text columns become categoricals);
        ``rejects``: the raw schema columns plus ``ROW`` and ``REASON``. Uniqueness is a whole-file property:
        :func:`resolve_duplicates` applies it once all partitions are valid (a per-partition check could keep
        a different "first" row).

    Example
    -------
    >>> s = Schema("d", (Column("x", "int"),))
    >>> validate(pd.DataFrame({"x": ["1", "1.5"]}), s, first_row=10).rejects[ROW].tolist()
    [11]
    """
    schema.check_columns(list(raw.columns), schema.name)
    reasons = _Reasons(len(raw))
    typed = {col.name: _check_column(col, raw[col.name], reasons) for col in schema.columns}
    frame = pd.DataFrame(typed)
    frame[ROW] = np.arange(first_row, first_row + len(raw), dtype="int64")
    bad = reasons.bad
    rejects = raw.loc[bad, list(schema.names)].copy()
    rejects[ROW] = frame[ROW].to_numpy()[bad]
    rejects[REASON] = reasons.text[bad]
    valid = frame.loc[~bad].reset_index(drop=True) if bad.any() else frame
    return Validated(valid=valid, rejects=rejects.reset_index(drop=True))


def resolve_duplicates(frame: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Apply the schema's uniqueness key to valid rows ordered by ``ROW``.

    Exact duplicates (same values in every schema column) are dropped first, keeping the first; then a row
    whose key repeats an earlier row's key with different values is rejected. Dropping exact duplicates
    early (per partition) and again here gives the same result as doing it once over the whole file.

    Returns
    -------
    (kept, rejects, dropped)
        ``rejects`` has the schema columns, ``ROW`` and ``REASON``; ``dropped`` counts exact duplicates.

    Example
    -------
    >>> s = Schema("d", (Column("k"), Column("v", "int")), unique=("k",))
    >>> f = pd.DataFrame({"k": ["a", "a", "a"], "v": [1, 1, 2], ROW: [1, 2, 3]})
    >>> kept, rejects, dropped = resolve_duplicates(f, s)
    >>> (kept[ROW].tolist(), rejects[REASON].tolist(), dropped)
    ([1], ['k: duplicate of row 1 with different values'], 1)
    """
    kept, dropped = drop_exact_duplicates(frame, schema.names, schema.unique)
    conflicts = find_conflicts(kept, schema.unique, schema.names)
    rejects = kept.loc[conflicts.index, [*schema.names, ROW]].copy()
    rejects[REASON] = [f"{', '.join(schema.unique)}: duplicate of row {r} with different values"
                       for r in conflicts.to_numpy()]
    if len(conflicts):
        kept = kept.drop(index=conflicts.index)
    return kept.reset_index(drop=True), rejects.reset_index(drop=True), dropped
