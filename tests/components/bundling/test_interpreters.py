"""Interpreter discovery: PATH entries are run and checked (a pyenv shim can exist and fail), pyenv's versions/."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.bundling import interpreters
from components.bundling.interpreters import candidates, find_interpreter, search_summary

RUNNING = sys.version_info[:2]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No PATH pythons, no pyenv, no uv; the running interpreter does not count as a match."""
    monkeypatch.setattr(interpreters, "_running", lambda: (0, 0))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    (tmp_path / "bin").mkdir()
    find_interpreter.cache_clear()
    yield tmp_path
    find_interpreter.cache_clear()


def _shim(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_the_running_interpreter_matches_its_own_version() -> None:
    found = find_interpreter(RUNNING)
    assert found is not None and found.source == "this interpreter" and found.path == sys.executable


def test_a_failing_pyenv_shim_on_path_is_skipped_and_pyenv_versions_is_searched(isolated: Path) -> None:
    name = f"python{RUNNING[0]}.{RUNNING[1]}"
    _shim(isolated / "bin" / name, f"echo 'pyenv: {name}: command not found' >&2; exit 127")
    real = isolated / "pyenv" / "versions" / f"{RUNNING[0]}.{RUNNING[1]}.99" / "bin" / name
    real.parent.mkdir(parents=True)
    real.symlink_to(sys.executable)
    os.environ["PYENV_ROOT"] = str(isolated / "pyenv")
    found = find_interpreter(RUNNING)
    assert found is not None and found.path == str(real) and found.source.startswith("pyenv (")
    assert found.version.startswith(f"{RUNNING[0]}.{RUNNING[1]}.")
    assert [source for _argv, source in candidates(RUNNING)][:1] == ["PATH"]


def test_a_path_entry_of_another_version_is_not_taken(isolated: Path) -> None:
    _shim(isolated / "bin" / "python3.99", f'exec {sys.executable} "$@"')
    assert find_interpreter((3, 99)) is None


def test_nothing_found_says_where_it_looked(isolated: Path) -> None:
    assert find_interpreter((3, 13)) is None
    summary = search_summary((3, 13))
    assert summary.startswith("no local python3.13 found (looked at: python3.13 on PATH; pyenv ")
    assert "pyenv install 3.13" in summary


def test_pyenv_root_default_is_home_dot_pyenv(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYENV_ROOT")
    (isolated / "home" / ".pyenv" / "versions").mkdir(parents=True)
    assert interpreters.pyenv_roots() == [isolated / "home" / ".pyenv"]
    assert f"{isolated}/home/.pyenv/versions/3.13.*" in search_summary((3, 13))
