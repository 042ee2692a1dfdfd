"""Repository plumbing the issue asks for: CI caches layer builds by the locks' hash; the pack's venv is ignored."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.bundling.cache import default_cache_dir

REPO = Path(__file__).resolve().parents[1]


def test_every_ci_job_caches_layer_builds_and_pip_keyed_by_the_locks() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    for name, job in workflow["jobs"].items():
        steps = job["steps"]
        cache = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
        assert len(cache) == 1, name
        assert cache[0]["with"]["path"] == "~/" + str(default_cache_dir().relative_to(Path.home()))
        assert "hashFiles('locks/*.txt')" in cache[0]["with"]["key"]
        python = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@"))
        assert python["with"]["cache"] == "pip" and "locks/*.txt" in python["with"]["cache-dependency-path"]
        assert steps.index(cache[0]) < next(i for i, s in enumerate(steps) if "make" in str(s.get("run", "")))


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout")
def test_the_policy_pack_venv_is_ignored() -> None:
    """``pulumi preview --policy-pack policy`` creates ``policy/venv``; it must never be committed."""
    proc = subprocess.run(["git", "check-ignore", "-q", "policy/venv/bin/python"], cwd=REPO, check=False)
    assert proc.returncode == 0
