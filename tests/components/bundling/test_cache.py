"""Cache keys, the per-key lock and atomic publication of a build directory."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from components.bundling.cache import BUILDER_VERSION, BuildDir, cache_key, locked

INPUTS = {"runtime": "python3.11", "architecture": "x86_64", "resolved": [["numpy", "2.2.6", "ab" * 32]],
          "pyc": "imported", "strip": "strip 2.40"}


def test_cache_key_is_stable_and_order_independent() -> None:
    assert cache_key(INPUTS) == cache_key(dict(reversed(list(INPUTS.items()))))
    assert len(cache_key(INPUTS)) == 32


@pytest.mark.parametrize(("field", "value"), [
    ("runtime", "python3.12"), ("architecture", "arm64"), ("resolved", [["numpy", "2.2.6", "cd" * 32]]),
    ("resolved", [["numpy", "2.2.5", "ab" * 32]]), ("pyc", "all"), ("strip", "off"),
])
def test_every_input_changes_the_key(field: str, value: object) -> None:
    assert cache_key({**INPUTS, field: value}) != cache_key(INPUTS)


def test_builder_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache_key(INPUTS)
    monkeypatch.setattr("components.bundling.cache.BUILDER_VERSION", BUILDER_VERSION + "-next")
    assert cache_key(INPUTS) != before


def test_lock_excludes_another_holder(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "k.lock"
    with locked(lock):
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the block
    finally:
        os.close(fd)


def test_build_dir_publishes_atomically_and_discards_completely(tmp_path: Path) -> None:
    work = BuildDir(tmp_path, "key1")
    (work.path / "layer.zip").write_bytes(b"zip")
    assert not (tmp_path / "key1").exists()
    assert work.publish() == tmp_path / "key1"
    assert (tmp_path / "key1" / "layer.zip").read_bytes() == b"zip"
    failed = BuildDir(tmp_path, "key2")
    (failed.path / "half.zip").write_bytes(b"half")
    failed.discard()
    assert not (tmp_path / "key2").exists()
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_stale_build_dirs_of_the_same_key_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".tmp" / "key3.999.abc"
    stale.mkdir(parents=True)
    other = tmp_path / ".tmp" / "other.999.abc"
    other.mkdir()
    BuildDir(tmp_path, "key3").discard()
    assert not stale.exists() and other.exists()
