"""``make lock`` (``python -m components.layer_locks [--stack NAME ...] [--runtime python3.12 ...]``): regenerate
the layer lock files. ``--runtime`` also locks each stack with ``sciflow:runtime`` set to that runtime (what
``make demo RUNTIME=...`` builds from); ``make lock`` locks python3.12 and python3.13 besides the stacks' own.

Runs the program once per stack (every ``Pulumi.<stack>.yaml`` beside it by default) under the offline engine
with :func:`components.bundling.lock.updating` on: every ``LayerBundle`` that has a lock file resolves its
requirements afresh for its Lambda target and rewrites the lock (unchanged text = unchanged file), then builds
from it, so the command also proves the new locks build. Lock files no stack uses any more are listed.

Exit codes: 0 locks written or unchanged, 2 a stack failed (message on stderr, e.g. two stacks asking one
lock file for different requirements).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.bundling.lock import updating

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK_DIR = REPO_ROOT / "locks"
"""Where the stack's layer locks live (committed; CI's layer cache is keyed by their hash)."""


def lock_file_for(name: str, runtime: str, architecture: str, root: Path = LOCK_DIR) -> Path:
    """The lock of one stack layer: ``locks/<name>-<runtime>-<architecture>.txt``.

    Example
    -------
    >>> lock_file_for("scientific", "python3.11", "x86_64", Path("locks")).as_posix()
    'locks/scientific-python3.11-x86_64.txt'
    """
    return root / f"{name}-{runtime}-{architecture}.txt"


def stacks_beside(program: Path) -> list[str]:
    """The stacks with a ``Pulumi.<stack>.yaml`` next to ``program``."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in program.parent.glob("Pulumi.*.yaml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.layer_locks",
                                     description="Regenerate the hashed lock file of every stack layer.")
    parser.add_argument("--stack", action="append", default=[], help="a stack to lock (default: every stack file)")
    parser.add_argument("--program", type=Path, default=REPO_ROOT / "__main__.py")
    parser.add_argument("--runtime", action="append", default=[], metavar="RUNTIME",
                        help="also lock the stacks with sciflow:runtime set to this runtime (repeatable; "
                             "`make demo RUNTIME=...` builds from those locks)")
    args = parser.parse_args(argv)
    from synth import synth

    program = args.program.resolve()
    stacks = args.stack or stacks_beside(program)
    variants: list[str | None] = [None, *args.runtime]
    with updating() as written:
        for stack in stacks:
            for runtime in variants:
                label = f"stack {stack}" + (f" on {runtime}" if runtime else "")
                print(f"{label}: resolving and building its layers", file=sys.stderr)
                try:
                    synth(program, stack=stack, config={"sciflow:runtime": runtime} if runtime else None)
                except Exception as exc:
                    print(f"error: {label}: {exc}", file=sys.stderr)
                    return 2
    for path, (_inputs, state) in sorted(written.items()):
        print(f"{_show(path)}: {state}")
    unused = sorted(set(LOCK_DIR.glob("*.txt")) - set(written)) if program.parent == REPO_ROOT else []
    for path in unused:
        print(f"{_show(path)}: not used by {', '.join(stacks)} (delete it if no other stack needs it)")
    if not written:
        print("no layer with a lock file in these stacks")
    return 0


def _show(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
