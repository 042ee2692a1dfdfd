"""Fast, lossless, spreadsheet-safe CSV rendering of typed frames: every ETL CSV (``rows.csv``, ``aggregates.csv``,
the quarantine files) is written by :func:`render`.

Every column is formatted once per *distinct* value (``pd.factorize`` or a categorical's own codes); the rows
are then assembled without a Python loop over rows: each column's distinct texts become a fixed-width byte
table, the tables are taken by the row codes into one ``rows x width`` byte matrix (zero-padded, separators
in place) and the padding is squeezed out in one pass. That is several times faster than ``DataFrame.to_csv``
and than joining Python strings. Rules:

* timestamps: UTC, ISO 8601 with ``Z``, each with the precision it needs to be exact (seconds, milli-, micro-
  or nanoseconds), so two timestamps that compare different never print the same;
* floats: the shortest text that reads back to the same float (``repr``), no exponent below 1e16;
* text: spreadsheet-executable text (leading ``=``, ``+``, ``-``, ``@``, tab or CR) is neutralized with
  :func:`handlers.runtime.cells.neutralize` (a leading ``'``), header names included; then quoted (``"``,
  doubled) only when it holds a comma, quote, CR or LF; missing values are empty. Numeric columns are numbers,
  never touched; raw text of a numeric column (a quarantined row) keeps a plain number such as ``-3.5`` as
  it is when the column is named in ``numbers``.

Example
-------
>>> import pandas as pd
>>> f = pd.DataFrame({"t": pd.to_datetime(["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000000001Z"], format="ISO8601"),
...                   "s": ["a,b", "=1+2"], "x": [-1.5, float("nan")]})
>>> print(render(f, header=True).decode(), end="")
t,s,x
2026-03-01T10:00:00Z,"a,b",-1.5
2026-03-01T10:00:00.000000001Z,'=1+2,
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from handlers.runtime.cells import neutralize

_SPECIAL = (",", '"', "\n", "\r")
_UNITS: tuple[tuple[int, Literal["s", "ms", "us", "ns"]], ...] = (
    (1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"), (1, "ns"))
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
MATRIX_BYTES = 8 << 20
"""Rows are assembled in blocks whose byte matrix stays under this size."""

Cells = tuple[np.ndarray, list[str]]
"""One formatted column: ``codes`` (one per row; ``-1`` = empty) into ``texts`` (each distinct value's CSV text)."""


def quote(text: str) -> str:
    """One CSV field (already neutralized text).

    Example
    -------
    >>> quote('a"b'), quote("plain")
    ('"a""b"', 'plain')
    """
    if any(ch in text for ch in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def header_line(columns: Sequence[object]) -> bytes:
    """The header line of a CSV with ``columns`` (neutralized, quoted as needed, ``\\n``-terminated).

    Example
    -------
    >>> header_line(["a", "=b", "c,d"])
    b'a,\\'=b,"c,d"\\n'
    """
    return (",".join(quote(neutralize(str(c))) for c in columns) + "\n").encode("utf-8")


def _timestamp_cells(values: pd.Series | pd.DatetimeIndex) -> Cells:
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    codes, uniques = pd.factorize(index.as_unit("ns").asi8)
    distinct = np.asarray(uniques, dtype="int64")
    text = np.full(len(distinct), "", dtype=object)
    stamps = distinct.astype("datetime64[ns]")
    done = distinct == np.iinfo("int64").min
    remainder = np.mod(distinct, 1_000_000_000)
    for step, unit in _UNITS:
        pick = ~done & (np.mod(remainder, step) == 0)
        if pick.any():
            text[pick] = np.char.add(np.datetime_as_string(stamps[pick], unit=unit), "Z").astype(object)
        done |= pick
    return np.asarray(codes), text.tolist()


def _float_cells(values: np.ndarray) -> Cells:
    codes, uniques = pd.factorize(np.asarray(values, dtype="float64"), use_na_sentinel=True)
    return np.asarray(codes), list(map(repr, np.asarray(uniques, dtype="float64").tolist()))


def _text_cells(values: pd.Series, *, numbers: bool = False) -> Cells:
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [str(u) for u in uniques]
    safe = [t if numbers and _NUMBER.fullmatch(t) else neutralize(t) for t in texts]
    return np.asarray(codes), [quote(t) for t in safe]


def _int_cells(values: pd.Series) -> Cells:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes), [str(int(u)) for u in uniques]


def _cells(values: pd.Series, *, numbers: bool = False) -> Cells:
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _timestamp_cells(values)
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return _int_cells(values)
    if pd.api.types.is_float_dtype(dtype):
        return _float_cells(values.to_numpy(dtype="float64", na_value=np.nan))
    return _text_cells(values, numbers=numbers)


def _per_row(cells: Cells) -> np.ndarray:
    codes, texts = cells
    table = np.asarray([*texts, ""], dtype=object)  # the last entry answers code -1
    return table[codes]


def format_timestamps(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """UTC ISO 8601 text with ``Z`` at the precision each value needs; NaT -> ``""``.

    Example
    -------
    >>> format_timestamps(pd.to_datetime(pd.Series(["2026-03-01T00:00:00.5+01:00"]))).tolist()
    ['2026-02-28T23:00:00.500Z']
    """
    return _per_row(_timestamp_cells(values))


def format_floats(values: np.ndarray) -> np.ndarray:
    """Shortest round-trip text of each float; NaN -> ``""``; integral values keep ``.0``.

    Example
    -------
    >>> format_floats(np.array([1.0, 0.1, float("nan"), 1e20])).tolist()
    ['1.0', '0.1', '', '1e+20']
    """
    return _per_row(_float_cells(values))


def _byte_table(texts: list[str]) -> np.ndarray:
    """``texts`` + an empty entry as a fixed-width UTF-8 byte table (``len + 1`` x ``width``, zero-padded)."""
    try:
        encoded = np.array([*texts, ""], dtype="S")  # numpy encodes ASCII itself (numbers, dates, most ids)
    except UnicodeEncodeError:
        encoded = np.array([t.encode("utf-8") for t in texts] + [b""], dtype="S")
    width = max(encoded.dtype.itemsize, 1)
    return encoded.view(np.uint8).reshape(len(encoded), width)


def _assemble(columns: list[Cells]) -> bytes:
    """The CSV lines of formatted columns (each line ``\\n``-terminated)."""
    if any("\0" in "".join(texts) for _, texts in columns):
        return _joined(columns)  # a NUL inside a value: the zero padding could not be told apart from it
    tables = [_byte_table(texts) for _, texts in columns]
    lengths = [np.count_nonzero(table, axis=1) for table in tables]
    rows = len(columns[0][0])
    width = sum(t.shape[1] for t in tables) + len(tables)
    real = sum(float(np.mean(length[codes])) for length, (codes, _) in zip(lengths, columns, strict=True))
    if width > 4 * (real + len(tables)) + 64:  # a few very long values: padding every row to them costs more
        return _joined(columns)
    # One record per row: each column's text as one opaque field (a row of its table), then its separator, so
    # taking a column's texts by the row codes copies whole fields, not bytes.
    line = np.dtype([(f, t) for n, table in enumerate(tables)
                     for f, t in ((f"v{n}", f"V{table.shape[1]}"), (f"s{n}", "u1"))])
    fields = [np.ascontiguousarray(table).view(f"V{table.shape[1]}").reshape(-1) for table in tables]
    block = max(1, MATRIX_BYTES // width)
    out = []
    for start in range(0, rows, block):
        stop = min(rows, start + block)
        matrix = np.empty(stop - start, dtype=line)  # every byte is written below
        for n, (field, (codes, _)) in enumerate(zip(fields, columns, strict=True)):
            matrix[f"v{n}"] = field[codes[start:stop]]  # code -1 takes the empty last entry
            matrix[f"s{n}"] = 10 if n == len(tables) - 1 else 44  # "\n" or ","
        flat = matrix.view(np.uint8)
        out.append(flat[flat != 0].tobytes())
    return b"".join(out)


def _joined(columns: list[Cells]) -> bytes:
    per_row = [_per_row(cells).tolist() for cells in columns]
    return ("\n".join(map(",".join, zip(*per_row, strict=True))) + "\n").encode("utf-8")


def render(frame: pd.DataFrame, *, columns: Sequence[str] | None = None, header: bool = False,
           numbers: Collection[str] = ()) -> bytes:
    """CSV bytes of ``frame[columns]`` (LF line ends, a trailing newline), with the header line if asked.

    ``numbers`` names text columns holding a numeric column's raw input (quarantined rows): a value that is a
    plain number there stays as it is, any other dangerous text is neutralized.

    Example
    -------
    >>> render(pd.DataFrame({"a": [1, 2], "b": ["-x", "-3.5"]}), numbers=["b"])
    b"1,'-x\\n2,-3.5\\n"
    """
    names = list(frame.columns if columns is None else columns)
    head = header_line(names) if header else b""
    if frame.empty or not names:
        return head
    return head + _assemble([_cells(frame[name], numbers=name in numbers) for name in names])
