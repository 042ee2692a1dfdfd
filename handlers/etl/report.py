"""Report files of a run, written from the merged aggregates (never the whole file), spreadsheet-safe.

* :func:`workbook_bytes`: the standard ``report.xlsx`` of every pipeline: a ``Summary`` sheet plus one sheet of
  aggregates per group.
* A dataset may declare more report files (``Dataset.reports``: functions ``(aggregates, summary) -> {name:
  bytes}``); :func:`extra_outputs` runs them and checks their names. The building blocks for those are here:
  :class:`Sheet` + :func:`styled_workbook` (several sheets, conditional formatting: color scales and value fills),
  :func:`json_bytes` (structured or compact) and :func:`handlers.runtime.cells.csv_bytes` for CSV.

Every data-derived text cell goes through :func:`handlers.runtime.cells.neutralize` (openpyxl would store text
starting with ``=`` as a formula). Bytes are deterministic (fixed zip entry dates and document timestamps), so a
retried output step rewrites identical objects and write-once storage accepts them.

Example
-------
>>> import pandas as pd
>>> agg = pd.DataFrame({"sensor_id": ["A-001"], "date": ["2026-03-01"], "count": [3]})
>>> data = workbook_bytes({"status": "COMPLETED"}, agg, group_column="sensor_id")
>>> data[:2]
b'PK'
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

from handlers.runtime.cells import neutralize

MAX_GROUP_SHEETS = 200
_FIXED_TIME = "2000-01-01T00:00:00Z"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_title(value: Any, used: set[str], reserved: str = "summary") -> str:
    """An Excel-safe, unique sheet title (31 characters, no ``[]:*?/\\``), never ``reserved`` (any case).

    Example
    -------
    >>> sheet_title("a/b", set())
    'a_b'
    """
    base = _BAD_SHEET_CHARS.sub("_", str(value))[:31] or "group"
    title, n = base, 1
    while title.lower() in used or title.lower() == reserved:
        n += 1
        suffix = f"~{n}"
        title = base[: 31 - len(suffix)] + suffix
    used.add(title.lower())
    return title


def workbook_bytes(summary: Mapping[str, Any], aggregates: pd.DataFrame, *, group_column: str,
                   max_sheets: int = MAX_GROUP_SHEETS) -> bytes:
    """Render the report: ``Summary`` (one key/value per row) then one sheet per ``group_column`` value.

    Groups beyond ``max_sheets`` are listed on the summary sheet instead of getting a sheet.

    Example
    -------
    >>> workbook_bytes({}, pd.DataFrame({"g": []}), group_column="g")[:2]
    b'PK'
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Summary")
    _append(sheet, ["field", "value"], summary.items())
    groups = list(aggregates.groupby(group_column, sort=True)) if len(aggregates) else []
    if len(groups) > max_sheets:
        sheet.append(["groups without a sheet", neutralize(", ".join(str(g) for g, _ in groups[max_sheets:]))])
    used: set[str] = set()
    columns = [c for c in aggregates.columns if c != group_column]
    for value, frame in groups[:max_sheets]:
        _append(book.create_sheet(sheet_title(value, used)), columns, frame[columns].itertuples(index=False,
                                                                                               name=None))
    return _saved(book)


def _cell(value: Any) -> Any:
    """A value as an Excel cell: numpy scalars unwrapped, NaN empty, containers as text, text neutralized."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if not (isinstance(value, int | float | str) or value is None):
        value = json.dumps(value, sort_keys=True, default=str) if isinstance(value, Mapping | list | tuple) \
            else str(value)
    return neutralize(value)


def _append(sheet: Any, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> int:
    sheet.append([_cell(c) for c in header])
    count = 0
    for row in rows:
        sheet.append([_cell(v) for v in row])
        count += 1
    return count


def _saved(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return _normalize(buffer.getvalue())


# --------------------------------------------------------------------------- dataset report files
ReportHook = Callable[[pd.DataFrame, Mapping[str, Any]], Mapping[str, bytes]]
"""A dataset's extra report files: ``(finished aggregates, run summary) -> {file name: bytes}``."""
RESERVED = frozenset({"rows.csv", "aggregates.csv", "summary.json", "report.xlsx", "manifest.json"})
"""Names the output step writes itself."""
REPORT_SUFFIXES = (".xlsx", ".json", ".csv", ".txt")
_REPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")
LOW, MID, HIGH = "F8696B", "FFEB84", "63BE7B"
"""Excel's red-yellow-green color scale."""


@dataclass(frozen=True)
class Sheet:
    """One worksheet of :func:`styled_workbook`.

    Parameters
    ----------
    title:
        the sheet name (made Excel-safe and unique).
    frame:
        header = column names, then one row per frame row (text neutralized).
    color_scale:
        columns shaded red (lowest) - yellow - green (highest) over their data rows.
    fill_from, value_fills:
        every column from position ``fill_from`` on gets a solid fill where the cell equals a value
        (``((1, "C6EFCE"), (0, "FFC7CE"))``: a presence matrix).
    freeze:
        the top-left cell that stays in view (``"B2"``: the header row and first column).
    """

    title: str
    frame: pd.DataFrame
    color_scale: tuple[str, ...] = ()
    fill_from: int | None = None
    value_fills: tuple[tuple[float, str], ...] = ()
    freeze: str | None = "A2"
    widths: Mapping[str, float] = field(default_factory=dict)


def styled_workbook(sheets: Sequence[Sheet]) -> bytes:
    """An xlsx with ``sheets`` in order, conditional formatting applied (deterministic bytes).

    Example
    -------
    >>> frame = pd.DataFrame({"region": ["a", "b"], "coverage_pct": [10.0, 90.0]})
    >>> styled_workbook([Sheet("Regions", frame, color_scale=("coverage_pct",))])[:2]
    b'PK'
    """
    book = Workbook(write_only=True)
    used: set[str] = set()
    for spec in sheets:
        sheet = book.create_sheet(sheet_title(spec.title, used, reserved=""))
        columns = list(spec.frame.columns)
        if spec.freeze:
            sheet.freeze_panes = spec.freeze
        for name, width in spec.widths.items():
            if name in columns:
                sheet.column_dimensions[get_column_letter(columns.index(name) + 1)].width = width
        rows = _append(sheet, columns, spec.frame.itertuples(index=False, name=None))
        if not rows:
            continue
        last = rows + 1
        for name in spec.color_scale:
            letter = get_column_letter(columns.index(name) + 1)
            sheet.conditional_formatting.add(f"{letter}2:{letter}{last}", ColorScaleRule(
                start_type="min", start_color=LOW, mid_type="percentile", mid_value=50, mid_color=MID,
                end_type="max", end_color=HIGH))
        if spec.fill_from is not None and spec.fill_from < len(columns):
            area = f"{get_column_letter(spec.fill_from + 1)}2:{get_column_letter(len(columns))}{last}"
            for value, color in spec.value_fills:
                sheet.conditional_formatting.add(area, CellIsRule(
                    operator="equal", formula=[repr(value)],
                    fill=PatternFill(start_color=color, end_color=color, fill_type="solid")))
    return _saved(book)


def json_bytes(document: Any, *, compact: bool = False) -> bytes:
    """``document`` as UTF-8 JSON: indented with sorted keys, or ``compact`` (no whitespace); NaN refused.

    Example
    -------
    >>> json_bytes({"b": [1, 2], "a": None}, compact=True)
    b'{"a":null,"b":[1,2]}'
    """
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"{type(value).__name__} is not JSON")

    if compact:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=plain)
    else:
        text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False,
                          default=plain) + "\n"
    return text.encode("utf-8")


def extra_outputs(hooks: Sequence[ReportHook], aggregates: pd.DataFrame,
                  summary: Mapping[str, Any]) -> dict[str, bytes]:
    """Run a dataset's report hooks; every file name must be a plain name with a report suffix, not one of
    :data:`RESERVED`, and given once.

    Example
    -------
    >>> extra_outputs([lambda agg, s: {"n.txt": b"1"}], pd.DataFrame(), {})
    {'n.txt': b'1'}
    >>> extra_outputs([lambda agg, s: {"rows.csv": b""}], pd.DataFrame(), {})
    Traceback (most recent call last):
    ...
    ValueError: report file 'rows.csv' is written by the output step itself; rename it
    """
    out: dict[str, bytes] = {}
    for hook in hooks:
        for name, body in hook(aggregates, summary).items():
            if not _REPORT_NAME.fullmatch(name) or not name.endswith(REPORT_SUFFIXES):
                raise ValueError(f"report file {name!r}: use letters, digits, '.', '_' or '-' and end with one of "
                                 f"{', '.join(REPORT_SUFFIXES)}")
            if name in RESERVED:
                raise ValueError(f"report file {name!r} is written by the output step itself; rename it")
            if name in out:
                raise ValueError(f"report file {name!r} is produced twice")
            if not isinstance(body, bytes):
                raise ValueError(f"report file {name!r}: expected bytes, got {type(body).__name__}")
            out[name] = body
    return out


def _normalize(data: bytes) -> bytes:
    """Rewrite the xlsx zip with fixed entry dates and fixed document timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              rb"\g<1>" + _FIXED_TIME.encode() + rb"\g<3>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()
