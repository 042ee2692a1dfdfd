"""``make lock``: run each stack's program with lock updating on; then builds use the locks as they are."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from components.bundling.lock import parse
from components.layer_locks import lock_file_for, stacks_beside
from tests.components.bundling.wheels import standard_index

REPO = Path(__file__).resolve().parents[2]
PROGRAM = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
import pulumi
from components.bundling import LayerSpec, build_layer

config = pulumi.Config()
build = build_layer(LayerSpec(requirements=tuple(config.require_object("requirements")), no_index=True,
                              find_links=({index!r},), lock_file=Path({lock!r})), cache_dir=Path({cache!r}))
pulumi.export("packages", build.packages)
"""


def _program(tmp_path: Path) -> tuple[Path, Path]:
    index = standard_index(tmp_path / "index")
    lock = tmp_path / "locks" / "calc.txt"
    program = tmp_path / "__main__.py"
    program.write_text(textwrap.dedent(PROGRAM.format(repo=str(REPO), index=str(index), lock=str(lock),
                                                      cache=str(tmp_path / "cache"))))
    (tmp_path / "Pulumi.yaml").write_text("name: locks\nruntime: python\n")
    for stack, requirement in (("dev", "tinydep==1.0"), ("prod", "tinydep==1.0")):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(f"config:\n  locks:requirements: [{requirement!r}]\n")
    return program, lock


def _make_lock(program: Path, *stacks: str) -> subprocess.CompletedProcess[str]:
    args = [arg for stack in stacks for arg in ("--stack", stack)]
    return subprocess.run([sys.executable, "-m", "components.layer_locks", "--program", str(program), *args],
                          capture_output=True, text=True, check=False, cwd=REPO)


def test_make_lock_writes_then_keeps_and_builds_use_the_lock(tmp_path: Path) -> None:
    from synth import synth

    program, lock = _program(tmp_path)
    assert stacks_beside(program) == ["dev", "prod"]
    with pytest.raises(Exception, match=r"no lock file for this layer; run `make lock`"):
        synth(program, stack="dev")
    first = _make_lock(program)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("calc.txt: written")
    assert [w.key for w in parse(lock.read_text()).wheels] == ["tinydep"]
    assert _make_lock(program).stdout.strip().endswith("calc.txt: unchanged")
    assert synth(program, stack="prod").outputs["packages"] == {"tinydep": "1.0"}


def test_two_stacks_asking_one_lock_for_different_things_fail(tmp_path: Path) -> None:
    program, _lock = _program(tmp_path)
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  locks:requirements: ['tinydep==2.0']\n")
    result = _make_lock(program, "dev", "prod")
    assert result.returncode == 2
    assert "error: stack prod:" in result.stderr and "two layers share this lock" in result.stderr


def test_lock_file_names() -> None:
    assert lock_file_for("plotting", "python3.12", "arm64", Path("l")) == Path("l/plotting-python3.12-arm64.txt")
