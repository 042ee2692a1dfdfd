"""Strip rules: what a layer leaves out, and ``strip --strip-unneeded`` never inside ``*.libs/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy
import pytest

from components.bundling.archive import file_sha256
from components.bundling.strip import (
    StripResult,
    drop_reason,
    find_strip_tool,
    in_vendored_libs,
    remove_unneeded,
    strip_binaries,
)


@pytest.mark.parametrize(("rel", "reason"), [
    ("numpy/__pycache__/__init__.cpython-311.pyc", "pyc"),
    ("numpy/version.pyc", "pyc"),
    ("pandas/tests/frame/test_api.py", "tests"),
    ("scipy/stats/tests/data/x.npz", "tests"),
    ("numpy/conftest.py", "tests"),
    ("numpy/_core/_simd.cpython-311-x86_64-linux-gnu.so", "tests"),
    ("bin/f2py", "bin"),
    ("numpy/_core/include/numpy/ndarraytypes.h", "sources"),
    ("scipy/linalg/cython_blas.pxd", "sources"),
    ("pandas/_libs/lib.pyx", "sources"),
    ("pandas/_libs/lib.pyi", "sources"),
    ("numpy/distutils/core.py", "build-only"),
    ("numpy/_core/lib/libnpymath.a", "build-only"),
    ("numpy-2.2.6.dist-info/RECORD", "dist-info"),
    ("numpy-2.2.6.dist-info/WHEEL", "dist-info"),
    ("numpy-2.2.6.dist-info/INSTALLER", "dist-info"),
    ("numpy/ma/README.rst", "docs"),
    ("numpy/ma/API_CHANGES.txt", "docs"),
    ("pkg/CHANGELOG.md", "docs"),
])
def test_dropped(rel: str, reason: str) -> None:
    assert drop_reason(rel) == reason


@pytest.mark.parametrize("rel", [
    "numpy/__init__.py",
    "numpy/_core/tests/_natype.py",  # numpy 2.2.x imports it at run time
    "numpy/testing/__init__.py",
    "numpy/f2py/__init__.py",  # `from numpy import *` imports numpy.f2py
    "numpy/_core/_multiarray_tests.cpython-311-x86_64-linux-gnu.so",
    "numpy.libs/libscipy_openblas64_-56d6093b.so",
    "numpy-2.2.6.dist-info/METADATA",  # importlib.metadata.version()
    "numpy-2.2.6.dist-info/entry_points.txt",
    "numpy-2.2.6.dist-info/LICENSE.txt",
    "scipy-1.16.3.dist-info/licenses/LICENSE.txt",
    "pandas/tests.py",  # a module named tests is not a tests/ directory
    "numpy/random/LICENSE.md",  # license texts stay
    "pkg/readme.py",  # a module, not prose
    "pkg/news/__init__.py",
])
def test_kept(rel: str) -> None:
    assert drop_reason(rel) is None


def test_keep_overrides_a_rule() -> None:
    assert drop_reason("pkg/tests/fixtures.py") == "tests"
    assert drop_reason("pkg/tests/fixtures.py", keep=frozenset({"pkg/tests/fixtures.py"})) is None


def test_remove_unneeded_counts_and_prunes_empty_directories(tmp_path: Path) -> None:
    for rel, data in {"pkg/__init__.py": "x = 1\n", "pkg/tests/test_a.py": "t" * 10, "pkg/tests/data/b.csv": "c" * 5,
                      "pkg/_x.pyi": "s", "pkg-1.0.dist-info/RECORD": "r" * 3,
                      "pkg-1.0.dist-info/METADATA": "m"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(data)
    result = StripResult()
    remove_unneeded(tmp_path, result=result)
    assert result.removed == {"tests": {"files": 2, "bytes": 15}, "sources": {"files": 1, "bytes": 1},
                              "dist-info": {"files": 1, "bytes": 3}}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "pkg", "pkg-1.0.dist-info", "pkg-1.0.dist-info/METADATA", "pkg/__init__.py"]


@pytest.mark.parametrize(("rel", "vendored"), [
    ("numpy.libs/libgfortran-040039e1.so.5.0.0", True),
    ("scipy.libs/libscipy_openblas-b75cc656.so", True),
    ("pillow.libs/sub/libjpeg.so", True),
    ("numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", False),
    ("numpy/libs.so", False),
])
def test_vendored_libs_detection(rel: str, vendored: bool) -> None:
    assert in_vendored_libs(rel) is vendored


def _real_extension_module() -> Path:
    return next((Path(numpy.__file__).parent / "_core").glob("_multiarray_tests.cpython-*.so"))


X86_64_STRIP = find_strip_tool("x86_64")
ARM64_STRIP = find_strip_tool("arm64")
NO_STRIP_REASON = ("no strip tool for {} (components.bundling.strip.find_strip_tool looks for {} on PATH)")


def _tree_with_libs(tmp_path: Path) -> tuple[Path, Path]:
    """A package with a real extension module and the same ELF file vendored in ``pkg.libs/``."""
    ext = _real_extension_module()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg.libs").mkdir()
    shutil.copy(ext, tmp_path / "pkg" / ext.name)
    shutil.copy(ext, tmp_path / "pkg.libs" / "libvendored-abc123.so.1")
    (tmp_path / "pkg" / "not_elf.so.txt").write_text("text")
    return ext, tmp_path / "pkg.libs" / "libvendored-abc123.so.1"


@pytest.mark.skipif(X86_64_STRIP is None, reason=NO_STRIP_REASON.format(
    "x86_64", "strip (on an x86_64 host), x86_64-linux-gnu-strip or llvm-strip"))
def test_strip_binaries_never_touches_libs(tmp_path: Path) -> None:
    """Stripping inside ``*.libs/`` breaks numpy (verified in tests/e2e): those bytes must stay identical."""
    ext, vendored = _tree_with_libs(tmp_path)
    before = file_sha256(vendored)
    result = StripResult()
    strip_binaries(tmp_path, "x86_64", result=result)
    assert file_sha256(vendored) == before
    assert result.binaries_skipped_libs == 1
    assert result.binaries_stripped == 1
    assert result.notes == []
    assert (tmp_path / "pkg" / ext.name).stat().st_size == ext.stat().st_size - result.binary_bytes_saved


def test_without_a_strip_tool_binaries_stay_as_they_are_and_a_note_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("components.bundling.strip.find_strip_tool", lambda architecture: None)
    ext, vendored = _tree_with_libs(tmp_path)
    before = file_sha256(tmp_path / "pkg" / ext.name), file_sha256(vendored)
    result = StripResult()
    strip_binaries(tmp_path, "x86_64", result=result)
    assert (file_sha256(tmp_path / "pkg" / ext.name), file_sha256(vendored)) == before
    assert result.binaries_stripped == 0 and "no strip tool" in result.notes[0]


@pytest.mark.skipif(ARM64_STRIP is None, reason=NO_STRIP_REASON.format(
    "arm64", "llvm-strip, aarch64-linux-gnu-strip, or strip on an arm64 host"))
def test_arm64_strip_tool_is_llvm_or_cross_binutils() -> None:
    assert ARM64_STRIP is not None
    assert Path(ARM64_STRIP[0]).name in ("llvm-strip", "aarch64-linux-gnu-strip", "strip")
    assert ARM64_STRIP[1] == "--strip-unneeded"
