"""Layer benchmark: our layers vs what users build by hand, side by side in one run.

``python -m bench.layer --json`` (profile ``default``): the numpy+pandas+scipy layer for python3.11 x86_64
(glibc 2.26) against ``baselines``, all measured in this run:

* ``pip_target_zip`` — plain ``pip install --target`` (pip's defaults: timestamp pyc for everything, tests kept),
  zipped *with* the files' timestamps as ``zip -r`` does (DOS time plus the extended-timestamp field with the
  exact mtime) and extracted with those times restored, read-only (``-B``): a hand-made or Klayers-style
  layer in the best case, every pyc valid.
* ``pip_target_zip_dos_times`` — the same zip extracted by a tool that only reads the DOS time (2-second
  resolution): the pyc of every source with an odd mtime go stale (``stale_pyc`` counts them).
* ``pip_target_deterministic_zip`` — the same tree in a deterministic zip (every entry dated 1980): every
  timestamp pyc is stale, so each cold start compiles.

Fields: ``unzipped_bytes``, ``zipped_bytes``, ``cold_import_s`` / ``cold_import_cpu_s`` (wall / CPU seconds of
the import, median of ``--runs`` fresh ``-I -S -B`` interpreters with only the layer on ``sys.path``, all variants
alternating), ``cold_import_nopyc_s`` (our tree without pyc), ``import_ratio``, ``naive_unzipped_bytes`` (the pip
tree), ``unzipped_ratio``, ``build_s``, ``rebuild_s``, ``rebuild_identical``, ``fresh_rebuild_identical``,
``glibc_max``, ``packages``, ``baselines`` (each with ``cold_import_s`` and ``cold_import_cpu_s``), ``targets``.

``python -m bench.layer --profile full --json``: numpy + pandas + scipy + scikit-learn + matplotlib + seaborn +
Powertools for one python3.11 x86_64 function: the scientific layer (default options), a second layer with the
rest, both trimmed against ``bench/workloads/full_stack.py`` (sourceless pyc) by
:func:`components.bundling.trim.trim_layers`; adds ``total_unzipped_bytes`` (all layers + the handlers zip),
``layer_dirs`` (attach order), ``runtime``, ``workload_ok`` (the workload in a fresh ``python3.11 -I -S`` with
only ``layer_dirs`` on ``sys.path``) and ``untrimmed_total_unzipped_bytes``.
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
import zipfile
from pathlib import Path
from typing import Any

from components.bundling import LayerBuild, LayerBuildError, LayerSpec, build_layer, get_platform
from components.bundling.archive import iter_tree, write_deterministic_zip
from components.bundling.elfscan import parse_glibc
from components.bundling.interpreters import find_interpreter
from components.bundling.trim import TrimSpec, trace, trim_layers
from components.code import handlers_archive

RUNTIME, ARCH = "python3.11", "x86_64"
SCIENTIFIC = ("numpy==2.2.6", "pandas==3.1.1", "scipy==1.16.3")
FULL_REST = ("scikit-learn==1.7.2", "matplotlib==3.11.2", "seaborn==0.13.2", "aws-lambda-powertools==3.37.0")
FULL_WORKLOAD = Path(__file__).resolve().parent / "workloads" / "full_stack.py"
IMPORTS = {"default": "import numpy, pandas, scipy.stats",
           "full": "import numpy, pandas, scipy.stats, sklearn.ensemble, seaborn, aws_lambda_powertools"}
DEFAULT_LAYER_BYTES = 180_656_951  # the default layer before issue 16: it must not grow
FULL_BUDGET = 230_000_000  # issue 16: the whole stack for one function, with room for its code
UNZIPPED_RATIO_MAX, IMPORT_RATIO_MAX, REBUILD_S_MAX, GLIBC_MAX = 0.62, 0.5, 2.0, "2.26"  # issue 3 targets


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def pip_target(dest: Path, requirements: tuple[str, ...]) -> None:
    """Plain ``pip install --target`` for the Lambda platform (pip's defaults: timestamp pyc, tests kept)."""
    args = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(dest),
            *get_platform(RUNTIME, ARCH).pip_args(), *requirements]
    subprocess.run(args, check=True, capture_output=True, text=True)


_UT = 0x5455  # the extended-timestamp extra field Info-ZIP's ``zip`` writes: flags, then the exact mtime


def zip_with_timestamps(root: Path, dest: Path) -> None:
    """``cd root && zip -r dest python`` as a user would: each file's DOS time plus its exact mtime (``UT``)."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for arcname, path in iter_tree(root, arc_prefix="python/", exclude_dirs=frozenset(), exclude_suffixes=()):
            info = zipfile.ZipInfo.from_file(path, arcname)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.extra = _UT.to_bytes(2, "little") + (5).to_bytes(2, "little") + b"\x01" + int(
                path.stat().st_mtime).to_bytes(4, "little")
            with open(path, "rb") as fh:
                zf.writestr(info, fh.read())


def _exact_mtime(extra: bytes) -> int | None:
    while len(extra) >= 4:
        header, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        if header == _UT and size >= 5 and extra[4] & 1:
            return int.from_bytes(extra[5:9], "little")
        extra = extra[4 + size:]
    return None


def extract_like_lambda(archive: Path, dest: Path, *, exact_times: bool = True) -> Path:
    """Unzip with the zip's timestamps restored (the exact ``UT`` mtime when present and ``exact_times``, else
    the DOS time); returns ``dest/python``."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, dest))
            exact = _exact_mtime(info.extra) if exact_times else None
            stamp = exact if exact is not None else time.mktime((*info.date_time, 0, 0, -1))
            os.utime(target, (stamp, stamp))
    return dest / "python"


def stale_pyc(site: Path) -> int:
    """Timestamp pyc whose recorded source mtime or size no longer matches the source: recompiled every start."""
    stale = 0
    for pyc in site.rglob("__pycache__/*.pyc"):
        source = pyc.parent.parent / (pyc.name.split(".", 1)[0] + ".py")
        data = pyc.read_bytes()[:16]
        if len(data) < 16 or not source.is_file() or int.from_bytes(data[4:8], "little") & 1:
            continue  # hash-based pyc never go stale
        st = source.stat()
        if int.from_bytes(data[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF or \
                int.from_bytes(data[12:16], "little") != st.st_size & 0xFFFFFFFF:
            stale += 1
    return stale


def cold_import_s(sites: list[Path], code: str) -> tuple[float, float]:
    """Wall and CPU seconds of ``code`` in a fresh interpreter with only ``sites`` on ``sys.path`` (nothing
    written)."""
    script = (f"import sys, time; sys.path[:0] = {[str(s) for s in sites]!r}; t = time.perf_counter(); "
              f"c = time.process_time(); {code}; print(time.perf_counter() - t, time.process_time() - c)")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "HOME": tempfile.gettempdir(),
           "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", script], capture_output=True, text=True, env=env,
                         check=True).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def medians(variants: dict[str, list[Path]], code: str, runs: int) -> dict[str, tuple[float, float]]:
    """Median cold import (wall, CPU) per variant, the variants alternating run by run (one warm-up each)."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for sites in variants.values():
        cold_import_s(sites, code)
    for _ in range(runs):
        for name, sites in variants.items():
            times[name].append(cold_import_s(sites, code))
    return {name: (round(statistics.median(t[0] for t in ts), 4), round(statistics.median(t[1] for t in ts), 4))
            for name, ts in times.items()}


def baselines(tmp: Path, requirements: tuple[str, ...]) -> tuple[dict[str, dict[str, Any]], dict[str, list[Path]]]:
    """Build the two pip baselines; their figures and their extracted trees."""
    log("baseline: pip install --target (same platform tags, pip's defaults)")
    tree = tmp / "pip-target"
    pip_target(tree, requirements)
    out: dict[str, dict[str, Any]] = {}
    sites: dict[str, list[Path]] = {}
    log("baseline zips: with timestamps (zip -r), deterministic (1980)")
    timestamped, deterministic = tmp / "timestamps.zip", tmp / "deterministic.zip"
    zip_with_timestamps(tree, timestamped)
    write_deterministic_zip(iter_tree(tree, arc_prefix="python/", exclude_dirs=frozenset(), exclude_suffixes=()),
                            deterministic)
    for name, archive, exact in (("pip_target_zip", timestamped, True),
                                 ("pip_target_zip_dos_times", timestamped, False),
                                 ("pip_target_deterministic_zip", deterministic, True)):
        log(f"baseline {name}: extract like Lambda")
        site = extract_like_lambda(archive, tmp / name, exact_times=exact)
        out[name] = {"unzipped_bytes": tree_bytes(site), "zipped_bytes": archive.stat().st_size,
                     "stale_pyc": stale_pyc(site), "pyc": sum(1 for _ in site.rglob("*.pyc"))}
        sites[name] = [site]
    timestamped.unlink()
    deterministic.unlink()
    shutil.rmtree(tree)
    return out, sites


def run_default(runs: int, cache_dir: Path | None, fresh: bool, with_baselines: bool) -> dict[str, Any]:
    spec = LayerSpec(requirements=SCIENTIFIC, runtime=RUNTIME, architecture=ARCH, name="scientific")
    with tempfile.TemporaryDirectory(prefix="sciflow-bench-layer-") as tmp_name:
        tmp = Path(tmp_name)
        base, base_sites = baselines(tmp, SCIENTIFIC) if with_baselines else ({}, {})
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
            (fresh_cache / ".wheels").symlink_to((cache_dir or build.zip_path.parent.parent) / ".wheels")
            other = build_layer(spec, cache_dir=fresh_cache)
            fresh_identical = other.sha256 == build.sha256 and not other.cached
        nopyc = tmp / "nopyc"
        shutil.copytree(build.site_dir, nopyc, ignore=shutil.ignore_patterns("__pycache__"))
        log(f"cold imports: {runs} runs per variant, alternating")
        times = medians({"ours": [build.site_dir], "nopyc": [nopyc], **base_sites}, IMPORTS["default"], runs)
    for name in base:
        base[name]["cold_import_s"], base[name]["cold_import_cpu_s"] = times[name]
    naive = base.get("pip_target_zip", {}).get("unzipped_bytes")
    result: dict[str, Any] = {
        "profile": "default", "runtime": RUNTIME, "naive_unzipped_bytes": naive,
        "unzipped_bytes": build.unzipped_bytes, "zipped_bytes": build.zipped_bytes,
        "unzipped_ratio": round(build.unzipped_bytes / naive, 4) if naive else None,
        "cold_import_s": times["ours"][0], "cold_import_cpu_s": times["ours"][1],
        "cold_import_nopyc_s": times["nopyc"][0], "cold_import_nopyc_cpu_s": times["nopyc"][1],
        "import_ratio": round(times["ours"][0] / times["nopyc"][0], 4), "build_s": round(build_s, 2),
        "build_cached": build.cached, "rebuild_s": round(rebuild_s, 3),
        "rebuild_identical": again.sha256 == build.sha256,
        "fresh_rebuild_identical": fresh_identical, "glibc_max": build.glibc_max, "packages": build.packages,
        "top_contributors": _top(build), "baselines": base, "runs": runs,
    }
    result["targets"] = {
        "unzipped_ratio": result["unzipped_ratio"] is None or result["unzipped_ratio"] <= UNZIPPED_RATIO_MAX,
        "import_ratio": result["import_ratio"] <= IMPORT_RATIO_MAX,
        "rebuild_s": rebuild_s <= REBUILD_S_MAX and result["rebuild_identical"],
        "glibc_max": parse_glibc(build.glibc_max) <= parse_glibc(GLIBC_MAX),
        "not_grown": build.unzipped_bytes <= DEFAULT_LAYER_BYTES,
        "import_vs_pip_target_zip": not base or times["ours"][0] <= base["pip_target_zip"]["cold_import_s"],
        "import_cpu_vs_pip_target_zip": not base or times["ours"][1] <= base["pip_target_zip"]["cold_import_cpu_s"],
    }
    return result


def _top(build: LayerBuild) -> list[list[Any]]:
    per_package = build.report["sizes"]["per_package"]
    return [[name, size] for name, size in sorted(per_package.items(), key=lambda kv: -kv[1])[:5]]


def full_layers(cache_dir: Path | None) -> tuple[LayerBuild, LayerBuild]:
    """The scientific layer (default options) and the rest of the stack on top of it, both verified."""
    say = lambda m: log(f"  {m}")  # noqa: E731
    scientific = build_layer(LayerSpec(SCIENTIFIC, runtime=RUNTIME, architecture=ARCH, name="scientific"),
                             cache_dir=cache_dir, progress=say)
    rest = build_layer(LayerSpec((*SCIENTIFIC, *FULL_REST), runtime=RUNTIME, architecture=ARCH,
                                 exclude=("numpy", "pandas", "scipy", "python-dateutil", "tzdata"),
                                 provided_by=(scientific.site_dir,), workloads=(FULL_WORKLOAD,),
                                 keep_docstrings=("seaborn",), name="ml-plotting"),
                       cache_dir=cache_dir, progress=say)
    return scientific, rest


def run_full(runs: int, cache_dir: Path | None, with_baselines: bool) -> dict[str, Any]:
    code = handlers_archive()
    t = time.perf_counter()
    log("building the two layers")
    scientific, rest = full_layers(cache_dir)
    log("trimming them against the function's workload (sourceless pyc)")
    trimmed = trim_layers(TrimSpec((scientific, rest), (FULL_WORKLOAD,), function="full-stack",
                                   code_bytes=code.unzipped_bytes, sourceless=True, budget_bytes=FULL_BUDGET,
                                   names=("scientific", "ml-plotting")),
                          cache_dir=cache_dir, progress=lambda m: log(f"  {m}"))
    build_s = time.perf_counter() - t
    interpreter = find_interpreter((3, 11))
    assert interpreter is not None
    log("the workload in a fresh python3.11 -I -S with only layer_dirs on sys.path")
    try:
        trace(interpreter.path, trimmed.layer_dirs, (FULL_WORKLOAD,), stage="on the final layers")
        workload_ok, workload_error = True, None
    except LayerBuildError as exc:
        workload_ok, workload_error = False, str(exc)
    with tempfile.TemporaryDirectory(prefix="sciflow-bench-layer-") as tmp_name:
        tmp = Path(tmp_name)
        base, base_sites = baselines(tmp, (*SCIENTIFIC, *FULL_REST)) if with_baselines else ({}, {})
        log(f"cold imports: {runs} runs per variant, alternating")
        times = medians({"ours": trimmed.layer_dirs, "untrimmed": [scientific.site_dir, rest.site_dir],
                         **base_sites}, IMPORTS["full"], runs)
    for name in base:
        base[name]["cold_import_s"], base[name]["cold_import_cpu_s"] = times[name]
    untrimmed = scientific.unzipped_bytes + rest.unzipped_bytes + code.unzipped_bytes
    result: dict[str, Any] = {
        "profile": "full", "runtime": RUNTIME, "architecture": ARCH,
        "total_unzipped_bytes": trimmed.total_unzipped_bytes, "untrimmed_total_unzipped_bytes": untrimmed,
        "code_unzipped_bytes": code.unzipped_bytes,
        "layer_dirs": [str(p) for p in trimmed.layer_dirs], "workload_ok": workload_ok,
        "workload_error": workload_error,
        "unzipped_bytes": sum(layer.unzipped_bytes for layer in trimmed.layers),
        "zipped_bytes": sum(layer.zipped_bytes for layer in trimmed.layers),
        "cold_import_s": times["ours"][0], "cold_import_cpu_s": times["ours"][1],
        "cold_import_untrimmed_s": times["untrimmed"][0], "cold_import_untrimmed_cpu_s": times["untrimmed"][1],
        "build_s": round(build_s, 2), "trim_cached": trimmed.cached,
        "layers": [{"name": layer.name, "unzipped_bytes": layer.unzipped_bytes, "zipped_bytes": layer.zipped_bytes,
                    "before_trim_bytes": layer.source_unzipped_bytes, "removed": layer.removed, "stubs": layer.stubs,
                    "sha256": layer.sha256} for layer in trimmed.layers],
        "packages": {**scientific.packages, **rest.packages}, "baselines": base, "runs": runs,
        "top_contributors": sorted(trimmed.report["sizes"]["per_package"].items(), key=lambda kv: -kv[1])[:5],
        "docstrings_kept_for": rest.report["pyc"].get("docstrings_kept_for", []),
    }
    result["targets"] = {"total_unzipped_bytes": trimmed.total_unzipped_bytes <= FULL_BUDGET,
                         "workload_ok": workload_ok}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layer", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object (last line)")
    parser.add_argument("--profile", choices=("default", "full"), default="default",
                        help="default: numpy+pandas+scipy; full: + scikit-learn, matplotlib, seaborn, Powertools")
    parser.add_argument("--runs", type=int, default=7, help="cold-import runs per variant (median; at least 5)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="layer cache (default ~/.cache/sciflow/layers)")
    parser.add_argument("--no-fresh", action="store_true", help="skip the independent rebuild in an empty cache")
    parser.add_argument("--no-baselines", action="store_true", help="skip the pip --target baselines")
    args = parser.parse_args(argv)
    runs = max(5, args.runs)
    if args.profile == "full":
        result = run_full(runs, args.cache_dir, not args.no_baselines)
    else:
        result = run_default(runs, args.cache_dir, not args.no_fresh, not args.no_baselines)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
