"""``python -m policy.check`` on everyday idioms of programs we did not write: it never hangs and never refuses a
valid program. One program per idiom under tests/fixtures/checker/; exit codes and messages are the contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = REPO / "tests" / "fixtures" / "checker"
OFFLINE = "could-not-be-evaluated-offline"


def check(program: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy.check", str(PROGRAMS / program), "--json", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def mandatory(report: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in report["violations"]:
        if v["enforcement"] == "mandatory":
            out.setdefault(v["policy"], []).append(v["urn"].rsplit("::", 1)[-1])
    return out


def assert_clean_stderr(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Invalid file descriptor" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(("program", "resource"), [
    ("resource_as_input.py", "app-admin"),
    ("policy_document.py", "admin"),
    ("policy_document_output.py", "mixed"),
    ("unknown_arn_type.py", "wide"),
])
def test_star_on_star_is_mandatory_whatever_the_idiom(program: str, resource: str) -> None:
    proc = check(program)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert resource in mandatory(report).get("iam-policy-no-admin-access", []), report
    assert not [v for v in report["violations"] if v["policy"] == OFFLINE and resource in v["message"]]
    assert_clean_stderr(proc)


def test_a_resource_as_input_is_its_id() -> None:
    """The engine sends a referenced resource's ID: RolePolicy.role is the role's name."""
    from synth import synth

    graph = synth(PROGRAMS / "resource_as_input.py", stack=None, timeout_s=120)
    role = graph.find("app-role")
    assert graph.find("app-admin").inputs["role"] == role.id == role.outputs["name"]


def test_policy_document_is_rendered_like_the_provider() -> None:
    from synth import synth

    graph = synth(PROGRAMS / "policy_document_output.py", stack=None, timeout_s=120)
    bucket = graph.find("data").outputs["arn"]
    statements = json.loads(graph.find("mixed").inputs["policy"])["Statement"]
    assert statements == [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket}/*"},
                          {"Effect": "Allow", "Action": "*", "Resource": "*"}]


def test_other_data_sources_answer_generically_and_are_reported_once() -> None:
    proc = check("other_data_sources.py")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    offline = [v for v in report["violations"] if v["policy"] == OFFLINE]
    assert len(offline) == 1 and offline[0]["enforcement"] == "advisory"
    for token in ("aws:s3/getBucket:getBucket", "aws:ssm/getParameter:getParameter", "aws:ec2/getVpc:getVpc"):
        assert offline[0]["message"].count(token) == 1, offline[0]["message"]
    assert not [v for v in report["violations"] if "can't run policy" in v["message"]]
    assert_clean_stderr(proc)


def test_a_stack_reference_is_noted_and_does_not_hide_a_wide_policy() -> None:
    proc = check("stack_reference.py")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert "reader" in mandatory(report).get("iam-policy-no-wildcard-actions", []), report
    offline = [v["message"] for v in report["violations"] if v["policy"] == OFFLINE]
    assert len(offline) == 1 and "stack reference acme/network/prod" in offline[0]
    assert_clean_stderr(proc)


def test_a_program_that_raises_exits_2_with_its_error() -> None:
    proc = check("raises.py")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "error: the program failed" in proc.stderr
    assert "RuntimeError: sciflow:computations[0].schedule: cron(99 16 * * ? *)" in proc.stderr


def test_a_program_that_never_finishes_times_out_with_exit_2() -> None:
    started = time.monotonic()
    proc = check("never_finishes.py", "--timeout", "8", timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "did not finish within 8 s (--timeout)" in proc.stderr
    assert time.monotonic() - started < 100


def test_timeout_must_be_positive() -> None:
    proc = check("raises.py", "--timeout", "0")
    assert proc.returncode == 2 and "--timeout must be positive" in proc.stderr


def test_synth_timeout_in_process_raises() -> None:
    """The library call gives up too (in a subprocess: the abandoned program keeps this process's engine)."""
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from synth import SynthTimeout, synth\n"
            f"try:\n    synth({str(PROGRAMS / 'never_finishes.py')!r}, stack=None, timeout_s=5)\n"
            "except SynthTimeout as exc:\n    print('timeout:', exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "timeout: never_finishes.py (stack sandbox): the program did not finish within 5 s" in proc.stdout, (
        proc.stdout + proc.stderr)


@pytest.mark.parametrize("argv", [
    [str(PROGRAMS / "raises.py"), "--json"],
    [str(PROGRAMS / "missing.py"), "--json"],
    [str(PROGRAMS / "raises.py"), "--policy-config", str(PROGRAMS / "missing.json")],
])
def test_every_way_out_of_main_stops_the_watchdog(argv: list[str]) -> None:
    """In-process callers (tests, tools) must not be killed by a timer left running after an early exit 2."""
    import threading

    from policy.check import main

    before = {t.ident for t in threading.enumerate()}
    assert main([*argv, "--timeout", "600"]) == 2
    timers = [t for t in threading.enumerate()
              if t.ident not in before and isinstance(t, threading.Timer) and t.is_alive()]
    for timer in timers:
        timer.join(timeout=2)
    assert not [t for t in timers if t.is_alive()]
