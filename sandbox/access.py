"""``python -m sandbox access --stack dev [--json]``: least privilege proven by running the demo scenarios.

Runs the stack's demo scenarios (``python -m sandbox demo``: deploy, scheduled computations for two days,
every pipeline's sample files) and then its error paths (:mod:`sandbox.scenarios`: replays, dead letters,
deleted and large inputs, a redrive without staging, a schedule whose target is gone) with IAM enforced, in
a private output directory, and prints the access report (:mod:`sandbox.authz.report`): per principal the
granted statements, the (action, resource) pairs actually used, the denials, and the granted statements no
scenario used, each with its reason (:mod:`sandbox.authz.reasons`). Exit 0 when every scenario ended as
expected, nothing was denied and every unused statement has a reason; 1 otherwise; 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_scenarios(stack: str) -> tuple[int, dict[str, Any]]:
    """Run the demo for ``stack`` quietly; (its exit code, the access report it wrote)."""
    from sandbox.demo import main as demo_main

    out = Path(tempfile.mkdtemp(prefix="sciflow-access-"))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = demo_main(["--stack", stack, "--out", str(out / "out"), "--error-paths"])
        report_path = out / "out" / "access.json"
        if not report_path.is_file():
            raise RuntimeError(f"the demo for stack {stack} wrote no access report (exit {code})")
        return code, json.loads(report_path.read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox access", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack config Pulumi.STACK.yaml (default dev)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the access report)")
    args = parser.parse_args(argv)
    if not (Path.cwd() / f"Pulumi.{args.stack}.yaml").is_file():
        print(f"error: no Pulumi.{args.stack}.yaml in {Path.cwd()}", file=sys.stderr)
        return 2
    from sandbox.authz.report import dumps, problems, render_text

    demo_code, report = run_scenarios(args.stack)
    print(dumps(report) if args.json else render_text(report))
    for problem in problems(report):
        print(f"sandbox access: {problem}", file=sys.stderr)
    return 0 if demo_code == 0 and not problems(report) else 1


if __name__ == "__main__":
    sys.exit(main())
