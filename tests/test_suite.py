"""The test suite's own contract: what `make test` collects, what CI runs, and that two runs on one machine
share caches without colliding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSECURE = REPO / "tests" / "fixtures" / "insecure_program.py"


def _packages() -> set[str]:
    return {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}


def test_make_test_collects_the_doctests_of_every_package() -> None:
    pytest_ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in pytest_ini["addopts"].split()
    missing = _packages() - set(pytest_ini["testpaths"])
    assert not missing, f"add {sorted(missing)} to testpaths in pyproject.toml: its doctests would never run"


def test_ci_lints_then_runs_make_test_on_the_whole_suite() -> None:
    script = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines() if line.strip().startswith("make ")]
    assert commands == ["make lint", "make test"]
    assert "set -euo pipefail" in script and "unset PYTEST_ADDOPTS" in script
    makefile = (REPO / "Makefile").read_text()
    assert "SCIFLOW_FULL_SUITE=1" in makefile and "-p no:cacheprovider" in makefile


def test_concurrent_runs_build_the_fixture_cache_once_and_never_read_a_partial_file(tmp_path: Path) -> None:
    """Two ``policy.check`` runs of the insecure program start together on an empty fixture cache (seen before:
    one run read the 51 MiB zip while the other was still writing it under the same temporary name)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SCIFLOW_FIXTURE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "policy.check", str(INSECURE), "--json"]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [1, 1], [err[-2000:] for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert reports[0]["resources"] == reports[1]["resources"] > 20
    first, second = (sorted((v["policy"], v["urn"], v["enforcement"]) for v in r["violations"]) for r in reports)
    assert first == second
    names = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(names) == 3 and all(n.endswith(".zip") and not n.startswith(".") for n in names), names
