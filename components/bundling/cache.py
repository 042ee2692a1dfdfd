"""Content-hash cache of built layers: per-key file locks and atomic publication.

Layout below the cache root (default ``~/.cache/sciflow/layers``)::

    <key>/layer.zip, <key>/build.json, <key>/python/   a finished build (the directory appears atomically)
    .tmp/<key>.<pid>.<random>/                         a build in progress (removed on failure)
    .locks/<key>.lock                                  fcntl lock held while building <key>
    .wheels/, .resolve/                                wheel store and resolution records
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUILDER_VERSION = "3"
"""Bump when a change to the engine changes the bytes of a layer: it invalidates every cached build."""


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "sciflow" / "layers"


@contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``lock_path`` (created if missing) for the block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def cache_key(inputs: Mapping[str, Any]) -> str:
    """sha256 (first 32 hex digits) of the canonical JSON of ``inputs`` plus :data:`BUILDER_VERSION`.

    Example
    -------
    >>> cache_key({"a": 1}) == cache_key({"a": 1}) != cache_key({"a": 2})
    True
    """
    payload = json.dumps({"builder": BUILDER_VERSION, **inputs}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class BuildDir:
    """A private build directory that becomes ``<root>/<key>`` only when :meth:`publish` is called."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        tmp_root = root / ".tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        for stale in tmp_root.glob(f"{key}.*"):  # left by a killed builder; we hold the key's lock
            shutil.rmtree(stale, ignore_errors=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{key}.{os.getpid()}.", dir=tmp_root))

    @property
    def final(self) -> Path:
        return self.root / self.key

    def publish(self) -> Path:
        if self.final.exists():  # only possible without the lock; keep the first complete build
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            os.rename(self.path, self.final)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
