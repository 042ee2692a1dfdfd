"""gzip-compressed input (``.gz`` keys or gzip magic bytes), decompressed as a stream.

A compressed object has no byte ranges to hand to the partitions, so ingest reads it twice, in constant
memory: once to plan partitions on the decompressed bytes (:func:`gunzip`), once more to write each
partition's decompressed bytes (and the CSV header) to staging (:func:`split`); the validate step then reads
its partition from staging instead of a ranged GET of the raw object. Concatenated gzip members (``cat a.gz
b.gz``) are one stream, as ``gunzip`` reads them.

Example
-------
>>> import gzip
>>> b"".join(gunzip([gzip.compress(b"a,b\\n1,2\\n")], "f.csv.gz"))
b'a,b\\n1,2\\n'
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator

from handlers.etl.errors import FileRejected
from handlers.etl.formats import Plan

MAGIC = b"\x1f\x8b"


def is_gzip(head: bytes, key: str) -> bool:
    """Whether an object is gzip: its key ends ``.gz`` or its first bytes are the gzip magic.

    Example
    -------
    >>> is_gzip(b"\\x1f\\x8b\\x08", "in/a.csv"), is_gzip(b"a,b", "in/a.csv")
    (True, False)
    """
    return head.startswith(MAGIC) or key.lower().endswith(".gz")


def gunzip(chunks: Iterable[bytes], source: str) -> Iterator[bytes]:
    """Decompressed chunks of a gzip stream (one or more members); a corrupt or truncated stream is
    ``FileRejected(BAD_GZIP)``."""
    decoder, fed, offset = zlib.decompressobj(wbits=31), False, 0
    for chunk in chunks:
        data = chunk
        while data:
            try:
                out = decoder.decompress(data)
            except zlib.error as exc:
                raise FileRejected("BAD_GZIP", f"{source}: not a valid gzip stream near compressed byte "
                                   f"{offset} ({exc})") from None
            fed = True
            if out:
                yield out
            data = b""
            if decoder.eof:  # a member ended: what follows is the next member
                data, decoder, fed = decoder.unused_data, zlib.decompressobj(wbits=31), False
        offset += len(chunk)
    if fed and not decoder.eof:
        raise FileRejected("BAD_GZIP", f"{source}: the gzip stream is truncated at compressed byte {offset}")


def split(chunks: Iterable[bytes], plan: Plan, put: Callable[[str, bytes], None]) -> None:
    """Write the decompressed header (``"header"``) and each partition (``"part-NNNNN"``) through ``put``,
    holding at most one partition plus one chunk in memory."""
    bounds = [("header", plan.header_start, plan.header_end)] if plan.header_end > plan.header_start else []
    bounds += [(f"part-{p.index:05d}", p.start, p.end) for p in plan.partitions]
    position, pending = 0, bytearray()
    targets = iter(bounds)
    name, start, end = next(targets, ("", 0, 0))
    for chunk in chunks:
        chunk_start, position = position, position + len(chunk)
        while name and chunk_start < end and position > start:
            pending += chunk[max(start - chunk_start, 0):min(end, position) - chunk_start]
            if position < end:
                break
            put(name, bytes(pending))
            pending.clear()
            name, start, end = next(targets, ("", 0, 0))
    if name:
        put(name, bytes(pending))
