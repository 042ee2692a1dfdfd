"""Mutation-test the security logic: ``python -m bench.mutation [--target policy|authz] [--json]``.

Runs mutmut (pinned in the Makefile's ``mutation`` targets) over one target's source paths in a private copy of
the repository's tracked files (a fresh temporary directory, so two runs never collide and the work tree gets no
``mutants/`` folder), with that target's own fast unit tests (:data:`TARGETS`):

* ``policy`` (``make mutation``): ``policy/policies/`` with the policy unit tests (the awsguard-style cases, the
  direct tests of the document semantics, the stack cases; not the subprocess tests of ``policy.check``);
* ``authz`` (``make mutation-authz``): ``sandbox/authz/`` (the embedded AWS's IAM engine) with the tests that
  call it directly (``tests/sandbox/authz/`` and the missing-key answers of ``tests/handlers/test_runtime_objects.py``).

Prints the survivors and, last, one JSON object: ``target``, ``mutants``, ``killed``, ``survived``, ``timeout``,
``suspicious``, ``no_tests``, ``kill_rate`` (killed + timeout over all tested mutants), ``seconds``,
``cpu_seconds``, ``modules`` (the same counts per module).

Not part of ``make test``: a full run takes tens of minutes on two cores; results go in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    """What one mutation run mutates and which tests judge the mutants."""

    paths: tuple[str, ...]
    tests: tuple[str, ...]
    #: files mutmut may not mutate (their mutants cannot change a verdict)
    do_not_mutate: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "policy": Target(
        paths=("policy/policies/",),
        tests=("tests/policy/test_iamdoc.py", "tests/policy/test_edges.py", "tests/policy/test_edges_packaging.py",
               "tests/policy/test_edges_reliability.py", "tests/policy/test_edges_loops.py",
               "tests/policy/test_edges_iam_scope.py", "tests/policy/test_cases.py", "tests/policy/test_iam.py",
               "tests/policy/test_public_access_encryption.py", "tests/policy/test_packaging_sfn_hygiene.py",
               "tests/policy/test_cost.py"),
        # the module docstrings and the docs metadata do not change a verdict
        do_not_mutate=("policy/policies/_sdk.py",)),
    "authz": Target(
        paths=("sandbox/authz/",),
        tests=("tests/sandbox/authz/", "tests/handlers/test_runtime_objects.py")),
}


def _tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for rel in files.decode().split("\0"):
        if not rel:
            continue
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _config(paths: list[str], target: Target) -> str:
    def toml_list(items: list[str] | tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(paths)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(target.tests)}\n"
        'pytest_add_cli_args = ["-p", "no:xdist", "-q", "-x"]\n'
        f"do_not_mutate = {toml_list(target.do_not_mutate)}\n"
        'also_copy = ["policy", "components", "handlers", "synth", "sandbox", "pyproject.toml"]\n'
    )


def run(target_name: str, paths: list[str] | None, max_children: int, keep: bool) -> dict[str, object]:
    target = TARGETS[target_name]
    paths = paths or list(target.paths)
    work = Path(tempfile.mkdtemp(prefix="sciflow-mutation-"))
    try:
        _tracked_copy(work)
        with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write(_config(paths, target))
        env = {**os.environ, "PYTHONPATH": str(work / "mutants")}  # mutmut runs the tests in mutants/
        started, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
        proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        if "Running mutation testing" not in proc.stdout:
            # mutmut 3.8 sometimes stops after generating the mutants on a fresh copy; the second run tests them
            proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        results = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, env=env,
                                 capture_output=True, text=True)
        counts: dict[str, int] = {}
        modules: dict[str, dict[str, int]] = {}
        survivors: list[str] = []
        for line in results.stdout.splitlines():
            name, sep, status = line.strip().rpartition(": ")
            if not sep:
                continue
            counts[status] = counts.get(status, 0) + 1
            per_module = modules.setdefault(name.rsplit(".", 1)[0], {})  # module.x_function__mutmut_N
            per_module[status] = per_module.get(status, 0) + 1
            if status == "survived":
                survivors.append(name)
        tested_any = any(counts.get(k) for k in ("killed", "survived", "timeout", "suspicious"))
        if not tested_any:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"mutmut tested no mutant (exit {proc.returncode}); output above")
        killed, timeout = counts.get("killed", 0), counts.get("timeout", 0)
        survived = counts.get("survived", 0)
        tested = killed + timeout + survived + counts.get("suspicious", 0)
        for name in survivors:
            print(f"survived: {name}")
        return {
            "target": target_name, "paths": paths, "mutants": sum(counts.values()), "killed": killed,
            "survived": survived, "timeout": timeout, "suspicious": counts.get("suspicious", 0),
            "no_tests": counts.get("no tests", 0), "skipped": counts.get("skipped", 0),
            "kill_rate": round((killed + timeout) / tested, 4) if tested else None,
            "seconds": round(seconds, 1),
            "cpu_seconds": round((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime), 1),
            "modules": dict(sorted(modules.items())),
            "work_dir": str(work) if keep else None,
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="policy",
                        help="what to mutate, with its own tests (default: policy)")
    parser.add_argument("--paths", nargs="+", help="only these source paths of the target (default: all of them)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (mutmut show NAME there)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object after the survivors")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.target, args.paths, args.max_children, args.keep)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
