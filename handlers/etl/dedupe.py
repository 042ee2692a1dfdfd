"""De-duplication across partitions in bounded memory: key indexes merged one hash window at a time.

The transform step writes, per partition, a *key index*: for every kept row its key hash, its row hash (all
schema columns) and its row number, grouped by bucket (the top :data:`BUCKET_BITS` bits of the key hash)
behind a header of bucket offsets. The output step then reads the same hash range of every partition's
index with ranged GETs (:func:`plan_windows` keeps each window under a row budget), and
:func:`window_duplicates` applies the whole-file rule of :func:`handlers.etl.schema.resolve_duplicates` to it:
a row identical to an earlier row is dropped, a row whose key repeats an earlier kept row with different
values is a conflict. Rows with equal keys always share a window, so the windows together give exactly the
whole-file answer while memory stays bounded by the window, not the file. Hashes are pandas' 64-bit
``hash_pandas_object`` of the typed values (categoricals by value), so the same value hashes the same in every
partition.

Example
-------
>>> import pandas as pd
>>> f = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3], "_row": [1, 2, 3]})
>>> offsets, entries = read_index(key_index(f, key=["k"], columns=["k", "v"]))
>>> window_duplicates(entries).conflicts.tolist(), window_duplicates(entries).first.tolist()
([3], [1])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from handlers.etl.schema import ROW

BUCKET_BITS = 10
BUCKETS = 1 << BUCKET_BITS
ENTRY = np.dtype([("key", "<u8"), ("row_hash", "<u8"), ("row", "<i8")])
"""One index entry: 24 bytes per row."""
HEADER_BYTES = (BUCKETS + 1) * 8
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _hash(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(frame[list(columns)], index=False).to_numpy(dtype="uint64")


def key_index(frame: pd.DataFrame, *, key: Sequence[str], columns: Sequence[str]) -> bytes:
    """The partition's key index: ``BUCKETS + 1`` little-endian uint64 offsets, then the entries grouped by
    bucket (the top :data:`BUCKET_BITS` bits of the key hash), in row order within a bucket.

    ``key`` is the uniqueness key (all ``columns`` when the dataset has none); ``frame`` has :data:`ROW`. The
    grouping is a counting sort (linear time): readers only need a bucket's entries together, not sorted.
    """
    key = list(key or columns)
    others = [c for c in columns if c not in key]
    keys = _hash(frame, key)
    # the row hash extends the key hash with the other columns (hashing the key columns once)
    row_hash = keys * _MIX + _hash(frame, others) if others else keys
    rows = frame[ROW].to_numpy(dtype="int64")
    bucket = (keys >> np.uint64(64 - BUCKET_BITS)).astype(np.uint16)
    order = np.argsort(bucket, kind="stable") if len(rows) else np.empty(0, dtype="intp")  # radix sort
    if len(rows) > 1 and not bool((rows[1:] > rows[:-1]).all()):
        order = np.lexsort((rows, bucket))
    entries = np.empty(len(frame), dtype=ENTRY)
    entries["key"] = keys[order]
    entries["row_hash"] = row_hash[order]
    entries["row"] = rows[order]
    offsets = np.zeros(BUCKETS + 1, dtype="<u8")
    np.cumsum(np.bincount(bucket, minlength=BUCKETS), out=offsets[1:])
    return offsets.tobytes() + entries.tobytes()


def read_index(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, entries)`` of a whole key index."""
    return (np.frombuffer(body[:HEADER_BYTES], dtype="<u8").astype("int64"),
            np.frombuffer(body[HEADER_BYTES:], dtype=ENTRY))


def entry_range(first: int, last: int) -> tuple[int, int]:
    """Byte range ``[start, end)`` of entries ``[first, last)`` inside the index object."""
    return HEADER_BYTES + first * ENTRY.itemsize, HEADER_BYTES + last * ENTRY.itemsize


def plan_windows(offsets: np.ndarray, max_rows: int) -> list[tuple[int, int]]:
    """Group consecutive buckets into windows of at most ``max_rows`` entries (a bigger bucket is its own).

    ``offsets`` is ``(partitions, BUCKETS + 1)``.

    Example
    -------
    >>> o = np.array([[0, 5, 10, 10, 12] + [12] * (BUCKETS - 4)])
    >>> plan_windows(o, 6)[:3]
    [(0, 1), (1, 3), (3, 1024)]
    """
    per_bucket = np.diff(offsets, axis=1).sum(axis=0)
    windows, start, size = [], 0, 0
    for bucket, count in enumerate(per_bucket.tolist()):
        if size and size + count > max_rows:
            windows.append((start, bucket))
            start, size = bucket, 0
        size += count
    windows.append((start, BUCKETS))
    return windows


@dataclass
class Duplicates:
    """Rows to drop (identical to an earlier row) and conflicts (with the first row of their key)."""

    dropped: np.ndarray
    conflicts: np.ndarray
    first: np.ndarray

    @classmethod
    def concat(cls, parts: Sequence[Duplicates]) -> Duplicates:
        if not parts:
            empty = np.empty(0, dtype="int64")
            return cls(empty, empty, empty)
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("dropped", "conflicts", "first")))


def window_duplicates(entries: np.ndarray) -> Duplicates:
    """The whole-file duplicate rule on one window of entries (from any number of partitions, any order).

    Example
    -------
    >>> e = np.array([(1, 7, 4), (1, 7, 2), (1, 8, 3), (2, 9, 1)], dtype=ENTRY)
    >>> d = window_duplicates(e)
    >>> d.dropped.tolist(), d.conflicts.tolist(), d.first.tolist()
    ([4], [3], [2])
    """
    empty = np.empty(0, dtype="int64")
    if len(entries) < 2:
        return Duplicates(empty, empty, empty)
    # most keys are unique: find the entries whose key repeats and apply the rule to those only
    keys = np.sort(entries["key"])
    repeated = np.unique(keys[1:][keys[1:] == keys[:-1]])
    if not len(repeated):
        return Duplicates(empty, empty, empty)
    candidates = entries[np.isin(entries["key"], repeated, assume_unique=False)]
    order = np.lexsort((candidates["row"], candidates["row_hash"], candidates["key"]))
    e = candidates[order]
    same_row = np.zeros(len(e), dtype=bool)
    same_row[1:] = (e["key"][1:] == e["key"][:-1]) & (e["row_hash"][1:] == e["row_hash"][:-1])
    dropped = e["row"][same_row].astype("int64")
    kept = e[~same_row]
    kept = kept[np.lexsort((kept["row"], kept["key"]))]
    starts = np.ones(len(kept), dtype=bool)
    starts[1:] = kept["key"][1:] != kept["key"][:-1]
    group_first = kept["row"][starts][np.cumsum(starts) - 1]
    conflict = ~starts
    return Duplicates(dropped, kept["row"][conflict].astype("int64"), group_first[conflict].astype("int64"))
