"""``python -m components.bundling build --requirement numpy==2.2.6 --runtime python3.11 --arch x86_64 [--json]
[--trim WORKLOAD]`` and ``python -m components.bundling lock --requirement numpy==2.2.6 --out numpy.lock`` (then
``build --lock``).

Exit codes: 0 built, 1 the build failed (message on stderr names the layer, the package and the reason; pip's
output or the smoke test's traceback only with ``--verbose``), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.bundling.builder import build_layer
from components.bundling.errors import LayerBuildError
from components.bundling.lock import resolve_lock, write_lock
from components.bundling.platforms import ARCHITECTURES, LAMBDA_UNZIPPED_LIMIT, RUNTIMES
from components.bundling.report import format_contributors
from components.bundling.spec import PYC_MODES, LayerSpec
from components.bundling.trim import trim_layer

MiB = 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m components.bundling",
                                     description="Build a verified, deterministic Lambda layer without Docker.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or reuse from the cache) one layer")
    build.add_argument("--requirement", "-r", action="append", required=True, metavar="REQ",
                       help="a requirement such as numpy==2.2.6 (repeatable)")
    build.add_argument("--runtime", default="python3.11", choices=sorted(RUNTIMES))
    build.add_argument("--arch", default="x86_64", choices=sorted(ARCHITECTURES))
    build.add_argument("--exclude", action="append", default=[], metavar="DIST",
                       help="resolve but do not ship this distribution (another layer provides it)")
    build.add_argument("--provided-by", action="append", default=[], type=Path, metavar="DIR",
                       help="an unzipped layer (site dir) on sys.path during the smoke test")
    build.add_argument("--include-runtime-packages", action="store_true",
                       help="ship boto3/botocore/s3transfer/urllib3 although the runtime provides them")
    build.add_argument("--budget", type=int, default=LAMBDA_UNZIPPED_LIMIT, help="unzipped size budget in bytes")
    build.add_argument("--smoke-import", action="append", default=[], metavar="MODULE")
    build.add_argument("--pyc", choices=PYC_MODES, default="imported",
                       help="which modules get unchecked-hash pyc (default: those the smoke test imports)")
    build.add_argument("--no-strip", action="store_true", help="do not strip .so files")
    build.add_argument("--keep-docstrings", action="append", default=[], metavar="PKG",
                       help="compile this top-level package with its docstrings (repeatable)")
    build.add_argument("--keep-all-docstrings", action="store_true", help="never strip docstrings")
    build.add_argument("--sourceless", action="store_true",
                       help="ship pyc in place of .py sources (smaller; tracebacks name files, without source lines)")
    build.add_argument("--workload", action="append", default=[], type=Path, metavar="FILE",
                       help="a Python file the smoke test runs after the built-in workloads (repeatable)")
    build.add_argument("--trim", action="append", default=[], type=Path, metavar="WORKLOAD",
                       help="after the build, drop what this workload (a Python file run as __main__, repeatable) "
                            "never loads; verified: the workload runs again on the trimmed layer in a fresh -I "
                            "interpreter and every removed module raises an ImportError naming the trim rule")
    build.add_argument("--trim-keep", action="append", default=[], metavar="MODULE",
                       help="with --trim: never remove this module or path prefix (repeatable)")
    build.add_argument("--name", default="", help="the layer's name, used in messages")
    build.add_argument("--verbose", "-v", action="store_true",
                       help="on failure also print pip's output or the smoke test's traceback")
    build.add_argument("--find-links", action="append", default=[], metavar="DIR_OR_URL",
                       help="extra wheel locations for pip (repeatable)")
    build.add_argument("--no-index", action="store_true", help="only use --find-links locations")
    build.add_argument("--cache-dir", type=Path, default=None, help="default ~/.cache/sciflow/layers")
    build.add_argument("--refresh", action="store_true", help="ask pip again even when a resolution is cached")
    build.add_argument("--lock", type=Path, default=None, metavar="FILE",
                       help="install exactly the wheels of this lock file (see the lock command)")
    build.add_argument("--sdk-service", action="append", default=[], metavar="SERVICE",
                       help="with boto3 shipped, keep only this service's botocore model (repeatable)")
    build.add_argument("--json", action="store_true", help="print the build report as one JSON object")
    lock = sub.add_parser("lock", help="resolve requirements for a Lambda target and write a hashed lock file")
    lock.add_argument("--requirement", "-r", action="append", required=True, metavar="REQ")
    lock.add_argument("--runtime", default="python3.11", choices=sorted(RUNTIMES))
    lock.add_argument("--arch", default="x86_64", choices=sorted(ARCHITECTURES))
    lock.add_argument("--find-links", action="append", default=[], metavar="DIR_OR_URL")
    lock.add_argument("--no-index", action="store_true")
    lock.add_argument("--cache-dir", type=Path, default=None)
    lock.add_argument("--out", type=Path, required=True, metavar="FILE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "lock":
        return _lock(args)
    spec = LayerSpec(requirements=tuple(args.requirement), runtime=args.runtime, architecture=args.arch,
                     exclude=tuple(args.exclude), provided_by=tuple(args.provided_by),
                     include_runtime_packages=args.include_runtime_packages, size_budget_bytes=args.budget,
                     smoke_imports=tuple(args.smoke_import), pyc=args.pyc, strip_binaries=not args.no_strip,
                     strip_docstrings=not args.keep_all_docstrings, keep_docstrings=tuple(args.keep_docstrings),
                     sourceless=args.sourceless, workloads=tuple(args.workload), name=args.name,
                     find_links=tuple(args.find_links), no_index=args.no_index, lock_file=args.lock,
                     sdk_services=tuple(args.sdk_service))
    progress = None if args.json else (lambda msg: print(f"  {msg}", file=sys.stderr))
    if args.trim_keep and not args.trim:
        print("error: --trim-keep needs --trim WORKLOAD", file=sys.stderr)
        return 2
    try:
        build = build_layer(spec, cache_dir=args.cache_dir, progress=progress, refresh=args.refresh)
        if args.trim:
            build = trim_layer(build, spec, tuple(args.trim), keep=tuple(args.trim_keep), cache_dir=args.cache_dir,
                               progress=progress)
    except LayerBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.details and args.verbose:
            print(exc.details, file=sys.stderr)
        elif exc.details:
            print("  (run with --verbose for pip's output / the traceback)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"zip_path": str(build.zip_path), "site_dir": str(build.site_dir), "sha256": build.sha256,
                          "source_code_hash": build.source_code_hash, "unzipped_bytes": build.unzipped_bytes,
                          "zipped_bytes": build.zipped_bytes, "glibc_max": build.glibc_max,
                          "packages": build.packages, "cached": build.cached, "report": build.report}))
        return 0
    print(f"{build.zip_path}\n  sha256 {build.sha256}\n  {build.unzipped_bytes / MiB:.1f} MiB unzipped, "
          f"{build.zipped_bytes / MiB:.1f} MiB zipped, glibc max {build.glibc_max}"
          f"{' (cached)' if build.cached else ''}")
    for name, version in sorted(build.packages.items()):
        print(f"  {name}=={version}")
    print(f"  top contributors: {format_contributors(build.report['sizes']['per_package'])}")
    for note in build.notes:
        print(f"  note: {note}")
    return 0


def _lock(args: argparse.Namespace) -> int:
    spec = LayerSpec(requirements=tuple(args.requirement), runtime=args.runtime, architecture=args.arch,
                     find_links=tuple(args.find_links), no_index=args.no_index)
    try:
        lock = resolve_lock(spec, cache_dir=args.cache_dir)
    except LayerBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    changed = write_lock(args.out, lock)
    print(f"{args.out}: {len(lock.wheels)} wheels{'' if changed else ' (unchanged)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
