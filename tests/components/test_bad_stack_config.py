"""Bad stack config fails preview-like runs with exit 2, the full key path, and no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from policy.check import main as policy_check
from sandbox.__main__ import main as sandbox

REPO = Path(__file__).resolve().parents[2]


def program_with(tmp_path: Path, change: str, value: object) -> Path:
    """A copy of the real program whose ``bad`` stack is the dev stack with one config change."""
    shutil.copy(REPO / "__main__.py", tmp_path / "__main__.py")
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for package in ("components", "handlers"):
        (tmp_path / package).symlink_to(REPO / package)
    data = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    key, _, rest = change.partition("/")
    target = data["config"]
    parts = [key, *rest.split("/")] if rest else [key]
    for part in parts[:-1]:
        target = target[int(part) if part.isdigit() else part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump(data))
    return tmp_path / "__main__.py"


BAD = [
    ("sciflow:computations/0/schedule", "cron(99 16 * * ? *)",
     "sciflow:computations[0].schedule: 'cron(99 16 * * ? *)': minutes 99 is outside 0..59"),
    ("sciflow:computations/0/timezone", "Asia/Kolkatta",
     "sciflow:computations[0].timezone: 'Asia/Kolkatta' is not an IANA time zone; did you mean 'Asia/Kolkata'?"),
    ("sciflow:computations/0/memoryMB", 2048,
     "sciflow:computations[0].memoryMB: unknown key; did you mean 'memoryMb'?"),
    ("sciflow:pipelines/0/partitionRows", 0, "sciflow:pipelines[0].partitionRows: 0 is outside 1..10000000"),
    ("sciflow:pipelines/0/retry", {"maxAttempts": "five"}, "sciflow:pipelines[0].retry.maxAttempts: 'five' is not an "
                                                          "integer"),
    ("sciflow:layers/1/runtime", "python3.12",
     "sciflow:computations[0].layers[1]: layer 'plotting' is built for python3.12/x86_64 but the function runs "
     "python3.11/x86_64"),
    ("sciflow:budgetUsdMonth", "cheap", "sciflow:budgetUsdMonth: 'cheap' is not a number"),
    ("sciflow:computation", [], "sciflow:computation: unknown key; did you mean 'computations'?"),
]


@pytest.mark.parametrize(("change", "value", "expected"), BAD, ids=[b[0] for b in BAD])
def test_sandbox_preview_exits_2_with_the_key_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str,
                                                  value: object, expected: str) -> None:
    program = program_with(tmp_path, change, value)
    assert sandbox(["preview", "--program", str(program), "--stack", "bad", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("change", "value", "expected"), BAD[:3], ids=[b[0] for b in BAD[:3]])
def test_policy_check_exits_2_with_the_key_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str,
                                               value: object, expected: str) -> None:
    program = program_with(tmp_path, change, value)
    assert policy_check([str(program), "--stack", "bad", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert expected in err and "Traceback" not in err
