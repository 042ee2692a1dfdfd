"""``python -m sandbox``: the offline twin of the Pulumi CLI and the cloud.

Commands
--------
preview   synthesize the program and print the resource tree (``--json``: the contract in DESIGN.md)
serve     run the embedded AWS as a server for other clients
backfill  alias of ``python -m ops backfill`` (run missed dates of a scheduled computation)
demo      the main job: the whole dev stack on the embedded AWS
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sandbox.services import synth_for_sandbox as synth
from synth import SynthError


def _preview(args: argparse.Namespace) -> int:
    from synth.preview import render_summary, render_tree

    started = time.perf_counter()
    _preload(Path(args.program))
    imported = time.perf_counter()
    try:
        graph = synth(Path(args.program), stack=args.stack)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - imported
    if args.json:
        print(json.dumps(graph.to_json(), sort_keys=False))
        return 0
    print(f"Previewing update ({graph.stack}) of {graph.project} in the sandbox ({graph.region}):\n")
    print(render_tree(graph))
    print(render_summary(graph))
    print(f"\nSynthesized {len(graph)} registrations in {elapsed:.2f}s (+{imported - started:.2f}s of imports)")
    return 0


def _preload(program: Path) -> None:
    """Import what sciflow's own program imports, so the synth time shown is the program's, not the SDK's."""
    if program.resolve().parent == Path(__file__).resolve().parent.parent:
        import pulumi_aws as aws

        import components.stack  # noqa: F401

        for module in ("s3", "lambda_", "iam", "kms", "dynamodb", "sqs", "sfn", "cloudwatch", "scheduler"):
            getattr(aws, module)  # pulumi_aws loads its submodules lazily, on first attribute access


def _serve(args: argparse.Namespace) -> int:
    from sandbox.server import serve

    graph = None
    if args.stack:
        try:
            graph = synth(Path(args.program), stack=args.stack, preview=False)
        except SynthError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    serve(port=args.port, region=args.region, host=args.host, graph=graph)
    return 0


def _backfill(argv: list[str]) -> int:
    from ops.backfill import main as backfill_main

    return backfill_main(argv)


def _demo(argv: list[str]) -> int:
    from sandbox.demo import main as demo_main

    return demo_main(argv)


def _access(argv: list[str]) -> int:
    from sandbox.access import main as access_main

    return access_main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    preview = sub.add_parser("preview", help="synthesize the program and print its resource tree")
    preview.add_argument("--stack", default="dev", help="loads Pulumi.STACK.yaml beside the program (default dev)")
    preview.add_argument("--program", default="__main__.py", help="the Pulumi program file (default __main__.py)")
    preview.add_argument("--json", action="store_true", help="print one JSON object: {resources: [...], ...}")
    preview.set_defaults(func=_preview)
    serve = sub.add_parser("serve", help="run the embedded AWS as a server (moto) with in-process Lambda")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--region", default="ap-south-1", help="region when no --stack is deployed")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--stack", default=None, help="start with this stack of the program deployed (e.g. dev)")
    serve.add_argument("--program", default="__main__.py", help="the Pulumi program file (default __main__.py)")
    serve.set_defaults(func=_serve)
    sub.add_parser("backfill", help="alias of python -m ops backfill: run missed dates of a scheduled computation",
                   add_help=False)
    sub.add_parser("demo", help="the whole dev stack on the embedded AWS (see demo --help)", add_help=False)
    sub.add_parser("access", help="IAM access report of the demo scenarios (see access --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # backfill and demo own their argument parsing
    if argv and argv[0] == "backfill":
        return _backfill(argv[1:])
    if argv and argv[0] == "demo":
        return _demo(argv[1:])
    if argv and argv[0] == "access":
        return _access(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
