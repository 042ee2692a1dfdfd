"""Strip rules: what a Lambda layer does not need, and ``strip --strip-unneeded`` on extension modules.

Never strip binaries inside ``*.libs/`` (auditwheel's vendored libraries such as ``numpy.libs/libscipy_openblas``):
stripping them breaks numpy at import.
"""

from __future__ import annotations

import os
import platform as host_platform
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SOURCE_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".hpp", ".pyi")
DIST_INFO_KEEP = frozenset({"METADATA", "entry_points.txt", "top_level.txt"})
LICENSE_PREFIXES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")
BUILD_ONLY_PREFIXES = (
    # build tools, never imported by a running program (numpy's PyInstaller hook excludes them too); numpy.f2py
    # stays: `from numpy import *` (scipy.array_api_compat) imports it
    "numpy/distutils/", "numpy/_pyinstaller/",
)
TEST_ONLY_MODULES = (
    # extension modules only numpy's test suite imports (numpy._core._multiarray_tests is kept: PyInstaller's
    # hook lists it as a hidden import)
    "numpy/_core/_simd.", "numpy/_core/_umath_tests.", "numpy/_core/_rational_tests.",
    "numpy/_core/_struct_ufunc_tests.", "numpy/_core/_operand_flag_tests.",
)
DOC_STEMS = frozenset({"README", "CHANGES", "CHANGELOG", "HISTORY", "NEWS", "API_CHANGES"})
DOC_SUFFIXES = ("", ".rst", ".md", ".txt")
"""Prose for developers shipped inside packages (``numpy/ma/README.rst``); never read by a running program.
License texts are never dropped."""
RUNTIME_IMPORTED_TESTS = frozenset({
    # numpy 2.2.x imports numpy._core.tests._natype from numpy.testing at run time
    "numpy/_core/tests/_natype.py",
    "numpy/_core/tests/__init__.py",
})


def drop_reason(rel: str, *, keep: frozenset[str] = frozenset()) -> str | None:
    """Why ``rel`` (a path relative to the layer's ``python/``) is left out, or ``None`` to keep it.

    Example
    -------
    >>> drop_reason("pandas/tests/frame/test_api.py"), drop_reason("numpy/_core/tests/_natype.py")
    ('tests', None)
    """
    if rel in keep or rel in RUNTIME_IMPORTED_TESTS:
        return None
    path = PurePosixPath(rel)
    parts = path.parts
    if "__pycache__" in parts or path.suffix in (".pyc", ".pyo"):
        return "pyc"
    if parts[0].endswith(".dist-info"):
        if len(parts) == 2 and parts[1] in DIST_INFO_KEEP:
            return None
        if (len(parts) > 2 and parts[1] == "licenses") or parts[-1].upper().startswith(LICENSE_PREFIXES):
            return None
        return "dist-info"
    if parts[0] == "bin":
        return "bin"
    if "tests" in parts[:-1] or parts[-1] == "conftest.py" or rel.startswith(TEST_ONLY_MODULES):
        return "tests"
    if rel.startswith(BUILD_ONLY_PREFIXES) or path.suffix == ".a":
        return "build-only"
    if path.suffix in SOURCE_SUFFIXES:
        return "sources"
    if path.stem.upper() in DOC_STEMS and path.suffix.lower() in DOC_SUFFIXES:
        return "docs"
    return None


@dataclass
class StripResult:
    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    binaries_stripped: int = 0
    binaries_skipped_libs: int = 0
    binary_bytes_saved: int = 0
    tool: str | None = None
    notes: list[str] = field(default_factory=list)


def remove_unneeded(root: Path, *, keep: frozenset[str] = frozenset(), result: StripResult) -> None:
    """Delete every file under ``root`` that :func:`drop_reason` rejects, then empty directories."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in filenames:
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            reason = drop_reason(rel, keep=keep)
            if reason:
                stats = result.removed.setdefault(reason, {"files": 0, "bytes": 0})
                stats["files"] += 1
                stats["bytes"] += path.stat().st_size
                path.unlink()
    for dirpath, _dirnames, _filenames in sorted(os.walk(root), key=lambda w: -len(w[0])):
        if dirpath != str(root) and not os.listdir(dirpath):
            os.rmdir(dirpath)


def in_vendored_libs(rel: str) -> bool:
    """True for files inside an auditwheel ``*.libs`` directory, which must never be stripped."""
    return any(part.endswith(".libs") for part in PurePosixPath(rel).parts[:-1])


def is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def strippable(root: Path) -> Iterable[tuple[str, Path]]:
    """Package ELF shared objects below ``root`` outside ``*.libs/`` as ``(rel, path)``."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in sorted(filenames):
            if ".so" not in filename:
                continue
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            if not in_vendored_libs(rel) and not path.is_symlink() and is_elf(path):
                yield rel, path


def find_strip_tool(architecture: str) -> list[str] | None:
    """The strip command for ``architecture`` available here, or ``None`` (then binaries stay unstripped)."""
    host = host_platform.machine()
    candidates = (["llvm-strip", "aarch64-linux-gnu-strip"] if architecture == "arm64"
                  else ["x86_64-linux-gnu-strip", "llvm-strip"])
    if (architecture == "x86_64" and host in ("x86_64", "AMD64")) or (
            architecture == "arm64" and host in ("aarch64", "arm64")):
        candidates.insert(0, "strip")
    for name in candidates:
        exe = shutil.which(name)
        if exe:
            return [exe, "--strip-unneeded"]
    return None


def tool_version(tool: list[str] | None) -> str:
    if not tool:
        return "none"
    proc = subprocess.run([tool[0], "--version"], capture_output=True, text=True, check=False)
    lines = [line.strip() for line in (proc.stdout or proc.stderr).strip().splitlines() if line.strip()]
    versioned = next((line for line in lines if any(ch.isdigit() for ch in line)), lines[0] if lines else "?")
    return f"{Path(tool[0]).name}: {versioned}"


def strip_binaries(root: Path, architecture: str, *, result: StripResult, workers: int | None = None) -> None:
    """``strip --strip-unneeded`` every package ``.so`` below ``root`` except inside ``*.libs/``."""
    tool = find_strip_tool(architecture)
    result.tool = tool_version(tool)
    result.binaries_skipped_libs = sum(
        1 for dirpath, _d, files in os.walk(root) for f in files
        if ".so" in f and in_vendored_libs((Path(dirpath) / f).relative_to(root).as_posix()))
    if tool is None:
        result.notes.append(f"no strip tool for {architecture} found (install binutils or llvm): "
                            ".so files shipped unstripped")
        return
    targets = [path for _rel, path in strippable(root)]

    def run(path: Path) -> int:
        before = path.stat().st_size
        proc = subprocess.run([*tool, str(path)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            result.notes.append(f"strip failed on {path.relative_to(root)}: {proc.stderr.strip()[:200]}")
            return 0
        return before - path.stat().st_size

    with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 2) * 2)) as pool:
        saved = list(pool.map(run, targets))
    result.binaries_stripped = len(targets)
    result.binary_bytes_saved = sum(saved)
