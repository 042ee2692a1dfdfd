"""Return freed heap memory to the operating system (glibc ``malloc_trim``), so a long step's resident set
stays at what it holds now rather than the most it ever held.

Why: glibc keeps freed memory in its arenas (one per thread that allocated, e.g. the output step's S3
readers) and, after a large block is freed, raises its mmap threshold so later blocks of that size come from
those arenas too. A step that handles many partitions one after another then grows with the file although
each partition's data is freed: measured on the output step, peak RSS 145 MiB at 5 M rows against 72 MiB at
1 M. Trimming between partitions and key windows (:func:`trim`) and one malloc arena for the whole process
(:func:`single_arena`, so reader threads do not each keep their own) keep it flat: 73 MiB at 5 M rows, the same
CPU. On a libc without ``malloc_trim``/``mallopt`` (musl, macOS) both do nothing.

Example
-------
>>> trim() in (True, False), single_arena() in (True, False)
(True, True)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    if not library:
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None
    return function


def trim() -> bool:
    """Release free heap memory to the OS; True when some was released."""
    function = _libc_function("malloc_trim")
    return bool(function(0)) if function is not None else False


def single_arena() -> bool:
    """Let threads created from now on share the main malloc arena; True when the libc accepted it."""
    function = _libc_function("mallopt")
    return bool(function(_M_ARENA_MAX, 1)) if function is not None else False
