"""ETL errors: file-level problems that fail a run before anything is published.

Row-level problems never raise: they become quarantined rows with a reason. A :class:`FileRejected` carries a
stable ``code`` (``EMPTY_FILE``, ``BAD_ENCODING``, ``UNSUPPORTED_FORMAT``, ``MALFORMED_CSV``,
``MISSING_COLUMNS``, ``BAD_JSON``, ``SOURCE_MISSING``) and a message naming the column, line or byte.

Example
-------
>>> str(FileRejected("EMPTY_FILE", "s3://b/k.csv has no data rows"))
'EMPTY_FILE: s3://b/k.csv has no data rows'
"""

from __future__ import annotations

from handlers.runtime.errors import SciflowError


class FileRejected(SciflowError):
    """The file as a whole breaks the dataset's contract (Step Functions sees ``Error: FileRejected``)."""

    code = "FileRejected"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class IncompleteRun(SciflowError):
    """A partition result the output step needs is missing (a partition never finished)."""

    code = "INCOMPLETE_RUN"
