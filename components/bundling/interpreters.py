"""Find a local CPython of a given ``X.Y`` version: on ``PATH``, through pyenv, uv, or a ``py`` launcher.

A pyenv shim on ``PATH`` (``~/.pyenv/shims/python3.12``) exists even when that version is not selected and then
fails with "command not found"; every candidate is therefore *run* and its version checked, and pyenv's
``versions/`` directory is searched directly. :func:`search_summary` says where it looked, so a build without a
matching interpreter can say so precisely.
"""

from __future__ import annotations

import functools
import os
import platform as host_platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_PROBE = ("import platform, sys; "
          "print('%d.%d.%d' % sys.version_info[:3], platform.python_implementation(), sys.executable)")


@dataclass(frozen=True)
class Interpreter:
    """A verified local interpreter: its path, full version and where it was found."""

    path: str
    version: str
    source: str


def _running() -> tuple[int, int]:
    return (sys.version_info[0], sys.version_info[1])


def pyenv_roots() -> list[Path]:
    """``$PYENV_ROOT`` and ``~/.pyenv`` (deduplicated, existing only)."""
    roots: list[Path] = []
    for raw in (os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")):
        if raw and Path(raw).is_dir() and Path(raw).resolve() not in [r.resolve() for r in roots]:
            roots.append(Path(raw))
    return roots


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", name)[:3])


def candidates(python: tuple[int, int]) -> list[tuple[tuple[str, ...], str]]:
    """``(argv, source)`` pairs to try, in order: this interpreter, PATH, pyenv, uv, the ``py`` launcher."""
    major, minor = python
    name = f"python{major}.{minor}"
    found: list[tuple[tuple[str, ...], str]] = []
    if _running() == python:
        found.append(((sys.executable,), "this interpreter"))
    exe = shutil.which(name)
    if exe:
        found.append(((exe,), "PATH"))
    for root in pyenv_roots():
        versions = root / "versions"
        if versions.is_dir():
            # CPython release dirs such as 3.12.1 (newest first); "3.12-dev", "pypy3.10-..." are skipped
            dirs = [d for d in versions.iterdir() if re.fullmatch(rf"{major}\.{minor}\.\d+", d.name)]
            for d in sorted(dirs, key=lambda d: _version_key(d.name), reverse=True):
                found.append(((str(d / "bin" / name),), f"pyenv ({root})"))
    uv_root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or Path.home() / ".local" / "share" / "uv" / "python")
    if uv_root.is_dir():
        dirs = [d for d in uv_root.iterdir() if d.name.startswith(f"cpython-{major}.{minor}.")]
        for d in sorted(dirs, key=lambda d: _version_key(d.name), reverse=True):
            found.append(((str(d / "bin" / name),), "uv"))
    launcher = shutil.which("py")
    if launcher:
        found.append(((launcher, f"-{major}.{minor}"), "py launcher"))
    return found


def probe(argv: tuple[str, ...]) -> tuple[str, str, str] | None:
    """``(version, implementation, sys.executable)`` of the interpreter ``argv`` starts, or ``None``."""
    if not Path(argv[0]).exists():
        return None
    try:
        proc = subprocess.run([*argv, "-I", "-c", _PROBE], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = proc.stdout.split()
    return (parts[0], parts[1], parts[2]) if proc.returncode == 0 and len(parts) == 3 else None


@functools.cache
def find_interpreter(python: tuple[int, int]) -> Interpreter | None:
    """The first candidate that really runs CPython ``python`` (``(3, 12)``), or ``None``.

    Example
    -------
    >>> find_interpreter(sys.version_info[:2]).source
    'this interpreter'
    """
    for argv, source in candidates(python):
        probed = probe(argv)
        if probed is None or probed[1] != "CPython" or _version_key(probed[0])[:2] != python:
            continue
        # a launcher is not a path subprocess can run with our flags: use the executable it started
        return Interpreter(probed[2] if len(argv) > 1 else argv[0], probed[0], source)
    return None


def search_summary(python: tuple[int, int]) -> str:
    """Where :func:`find_interpreter` looked, for the note a build prints when it found nothing."""
    major, minor = python
    places = [f"python{major}.{minor} on PATH"]
    roots = pyenv_roots()
    places.append("pyenv " + (", ".join(f"{r}/versions/{major}.{minor}.*" for r in roots) if roots
                              else "(no ~/.pyenv or $PYENV_ROOT)"))
    places.append("uv-managed pythons")
    places.append("a py launcher" if shutil.which("py") else "no py launcher")
    hint = f"install one, e.g. `pyenv install {major}.{minor}`"
    return f"no local python{major}.{minor} found (looked at: {'; '.join(places)}); {hint}"


def host_architecture() -> str | None:
    """This machine as a Lambda architecture name (``x86_64`` / ``arm64``), or ``None``."""
    return {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(host_platform.machine())
