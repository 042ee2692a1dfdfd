"""The function code artifact: one deterministic zip of the ``handlers/`` package per program run.

Every sciflow function ships the same zip (zip root holds ``handlers/...``; a function's handler string is
``handlers.<dotted path>``), so unchanged code gives an unchanged ``source_code_hash`` and no diff.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components.bundling.archive import iter_tree, source_code_hash, write_deterministic_zip

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDLERS_DIR = REPO_ROOT / "handlers"
BUILD_DIR = REPO_ROOT / ".sciflow" / "build"


@dataclass(frozen=True)
class HandlersArchive:
    path: Path
    sha256: str
    source_code_hash: str
    unzipped_bytes: int


@functools.lru_cache(maxsize=4)
def handlers_archive(root: Path = HANDLERS_DIR, build_dir: Path = BUILD_DIR) -> HandlersArchive:
    """Zip ``root`` deterministically into ``build_dir/handlers-<sha12>.zip`` (built once per process).

    Example
    -------
    >>> archive = handlers_archive()
    >>> archive.path.name.startswith("handlers-")
    True
    """
    if not (root / "__init__.py").is_file():
        raise FileNotFoundError(f"{root}: not a Python package (no __init__.py)")
    entries = list(iter_tree(root, arc_prefix=f"{root.name}/"))
    build_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{root.name}-", suffix=".zip", dir=build_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        sha = write_deterministic_zip(entries, tmp)
        final = build_dir / f"{root.name}-{sha[:12]}.zip"
        tmp.replace(final)  # content-addressed: concurrent runs replace it with the same bytes
    finally:
        tmp.unlink(missing_ok=True)
    return HandlersArchive(final, sha, source_code_hash(sha), sum(path.stat().st_size for _, path in entries))
