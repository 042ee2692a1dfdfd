"""The report workbook (Excel, openpyxl): a ``Summary`` sheet plus one sheet of daily aggregates per group.

This is what users build by hand today. Every data-derived text cell goes through
:func:`handlers.runtime.cells.neutralize` (openpyxl would store text starting with ``=`` as a formula). Bytes are
deterministic (fixed zip entry dates and document
timestamps), so a retried output step rewrites an identical object and write-once storage accepts it.

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
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import pandas as pd
from openpyxl import Workbook

from handlers.runtime.cells import neutralize

MAX_GROUP_SHEETS = 200
_FIXED_TIME = "2000-01-01T00:00:00Z"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_title(value: Any, used: set[str]) -> str:
    """An Excel-safe, unique sheet title (31 characters, no ``[]:*?/\\``).

    Example
    -------
    >>> sheet_title("a/b", set())
    'a_b'
    """
    base = _BAD_SHEET_CHARS.sub("_", str(value))[:31] or "group"
    title, n = base, 1
    while title.lower() in used or title.lower() == "summary":
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
    sheet.append(["field", "value"])
    for key, value in summary.items():
        shown = value if isinstance(value, int | float | str) or value is None else str(value)
        sheet.append([neutralize(key), neutralize(shown)])
    groups = list(aggregates.groupby(group_column, sort=True)) if len(aggregates) else []
    if len(groups) > max_sheets:
        sheet.append(["groups without a sheet", neutralize(", ".join(str(g) for g, _ in groups[max_sheets:]))])
    used: set[str] = set()
    columns = [c for c in aggregates.columns if c != group_column]
    for value, frame in groups[:max_sheets]:
        group_sheet = book.create_sheet(sheet_title(value, used))
        group_sheet.append([neutralize(c) for c in columns])
        for row in frame[columns].itertuples(index=False, name=None):
            group_sheet.append([neutralize(v.item() if hasattr(v, "item") else v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return _normalize(buffer.getvalue())


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
