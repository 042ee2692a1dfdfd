"""Programs not written for the pack's unit tests: the adversarial corpus (one flaw each on a hardened
baseline) and public Pulumi programs, each checked by ``policy.check`` with the verdict declared beside it.

Adversarial programs (tests/fixtures/adversarial) start with ``# expect: <policy> <level>`` (or ``none``);
``# also:`` lines name other policies the same flaw legitimately trips; ``# unknown-ok:`` says why the mocks leave some
value unknown at preview (the engine's "can't run policy" notes are then allowed). The expected policy must fire at
its level, and no mandatory policy may fire that is not declared. Public programs (tests/fixtures/public, rewritten
from public examples, sources in each docstring) declare ``# expect-mandatory:`` and ``# expect-advisory:`` sets
(over one or more lines) and are checked exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy.check import Report, check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADVERSARIAL = sorted(p for p in (FIXTURES / "adversarial").glob("*.py") if not p.name.startswith("_"))
PUBLIC = sorted(p for p in (FIXTURES / "public").glob("*/__main__.py"))
_EXPECT = re.compile(r"^# expect: (\S+)(?: (mandatory|advisory))?$", re.MULTILINE)
_ALSO = re.compile(r"^# also: (.+)$", re.MULTILINE)


def _header(path: Path) -> tuple[str, str | None, set[str]]:
    text = path.read_text()
    match = _EXPECT.search(text)
    assert match, f"{path.name} declares no '# expect:' line"
    also = {name for line in _ALSO.findall(text) for name in line.split()}
    return match.group(1), match.group(2), also


def _pairs(report: Report) -> set[tuple[str, str]]:
    return {(v.policy, v.enforcement) for v in report.violations}


@pytest.fixture(scope="module")
def baseline() -> Report:
    return check(FIXTURES / "adversarial" / "baseline.py")


def test_baseline_is_clean(baseline: Report) -> None:
    assert baseline.violations == [], "\n".join(f"{v.policy}: {v.message}" for v in baseline.violations)


@pytest.mark.parametrize("program", [p for p in ADVERSARIAL if p.name != "baseline.py"], ids=lambda p: p.stem)
def test_adversarial_program(program: Path, baseline: Report) -> None:
    policy, level, also = _header(program)
    report = check(program)
    new = _pairs(report) - _pairs(baseline)
    notes = [v for v in report.violations if "can't run policy" in v.message]
    if "# unknown-ok:" not in program.read_text():
        assert not notes, f"unknown values masked a verdict: {[v.policy for v in notes]}"
    if policy == "none":
        assert new == set(), f"{program.name} must not be flagged: {sorted(new)}"
        return
    assert (policy, level) in new, f"{program.name}: expected {policy} ({level}), got {sorted(new)}"
    unexpected = {p for p, lvl in new if lvl == "mandatory"} - {policy} - also
    assert not unexpected, f"{program.name}: undeclared mandatory violations {sorted(unexpected)}"


def _set(text: str, key: str) -> set[str]:
    lines = re.findall(rf"^# {key}:(.*)$", text, re.MULTILINE)
    assert lines, f"no '# {key}:' line"
    return {name for line in lines for name in line.split()}


@pytest.mark.parametrize("program", PUBLIC, ids=lambda p: p.parent.name)
def test_public_program(program: Path) -> None:
    text = program.read_text()
    report = check(program)
    mandatory = {v.policy for v in report.violations if v.enforcement == "mandatory"}
    advisory = {v.policy for v in report.violations if v.enforcement == "advisory"}
    assert mandatory == _set(text, "expect-mandatory"), sorted(mandatory)
    assert advisory == _set(text, "expect-advisory"), sorted(advisory)
