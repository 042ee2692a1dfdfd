"""Spreadsheet-safe text: neutralize data-derived cells that a spreadsheet would execute (CSV/formula injection).

OWASP's CSV-injection guidance: a cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab (0x09) or a
carriage return (0x0D) may be evaluated as a formula by Excel, LibreOffice Calc or Google Sheets (``=HYPERLINK``,
``=cmd|' /C calc'!A0`` ...). openpyxl goes further: it stores *any* ``str`` starting with ``=`` as a formula.
Every CSV and Excel writer of sciflow passes data-derived text (values, column names, sheet names built from data
or object keys) through this module, which prefixes such text with a single quote so it is shown, never run.
Numbers stay numbers: only text is touched, so ``-3.5`` as a float is written as is and ``"-3.5"`` as text is not.

:func:`csv_bytes` is the one CSV writer to use: neutralized cells, ``\\n`` line ends, and every field that holds a
line break quoted (a bare carriage return inside a field is not quoted by Python's csv module when lines end in
``\\n``, and spreadsheets then split the row).

Example
-------
>>> neutralize("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> neutralize("plain"), neutralize(-3), neutralize("")
('plain', -3, '')
"""

from __future__ import annotations

import csv
import re
from typing import Any

#: characters that start a formula (or a DDE payload) in a spreadsheet cell, per OWASP
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER = re.compile(r"^[=+\-@\t\r]")
ESCAPE = "'"


def is_dangerous(value: Any) -> bool:
    """True when ``value`` is text a spreadsheet would evaluate.

    >>> [is_dangerous(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\\tx", "\\rx", "a=b", 5, None)]
    [True, True, True, True, True, True, False, False, False]
    """
    return isinstance(value, str) and value.startswith(TRIGGERS)


def neutralize(value: Any) -> Any:
    """``value`` unchanged unless it is dangerous text, which gets a leading single quote."""
    return ESCAPE + value if is_dangerous(value) else value


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame whose text cells and column names are neutralized (vectorized).

    Only object, string and categorical columns are looked at; numeric, boolean and datetime columns are returned
    as they are, so the CSV's numbers keep their formatting.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"=name": ["ok", "=1+2", "-x"], "n": [-1, 2, 3]})
    >>> out = safe_frame(df)
    >>> list(out.columns), out["'=name"].tolist(), out["n"].tolist()
    (["'=name", 'n'], ['ok', "'=1+2", "'-x"], [-1, 2, 3])
    """
    import pandas as pd

    out = frame.copy(deep=False)
    out.columns = [neutralize(c) for c in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categories = column.cat.categories
            if pd.api.types.is_string_dtype(categories.dtype):
                fixed = [neutralize(c) for c in categories]
                if fixed != list(categories):
                    out.isetitem(position, column.cat.rename_categories(fixed))
            continue
        if not pd.api.types.is_string_dtype(dtype):  # object columns count as text here too
            continue
        mixed = pd.api.types.is_object_dtype(dtype)
        text = column.astype("string") if mixed else column
        mask = text.str.match(_TRIGGER.pattern).fillna(False).astype(bool)
        if mixed:
            mask &= column.map(lambda v: isinstance(v, str)).astype(bool)
        if mask.any():
            fixed = column.copy()
            fixed[mask] = ESCAPE + column[mask].astype(str)
            out.isetitem(position, fixed)
    return out


def csv_bytes(frame: Any) -> bytes:
    """``frame`` as UTF-8 CSV without the index, neutralized, one ``\\n`` per row.

    When a text cell holds a carriage return, text fields are quoted (``QUOTE_NONNUMERIC``) so that the CR stays
    inside its field for every reader; otherwise only the fields that need it are quoted.

    >>> import pandas as pd
    >>> csv_bytes(pd.DataFrame({"a": ["=1", "x"], "n": [1, -2]}))
    b"a,n\\n'=1,1\\nx,-2\\n"
    >>> csv_bytes(pd.DataFrame({"a": ["line\\rbreak"], "n": [1]}))
    b'"a","n"\\n"line\\rbreak",1\\n'
    """
    safe = safe_frame(frame)
    quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(safe) else csv.QUOTE_MINIMAL
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting).encode("utf-8")


def _has_carriage_return(frame: Any) -> bool:
    import pandas as pd

    if any(isinstance(c, str) and "\r" in c for c in frame.columns):
        return True
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = pd.Series(column.cat.categories)
        elif not pd.api.types.is_string_dtype(column.dtype):
            continue
        if column.astype("string").str.contains("\r", regex=False).fillna(False).astype(bool).any():
            return True
    return False
