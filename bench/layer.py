"""Layer benchmark: numpy+pandas+scipy for python3.11 x86_64 (glibc 2.26) vs plain ``pip install --target``.

``python -m bench.layer --json`` prints progress on stderr and, as the last stdout line, one JSON object:
``naive_unzipped_bytes``, ``unzipped_bytes``, ``zipped_bytes``, ``unzipped_ratio``, ``cold_import_s``,
``cold_import_nopyc_s``, ``import_ratio``, ``build_s``, ``rebuild_s``, ``rebuild_identical``,
``fresh_rebuild_identical``, ``glibc_max``, ``packages`` and ``targets`` (each target's pass/fail).

The naive baseline installs into a temporary directory (pip's own HTTP cache, never the layer cache). Cold
imports run in fresh interpreters (``-I -S -B``, ``PYTHONDONTWRITEBYTECODE=1``) with only the layer on
``sys.path``, alternating the layer and the same tree without pyc, and report the median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from components.bundling import LayerSpec, build_layer, get_platform
from components.bundling.elfscan import parse_glibc

REQUIREMENTS = ("numpy", "pandas", "scipy")
RUNTIME, ARCH = "python3.11", "x86_64"
IMPORT = "import numpy, pandas, scipy.stats"
UNZIPPED_RATIO_MAX, IMPORT_RATIO_MAX, REBUILD_S_MAX, GLIBC_MAX = 0.62, 0.5, 2.0, "2.26"  # issue 3 targets


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def naive_install(dest: Path) -> int:
    """Plain ``pip install --target`` (pip's defaults: compiles pyc, keeps tests) for the same platform."""
    args = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(dest),
            *get_platform(RUNTIME, ARCH).pip_args(), *REQUIREMENTS]
    subprocess.run(args, check=True, capture_output=True, text=True)
    return tree_bytes(dest)


def cold_import_s(site: Path) -> float:
    """Seconds for ``import numpy, pandas, scipy.stats`` in a fresh interpreter with only ``site`` on sys.path."""
    code = (f"import sys, time; sys.path.insert(0, {str(site)!r}); t = time.perf_counter(); {IMPORT}; "
            "print(time.perf_counter() - t)")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "HOME": tempfile.gettempdir()}
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    return float(out.strip().splitlines()[-1])


def run(runs: int, cache_dir: Path | None, fresh: bool) -> dict[str, Any]:
    spec = LayerSpec(requirements=REQUIREMENTS, runtime=RUNTIME, architecture=ARCH)
    with tempfile.TemporaryDirectory(prefix="sciflow-bench-layer-") as tmp_name:
        tmp = Path(tmp_name)
        log("naive: pip install --target (same platform tags)")
        naive = naive_install(tmp / "naive")
        shutil.rmtree(tmp / "naive")

        log("build (cold unless the cache already holds it)")
        t = time.perf_counter()
        build = build_layer(spec, cache_dir=cache_dir, progress=lambda m: log(f"  {m}"))
        build_s = time.perf_counter() - t
        log("warm rebuild, unchanged")
        t = time.perf_counter()
        again = build_layer(spec, cache_dir=cache_dir)
        rebuild_s = time.perf_counter() - t

        fresh_identical: bool | None = None
        if fresh:
            log("independent rebuild in an empty cache (same wheels)")
            fresh_cache = tmp / "fresh"
            fresh_cache.mkdir()
            store = (cache_dir or build.zip_path.parent.parent) / ".wheels"
            (fresh_cache / ".wheels").symlink_to(store)
            other = build_layer(spec, cache_dir=fresh_cache)
            fresh_identical = other.sha256 == build.sha256 and not other.cached

        log(f"cold imports: {runs} runs each, alternating")
        nopyc = tmp / "nopyc"
        shutil.copytree(build.site_dir, nopyc, ignore=shutil.ignore_patterns("__pycache__"))
        cold_import_s(build.site_dir)  # one warm-up of the page cache for both trees
        cold_import_s(nopyc)
        with_pyc, without = [], []
        for _ in range(runs):
            with_pyc.append(cold_import_s(build.site_dir))
            without.append(cold_import_s(nopyc))

    result: dict[str, Any] = {
        "naive_unzipped_bytes": naive,
        "unzipped_bytes": build.unzipped_bytes,
        "zipped_bytes": build.zipped_bytes,
        "unzipped_ratio": round(build.unzipped_bytes / naive, 4),
        "cold_import_s": round(statistics.median(with_pyc), 4),
        "cold_import_nopyc_s": round(statistics.median(without), 4),
        "build_s": round(build_s, 2),
        "build_cached": build.cached,
        "rebuild_s": round(rebuild_s, 3),
        "rebuild_identical": again.sha256 == build.sha256,
        "fresh_rebuild_identical": fresh_identical,
        "glibc_max": build.glibc_max,
        "packages": build.packages,
        "runs": runs,
    }
    result["import_ratio"] = round(result["cold_import_s"] / result["cold_import_nopyc_s"], 4)
    result["targets"] = {
        "unzipped_ratio": result["unzipped_ratio"] <= UNZIPPED_RATIO_MAX,
        "import_ratio": result["import_ratio"] <= IMPORT_RATIO_MAX,
        "rebuild_s": rebuild_s <= REBUILD_S_MAX and result["rebuild_identical"],
        "glibc_max": parse_glibc(build.glibc_max) <= parse_glibc(GLIBC_MAX),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object (last line)")
    parser.add_argument("--runs", type=int, default=7, help="cold-import runs per variant (median; at least 5)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="layer cache (default ~/.cache/sciflow/layers)")
    parser.add_argument("--no-fresh", action="store_true", help="skip the independent rebuild in an empty cache")
    args = parser.parse_args(argv)
    result = run(max(5, args.runs), args.cache_dir, fresh=not args.no_fresh)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
