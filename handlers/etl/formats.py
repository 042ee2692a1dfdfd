"""Reading input files: format detection, streaming partition planning, and parsing one partition.

Partitions are byte ranges of the raw object, so the validate step reads its slice with a ranged GET and
nothing is copied. :func:`plan_partitions` streams the object once (8 MiB chunks, constant memory): it checks
UTF-8, rejects binary content, and cuts at record ends every ``partition_rows`` rows. A newline inside a
quoted CSV field is not a record end (quote parity is tracked across chunks). Supported: CSV with a header,
JSON Lines (one object per line), and a JSON array (always one partition).

Example
-------
>>> plan = plan_partitions([b"a,b\\n1,2\\n3,4\\n5,6\\n"], partition_rows=2, source="f.csv")
>>> [(p.start, p.end, p.first_row, p.rows) for p in plan.partitions]
[(4, 12, 1, 2), (12, 16, 3, 1)]
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from handlers.etl.contract import PartitionSpec
from handlers.etl.errors import FileRejected

CSV, JSON_LINES, JSON_ARRAY = "csv", "jsonl", "json"
_NEWLINE, _QUOTE = 10, 34
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Partition:
    """A byte range ``[start, end)`` of the raw object holding ``rows`` records from ``first_row`` (1-based)."""

    index: int
    start: int
    end: int
    first_row: int
    rows: int

    def to_dict(self) -> PartitionSpec:
        return PartitionSpec(index=self.index, start=self.start, end=self.end, first_row=self.first_row,
                             rows=self.rows)


@dataclass
class Plan:
    """The scan result: format, header byte range ``[header_start, header_end)``, partitions, row count."""

    format: str
    header_start: int = 0
    header_end: int = 0
    columns: tuple[str, ...] = ()
    rows: int = 0
    size: int = 0
    partitions: list[Partition] = field(default_factory=list)


def _detect(head: bytes, source: str) -> str:
    text = head.lstrip(_BOM).lstrip()
    if not text:
        raise FileRejected("EMPTY_FILE", f"{source} is empty")
    if text[:1] == b"[":
        return JSON_ARRAY
    if text[:1] == b"{":
        return JSON_LINES
    return CSV


class _Scanner:
    """Incremental state of :func:`plan_partitions`: UTF-8 check, quote parity, record ends, cut points."""

    def __init__(self, partition_rows: int, source: str, *, quoted: bool, header_records: int) -> None:
        self.partition_rows = partition_rows
        self.source = source
        self.quoted = quoted
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0
        self.parity = 0
        self.records = -header_records  # non-blank data records seen so far
        self.cuts: list[int] = []
        self.header_end: int | None = None if header_records else 0
        self.last_end = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise FileRejected("BAD_ENCODING", f"{self.source}: not UTF-8 at byte {self.offset + exc.start}") \
                from None
        data = np.frombuffer(chunk, dtype=np.uint8)
        if (data == 0).any():
            raise FileRejected("UNSUPPORTED_FORMAT", f"{self.source}: binary content (NUL byte at "
                               f"{self.offset + int(np.argmax(data == 0))}); expected CSV or JSON text")
        ends = np.flatnonzero(data == _NEWLINE)
        if self.quoted:
            quotes = np.flatnonzero(data == _QUOTE)
            if quotes.size:
                outside = (self.parity + np.searchsorted(quotes, ends)) % 2 == 0
                ends = ends[outside]
                self.parity = (self.parity + quotes.size) % 2
        ends = ends + (self.offset + 1)
        if ends.size:
            starts = np.concatenate(([self.last_end], ends[:-1]))
            real = (ends - starts) > 1
            numbers = self.records + np.cumsum(real)
            if self.header_end is None and real.any():
                self.header_end = int(ends[np.argmax(real)])
            self.cuts.extend(ends[real & (numbers > 0) & (numbers % self.partition_rows == 0)].tolist())
            self.records = int(numbers[-1])
            self.last_end = int(ends[-1])
        chunk_start = self.offset
        self.offset += len(chunk)
        self.tail = chunk[self.last_end - chunk_start:] if self.last_end > chunk_start else self.tail + chunk

    def finish(self) -> None:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileRejected("BAD_ENCODING", f"{self.source}: truncated UTF-8 sequence at the end") from None
        if self.tail.strip():  # a last record without a trailing newline
            self.records += 1
            if self.header_end is None:
                self.header_end = self.offset


def plan_partitions(chunks: Iterable[bytes], *, partition_rows: int, source: str) -> Plan:
    """Scan a file's bytes once and cut it into partitions of at most ``partition_rows`` records.

    Parameters
    ----------
    chunks:
        the object's body in order (e.g. ``body.iter_chunks(8 << 20)``).
    partition_rows:
        data records per partition (the last one may be shorter; blank lines are not records).
    source:
        ``s3://bucket/key`` for error messages.

    Raises
    ------
    FileRejected
        ``EMPTY_FILE``, ``BAD_ENCODING``, ``UNSUPPORTED_FORMAT`` or ``MALFORMED_CSV`` (header).

    Example
    -------
    >>> plan_partitions([b"[{\\"a\\": 1}]"], partition_rows=5, source="f.json").format
    'json'
    """
    if partition_rows < 1:
        raise ValueError("partition_rows must be >= 1")
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if head.strip() and (_NEWLINE in head or len(head) > 65536):
            break
    fmt = _detect(head, source)
    header_start = len(_BOM) if head.startswith(_BOM) else 0
    scanner = _Scanner(partition_rows, source, quoted=fmt == CSV, header_records=1 if fmt == CSV else 0)
    scanner.feed(head)
    for chunk in iterator:
        scanner.feed(chunk)
    scanner.finish()
    plan = Plan(format=fmt, size=scanner.offset, header_start=header_start)
    if fmt == JSON_ARRAY:
        plan.partitions = [Partition(0, 0, plan.size, 1, 0)]
        return plan
    start = 0
    if fmt == CSV:
        plan.header_end = scanner.header_end if scanner.header_end is not None else plan.size
        plan.columns = _csv_columns(head[header_start:plan.header_end], source)
        start = plan.header_end
    plan.rows = max(scanner.records, 0)
    if plan.rows == 0:
        raise FileRejected("EMPTY_FILE", f"{source} has no data rows")
    bounds = [start, *[end for end in scanner.cuts if start < end < plan.size], plan.size]
    first_row = 1
    for index, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        count = min(partition_rows, plan.rows - first_row + 1)
        plan.partitions.append(Partition(index, lo, hi, first_row, count))
        first_row += count
    return plan


def _csv_columns(header: bytes, source: str) -> tuple[str, ...]:
    text = header.decode("utf-8").strip("\r\n")
    try:
        row = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise FileRejected("MALFORMED_CSV", f"{source}: the header line is not CSV") from None
    return tuple(name.strip() for name in row)


def parse_partition(body: bytes, *, fmt: str, header: bytes, source: str, first_row: int) -> pd.DataFrame:
    """Parse one partition into a frame of strings (``""`` = missing), ready for ``schema.validate``.

    Parameters
    ----------
    body:
        the partition's bytes (a whole number of records).
    fmt:
        ``csv``, ``jsonl`` or ``json``.
    header:
        the CSV header line (``b""`` for JSON).
    source, first_row:
        for error messages: the object URI and the partition's first data row number.

    Raises
    ------
    FileRejected
        ``BAD_ENCODING``, ``MALFORMED_CSV`` (naming the row) or ``BAD_JSON`` (naming the row).

    Example
    -------
    >>> parse_partition(b"1,2\\n", fmt="csv", header=b"a,b\\n", source="f", first_row=1).to_dict("list")
    {'a': ['1'], 'b': ['2']}
    """
    if fmt == CSV:
        return _parse_csv(header.removeprefix(_BOM) + body, source, first_row)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRejected("BAD_ENCODING", f"{source}: not UTF-8 at byte {exc.start} of rows from "
                           f"{first_row}") from None
    if fmt == JSON_ARRAY:
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileRejected("BAD_JSON", f"{source}: not a JSON document ({exc.msg} at line {exc.lineno})") \
                from None
        if not isinstance(records, list):
            raise FileRejected("BAD_JSON", f"{source}: expected a JSON array of objects")
    else:
        records = []
        for line in text.splitlines():
            if not line.strip():
                continue
            row = first_row + len(records)
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise FileRejected("BAD_JSON", f"{source}: row {row} is not JSON ({exc.msg})") from None
    for n, record in enumerate(records):
        if not isinstance(record, dict):
            raise FileRejected("BAD_JSON", f"{source}: row {first_row + n} is not a JSON object")
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        frame[column] = [_json_text(v) for v in frame[column].tolist()]
    return frame


def _json_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _parse_csv(data: bytes, source: str, first_row: int) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False, na_filter=False,
                            encoding="utf-8", engine="c")
    except UnicodeDecodeError as exc:
        raise FileRejected("BAD_ENCODING", f"{source}: not UTF-8 at byte {exc.start} of rows from "
                           f"{first_row}") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+), saw (\d+)", str(exc))
        where = f"row {first_row + int(match.group(1)) - 2} has {match.group(2)} fields" if match else str(exc)
        raise FileRejected("MALFORMED_CSV", f"{source}: {where}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame  # with na_filter=False every cell is text: a short row's missing fields are "" already
