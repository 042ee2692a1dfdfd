"""``build_layer``: requirements -> verified, deterministic Lambda layer zip (cached by content hash)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from components.bundling.archive import file_sha256, iter_tree, source_code_hash, write_deterministic_zip
from components.bundling.cache import BUILDER_VERSION, BuildDir, cache_key, default_cache_dir, locked
from components.bundling.elfscan import check_scan, format_glibc, scan_tree
from components.bundling.errors import LayerBuildError
from components.bundling.interpreters import find_interpreter
from components.bundling.lock import fetch_locked, use_lock
from components.bundling.report import check_budget, format_contributors, size_report
from components.bundling.resolve import Resolution, ResolvedWheel, index_args, resolve
from components.bundling.sdk import prune_service_models
from components.bundling.spec import PYC_MODES, RUNTIME_PROVIDED, LayerBuild, LayerSpec, parse_requirements
from components.bundling.strip import StripResult, find_strip_tool, remove_unneeded, strip_binaries, tool_version
from components.bundling.verify import compile_and_verify
from components.bundling.wheels import Unpacked, installed_distributions, unpack_wheel

Progress = Callable[[str], None]


def build_layer(spec: LayerSpec, *, cache_dir: Path | None = None, progress: Progress | None = None,
                refresh: bool = False) -> LayerBuild:
    """Build (or reuse from the cache) the layer described by ``spec``.

    Parameters
    ----------
    spec
        What to build.
    cache_dir
        Cache root; defaults to ``~/.cache/sciflow/layers``. Safe to share between concurrent processes.
    progress
        Called with one-line progress messages.
    refresh
        Ask pip again even when a recent resolution is cached.

    Returns
    -------
    LayerBuild
        ``zip_path`` holds ``python/...`` entries; ``site_dir`` is the same tree unzipped.

    Raises
    ------
    LayerBuildError
        For bad input or a failed verification; the message names the package and the reason, and nothing
        half-built is left in the cache.

    Example
    -------
    >>> build = build_layer(LayerSpec(("numpy==2.2.6",)))
    >>> build.zip_path.name, build.glibc_max
    ('layer.zip', '2.17')
    """
    try:
        return _build_layer(spec, cache_dir=cache_dir, progress=progress, refresh=refresh)
    except LayerBuildError as exc:
        raise exc.for_layer(spec.name) from None


def _build_layer(spec: LayerSpec, *, cache_dir: Path | None, progress: Progress | None,
                 refresh: bool) -> LayerBuild:
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    platform = spec.platform()
    requirements = [str(r) for r in parse_requirements(spec.requirements)]
    if spec.pyc not in PYC_MODES:
        raise LayerBuildError(f"pyc: {spec.pyc!r} is not one of {', '.join(PYC_MODES)}", reason="bad-option")
    if spec.size_budget_bytes <= 0:
        raise LayerBuildError(f"size_budget_bytes: {spec.size_budget_bytes} must be positive", reason="bad-option")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root.mkdir(parents=True, exist_ok=True)

    if spec.lock_file is not None:
        say(f"installing the wheels locked in {spec.lock_file} for {platform.describe()}")
        locked_at = time.monotonic()
        lock = use_lock(spec, tuple(requirements), cache_dir=root)
        fetch_locked(lock, platform, root / ".wheels", index_args(spec.index_url, spec.find_links, spec.no_index))
        resolution = Resolution(lock.wheels, True, time.monotonic() - locked_at)
    else:
        say(f"resolving {', '.join(requirements)} for {platform.describe()}")
        resolution = resolve(requirements, platform, store=root / ".wheels", state_dir=root / ".resolve",
                             index_url=spec.index_url, find_links=spec.find_links, no_index=spec.no_index,
                             ttl_s=spec.resolve_ttl_s, refresh=refresh)
    notes: list[str] = []
    excluded: dict[str, str] = {str(canonicalize_name(e)): "excluded" for e in spec.exclude}
    if not spec.include_runtime_packages:
        for name in RUNTIME_PROVIDED:
            excluded.setdefault(str(canonicalize_name(name)), "provided by the Lambda runtime")
    for site in spec.provided_by:
        if not Path(site).is_dir():
            raise LayerBuildError(f"provided_by: {site} is not a directory (pass LayerBuild.site_dir)",
                                  reason="bad-option")
        provided = installed_distributions(Path(site))
        for wheel in resolution.wheels:
            if wheel.key not in provided:
                continue
            if provided[wheel.key] != wheel.version:
                raise LayerBuildError(
                    f"{wheel.name}: this layer resolves {wheel.version} but the layer in {site} ships "
                    f"{provided[wheel.key]}; pin {wheel.name}=={provided[wheel.key]} so the layers agree",
                    package=wheel.name, reason="conflict")
            excluded.setdefault(wheel.key, "provided by another layer (provided_by)")
    resolved_names = {w.key for w in resolution.wheels}
    for name in sorted(canonicalize_name(e) for e in spec.exclude):
        if name not in resolved_names:
            notes.append(f"exclude: {name} is not in the resolved set (nothing to leave out)")
    shipped = [w for w in resolution.wheels if w.key not in excluded]
    if not shipped:
        raise LayerBuildError("requirements: every resolved distribution is excluded; the layer would be empty",
                              reason="empty")

    strip_tool = tool_version(find_strip_tool(spec.architecture)) if spec.strip_binaries else "off"
    found = find_interpreter(platform.runtime.python)
    interpreter, interpreter_version = (found.path, found.version) if found else (None, None)
    interpreter_source = found.source if found else None
    optional: dict[str, Any] = {  # options added later enter the key only when set: old keys stay valid
        "keep_docstrings": sorted(spec.keep_docstrings), "sourceless": spec.sourceless,
        "workloads": [file_sha256(Path(w)) for w in spec.workloads]}
    # The key is the target, the exact wheels (a lock's content) and the build options; never the host (its
    # Python patch release or strip version), so CI's cache and every machine agree on what a key holds.
    key = cache_key({
        **{k: v for k, v in optional.items() if v},
        "runtime": spec.runtime, "architecture": spec.architecture, "tags": list(platform.tags),
        "resolved": [[w.name, w.version, w.sha256] for w in resolution.wheels],
        "shipped": sorted(w.key for w in shipped), "pyc": spec.pyc, "strip_binaries": spec.strip_binaries,
        "strip_docstrings": spec.strip_docstrings, "keep": sorted(spec.keep),
        "smoke_imports": sorted(spec.smoke_imports), "sdk_services": sorted(spec.sdk_services),
    })
    final = root / key
    build = _load(final, spec, cached=True)
    if build is None:
        with locked(root / ".locks" / f"{key}.lock"):
            build = _load(final, spec, cached=True)
            if build is None:
                say(f"building layer {key} ({len(shipped)} distributions)")
                work = BuildDir(root, key)
                try:
                    _build_into(work.path, spec, platform, resolution.wheels, shipped, excluded,
                                root / ".wheels", (interpreter, interpreter_version, interpreter_source),
                                strip_tool, notes, say, key, resolution.cached)
                    work.publish()
                except BaseException:
                    work.discard()
                    raise
                build = _load(final, spec, cached=False)
                assert build is not None
    check_budget(build.report["sizes"], spec.size_budget_bytes)
    say(f"layer {key}: {build.unzipped_bytes:,} bytes unzipped, {build.zipped_bytes:,} zipped, "
        f"glibc {build.glibc_max}{' (cached)' if build.cached else ''} in {time.monotonic() - started:.1f}s; "
        f"top contributors: {format_contributors(build.report['sizes']['per_package'])}")
    return build


def _load(final: Path, spec: LayerSpec, *, cached: bool) -> LayerBuild | None:
    """The finished build in ``final``, or ``None`` (also when its zip no longer matches its record)."""
    record = final / "build.json"
    if not record.is_file():
        return None
    data = json.loads(record.read_text())
    zip_path = final / "layer.zip"
    if not zip_path.is_file() or file_sha256(zip_path) != data["sha256"]:
        shutil.rmtree(final, ignore_errors=True)
        return None
    report = data["report"]
    report["cached"] = cached
    return LayerBuild(
        zip_path=zip_path, sha256=data["sha256"], source_code_hash=source_code_hash(data["sha256"]),
        unzipped_bytes=report["sizes"]["unzipped_bytes"], zipped_bytes=zip_path.stat().st_size,
        packages=dict(report["packages"]), glibc_max=report["glibc"]["max"], report=report,
        site_dir=final / "python", cache_key=final.name, cached=cached, runtime=spec.runtime,
        architecture=spec.architecture, notes=tuple(report["notes"]))


def _build_into(work: Path, spec: LayerSpec, platform: Any, resolved: tuple[ResolvedWheel, ...],
                shipped: list[ResolvedWheel], excluded: dict[str, str], store: Path,
                found: tuple[str | None, str | None, str | None], strip_tool: str, notes: list[str],
                say: Progress, key: str, resolution_cached: bool) -> None:
    interpreter, interpreter_version, interpreter_source = found
    timings: dict[str, float] = {}
    site = work / "python"
    site.mkdir()
    t = time.monotonic()
    unpacked = Unpacked()
    for wheel in shipped:
        unpack_wheel(store / wheel.filename, wheel.name, site, unpacked)
    if unpacked.dropped:
        notes.append("wheel data left out: "
                     + ", ".join(f"{k} ({n} files)" for k, n in sorted(unpacked.dropped.items())))
    if unpacked.overwritten:
        notes.append(f"{len(unpacked.overwritten)} files provided by more than one wheel, "
                     f"e.g. {unpacked.overwritten[0]}")
    timings["unpack_s"] = time.monotonic() - t

    say("stripping tests, sources, pyc and debug symbols")
    t = time.monotonic()
    stripped = StripResult()
    remove_unneeded(site, keep=frozenset(spec.keep), result=stripped)
    if spec.strip_binaries:
        strip_binaries(site, spec.architecture, result=stripped)
    else:
        stripped.tool = "off"
    notes.extend(stripped.notes)
    if spec.sdk_services:
        notes.append(prune_service_models(site, spec.sdk_services))
    timings["strip_s"] = time.monotonic() - t

    say("checking GLIBC symbol versions")
    t = time.monotonic()
    scan = scan_tree(site)
    owners = unpacked.owners
    check_scan(scan, glibc=platform.runtime.glibc, architecture=spec.architecture, runtime=spec.runtime,
               owner={rel: owners.get(rel.split("/", 1)[0], rel) for rel in scan.files})
    glibc_max = format_glibc(scan.max[:2]) if scan.files else "none"
    timings["glibc_s"] = time.monotonic() - t

    packages = {w.name: w.version for w in shipped}
    t = time.monotonic()
    verified = compile_and_verify(spec, site, platform.runtime.python, interpreter, interpreter_version,
                                  interpreter_source, {w.key for w in shipped}, say)
    notes.extend(verified.notes)
    pyc, smoke = verified.pyc, verified.smoke
    sizes = size_report(site, owners)
    sizes["raw_unzipped_bytes"] = unpacked.bytes
    check_budget(sizes, spec.size_budget_bytes)
    timings["smoke_s"] = time.monotonic() - t

    say("writing the deterministic zip")
    t = time.monotonic()
    entries = iter_tree(site, arc_prefix="python/", exclude_dirs=frozenset(), exclude_suffixes=())
    digest = write_deterministic_zip(entries, work / "layer.zip")
    timings["zip_s"] = time.monotonic() - t

    report: dict[str, Any] = {
        "builder_version": BUILDER_VERSION, "cache_key": key, "runtime": spec.runtime,
        "architecture": spec.architecture, "python_version": platform.runtime.python_version,
        "platform_tags": list(platform.tags), "requirements": list(spec.requirements),
        "resolution_cached": resolution_cached,
        "resolved": [{**asdict(w), "shipped": w.key not in excluded,
                      **({"left_out": excluded[w.key]} if w.key in excluded else {})} for w in resolved],
        "packages": packages,
        "sizes": {**sizes, "zipped_bytes": (work / "layer.zip").stat().st_size},
        "strip": {"removed": stripped.removed, "binaries_stripped": stripped.binaries_stripped,
                  "binaries_in_libs_kept": stripped.binaries_skipped_libs,
                  "binary_bytes_saved": stripped.binary_bytes_saved, "tool": stripped.tool},
        "glibc": {"max": glibc_max, "limit": platform.runtime.glibc_version, "worst_files": scan.worst(5),
                  "elf_files": len(scan.files)},
        "pyc": pyc,
        "smoke": asdict(smoke) | {"layer_modules": len(smoke.layer_modules)} if smoke else {"status": "skipped"},
        "provided_by": [str(p) for p in spec.provided_by],
        "owners": dict(sorted(owners.items())),
        "notes": notes, "timings": timings, "sha256": digest,
    }
    (work / "build.json").write_text(json.dumps({"sha256": digest, "report": report}, indent=1, sort_keys=True))
