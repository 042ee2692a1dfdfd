"""Deterministic zip archives: the same files give the same bytes, so ``pulumi up`` shows no diff.

Entries are sorted, dated 1980-01-01 00:00:00, with fixed modes (0644 files, 0755 executables) and a fixed
compression level; no directory entries, no extra fields.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 6


def iter_tree(root: Path, *, arc_prefix: str = "", exclude_dirs: frozenset[str] = frozenset({"__pycache__"}),
              exclude_suffixes: tuple[str, ...] = (".pyc",)) -> Iterator[tuple[str, Path]]:
    """Yield ``(arcname, path)`` for every file below ``root`` (arcnames use ``/`` and ``arc_prefix``)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in exclude_dirs)
        for filename in sorted(filenames):
            if filename.endswith(exclude_suffixes):
                continue
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            yield (f"{arc_prefix}{rel}", path)


def write_deterministic_zip(entries: Iterable[tuple[str, Path]], dest: Path,
                            *, compresslevel: int = COMPRESS_LEVEL) -> str:
    """Write ``entries`` to ``dest`` atomically and return the zip's sha256 hex digest.

    Example
    -------
    >>> tmp = tempfile.TemporaryDirectory()
    >>> source = Path(tmp.name) / "src"; source.mkdir(); _ = (source / "a.py").write_text("x = 1")
    >>> digest = write_deterministic_zip(iter_tree(source, arc_prefix="pkg/"), Path(tmp.name) / "a.zip")
    >>> digest == write_deterministic_zip(iter_tree(source, arc_prefix="pkg/"), Path(tmp.name) / "b.zip")
    True
    >>> zipfile.ZipFile(Path(tmp.name) / "a.zip").namelist()
    ['pkg/a.py']
    >>> tmp.cleanup()
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    items = sorted(entries, key=lambda item: item[0])
    names = [name for name, _ in items]
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate archive entries: {', '.join(dupes[:5])}")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
            for name, path in items:
                info = zipfile.ZipInfo(name, date_time=EPOCH)
                mode = 0o755 if os.access(path, os.X_OK) and path.suffix not in (".py", ".pyc") else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                with open(path, "rb") as fh:
                    zf.writestr(info, fh.read(), compresslevel=compresslevel)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return file_sha256(dest)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_code_hash(sha256_hex: str) -> str:
    """``base64(sha256(zip))``, the form Lambda reports as ``CodeSha256`` and Pulumi's ``source_code_hash``."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()
