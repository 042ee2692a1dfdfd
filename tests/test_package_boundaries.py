"""Package boundaries: ``synth`` and ``policy`` never import ``sandbox``; the CrossGuard pack directory loads with
only the standard library and what ``policy/requirements.txt`` declares (``pulumi``, ``pulumi-policy`` ...) plus
their own dependencies: the virtualenv the Pulumi CLI builds for the pack from that file.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]

#: package -> the top-level packages of this repository it must never import
FORBIDDEN = {"synth": {"sandbox", "policy", "ops", "components", "handlers"}, "policy": {"sandbox", "ops"},
             "ops": {"sandbox", "synth", "policy"},
             # Lambda code ships alone in the handlers zip: no Pulumi, no deploy-time packages
             "handlers": {"pulumi", "pulumi_aws", "components", "synth", "sandbox", "policy", "ops"}}

#: Blocks the named top-level modules (or everything but the allowed ones) before any import runs.
GUARD = """
import importlib.abc, sys
BLOCKED, ALLOWED = set({blocked!r}), {allowed!r}
class Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in BLOCKED or (ALLOWED is not None and top not in ALLOWED and top not in sys.stdlib_module_names):
            raise ImportError(f"import of {{name!r}} refused by the boundary test")
        return None
sys.meta_path.insert(0, Guard())
"""


def imported_top_levels(package: Path) -> dict[str, set[str]]:
    """Every top-level module each file of ``package`` imports (absolute imports, anywhere in the file)."""
    out: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
        out[str(path.relative_to(REPO))] = names
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_imports_in_source(package: str) -> None:
    bad = {path: sorted(names & FORBIDDEN[package])
           for path, names in imported_top_levels(REPO / package).items() if names & FORBIDDEN[package]}
    assert bad == {}, f"{package}/ must not import {sorted(FORBIDDEN[package])}"


def test_policy_check_runs_with_sandbox_blocked(tmp_path: Path) -> None:
    """``python -m policy.check`` on a real program, in a process where ``import sandbox`` fails."""
    program = tmp_path / "program.py"
    program.write_text("import pulumi_aws as aws\naws.sqs.Queue('q', sqs_managed_sse_enabled=True)\n")
    code = GUARD.format(blocked=["sandbox", "ops"], allowed=None) + textwrap.dedent(f"""
        import runpy
        sys.argv = ["policy.check", {str(program)!r}, "--json"]
        runpy.run_module("policy.check", run_name="__main__")
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["resources"] == 1


def _distribution_closure(*names: str) -> set[str]:
    """The distributions ``names`` need at run time (extras left out), found from the installed metadata."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _top_levels(distributions: set[str]) -> set[str]:
    by_dist: dict[str, set[str]] = {}
    for top, dists in metadata.packages_distributions().items():
        for dist in dists:
            by_dist.setdefault(dist.lower().replace("_", "-"), set()).add(top)
    return set().union(*(by_dist.get(d, set()) for d in distributions))


def _pack_requirements() -> list[str]:
    lines = (REPO / "policy" / "requirements.txt").read_text().splitlines()
    return [Requirement(line).name for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_pack_directory_loads_with_only_its_requirements() -> None:
    """The pack's policy modules import as the CLI loads them: from the pack directory, nothing else allowed."""
    assert {"pulumi", "pulumi-policy"} <= set(_pack_requirements())
    allowed = _top_levels(_distribution_closure(*_pack_requirements()))
    assert {"pulumi", "pulumi_policy", "grpc", "google"} <= allowed
    assert not allowed & {"sandbox", "synth", "components", "policy", "pulumi_aws", "boto3", "moto"}
    pack = REPO / "policy"
    code = GUARD.format(blocked=[], allowed=sorted(allowed | {"policies"})) + textwrap.dedent(f"""
        import importlib, pkgutil
        sys.path[:] = [{str(pack)!r}] + [p for p in sys.path if p and p.rstrip("/") != {str(REPO)!r}]
        import policies
        names = [m.name for m in pkgutil.walk_packages(policies.__path__, "policies.")]
        for name in names:
            importlib.import_module(name)
        print(len(policies.policies()), len(names))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=pack, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert proc.returncode == 0, proc.stderr
    policies, modules = map(int, proc.stdout.split())
    assert policies > 40 and modules >= 5


@pytest.mark.parametrize("package", ["synth", "sandbox", "policy", "ops"])
def test_no_module_over_600_lines(package: str) -> None:
    long = {str(p.relative_to(REPO)): n for p in (REPO / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}, "split these modules by role"


def test_each_sandbox_type_is_registered_once_with_its_answer_beside_its_deploy() -> None:
    """``sandbox.services`` is the only registry: every deployable type's answer lives in the same module."""
    from sandbox.services import ANSWERS, REGISTRY, SUPPORTED_TYPES
    from sandbox.services._base import resource

    assert "aws:s3/bucket:Bucket" in SUPPORTED_TYPES and "aws:s3/bucketV2:BucketV2" in SUPPORTED_TYPES
    for token, entry in REGISTRY.items():
        if entry.answer is not None and entry.deploy is not None:
            assert entry.answer.__module__ == entry.deploy.__module__, token
    assert set(ANSWERS) <= set(REGISTRY)
    with pytest.raises(ValueError, match="registered twice"):
        resource("aws:s3/bucket:Bucket")(type("Again", (), {}))


@pytest.mark.parametrize("command", [["ops", "backfill"], ["sandbox", "backfill"]])
def test_backfill_lives_in_ops_and_sandbox_keeps_the_alias(command: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", *command, "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m ops backfill"), proc.stderr
