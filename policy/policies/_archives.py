"""Sizes of Lambda packages, read from the real archives (zip central directories, never extracted)."""

from __future__ import annotations

import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi


class ArchiveError(Exception):
    """The archive cannot be measured (missing file, remote archive, unreadable zip)."""


@dataclass(frozen=True)
class Size:
    """``zipped`` is the size of the file that is uploaded (``None`` when Pulumi builds the zip itself, then
    ``unzipped`` is an upper bound for it); ``unzipped`` is the sum of the members' sizes."""

    zipped: int | None
    unzipped: int


PROGRAM_DIR_ENV = "SCIFLOW_PROGRAM_DIR"
_CACHE: dict[tuple[str, int, int], Size] = {}


def resolve(path: str, base_dirs: tuple[str, ...] = ()) -> Path:
    """An archive path as the program meant it: absolute, or relative to the program directory.

    The analyzer runs in the policy pack's directory, not the program's, so relative paths are tried against
    ``$SCIFLOW_PROGRAM_DIR`` (set by ``policy.check``), ``base_dirs``, the working directory, then the pack's
    parent directory (the project, when the pack lives in ``<project>/policy``)."""
    p = Path(path)
    if p.is_absolute():
        return p
    for base in (os.environ.get(PROGRAM_DIR_ENV, ""), *base_dirs, "", ".."):
        candidate = Path(base) / p if base else p
        if candidate.exists():
            return candidate
    return p


def _measure_path(path: Path) -> Size:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ArchiveError(f"archive {path} does not exist") from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    if path.is_dir():
        total = 0
        for root, _dirs, files in os.walk(path):
            for name in files:
                total += os.path.getsize(os.path.join(root, name))
        size = Size(None, total)
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                size = Size(stat.st_size, sum(info.file_size for info in zf.infolist()))
        except (zipfile.BadZipFile, OSError) as err:
            raise ArchiveError(f"archive {path} is not a readable zip: {err}") from None
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            size = Size(None, sum(m.size for m in tf.getmembers() if m.isfile()))
    else:
        raise ArchiveError(f"{path} is neither a zip, a tar nor a directory")
    _CACHE[key] = size
    return size


def measure(value: Any, base_dirs: tuple[str, ...] = ()) -> Size:
    """The size of a ``pulumi`` archive or asset as the analyzer deserializes it."""
    if isinstance(value, pulumi.FileArchive):
        return _measure_path(resolve(str(value.path), base_dirs))
    if isinstance(value, pulumi.FileAsset):
        path = resolve(str(value.path), base_dirs)
        if zipfile.is_zipfile(path) if path.exists() else False:
            return _measure_path(path)
        try:
            n = path.stat().st_size
        except FileNotFoundError:
            raise ArchiveError(f"asset {path} does not exist") from None
        return Size(n, n)
    if isinstance(value, pulumi.StringAsset):
        n = len(str(value.text).encode())
        return Size(None, n)
    if isinstance(value, pulumi.AssetArchive):
        total = 0
        for member in value.assets.values():
            total += measure(member, base_dirs).unzipped
        return Size(None, total)
    if isinstance(value, pulumi.RemoteArchive | pulumi.RemoteAsset):
        raise ArchiveError(f"remote archive {value.uri} cannot be measured offline")
    raise ArchiveError(f"{type(value).__name__} is not an archive")


def mib(n: int) -> str:
    return f"{n / 1_048_576:.1f} MiB ({n:,} bytes)"
