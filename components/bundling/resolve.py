"""Resolve requirements to exact wheels for a Lambda platform with ``pip download`` (no Docker).

Wheels land in a content-addressed store shared by all layers; the resolution (name, version, file, sha256)
is cached per requirement set and platform so a warm rebuild needs neither pip nor the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from components.bundling.archive import file_sha256
from components.bundling.cache import locked
from components.bundling.errors import LayerBuildError
from components.bundling.platforms import Platform

RESOLVER_VERSION = "1"


@dataclass(frozen=True)
class ResolvedWheel:
    """One distribution of the resolved set."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass(frozen=True)
class Resolution:
    wheels: tuple[ResolvedWheel, ...]
    cached: bool
    seconds: float


def index_args(index_url: str | None, find_links: tuple[str, ...], no_index: bool) -> list[str]:
    args: list[str] = []
    if no_index:
        args.append("--no-index")
    if index_url:
        args += ["--index-url", index_url]
    for link in find_links:
        args += ["--find-links", str(link)]
    return args


def resolution_key(requirements: list[str], platform: Platform, idx: list[str]) -> str:
    """Hash of everything that decides which wheels pip picks."""
    payload = {"v": RESOLVER_VERSION, "requirements": sorted(requirements), "tags": list(platform.tags),
               "python": platform.runtime.python_version, "abi": platform.runtime.abi, "index": idx}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def resolve(requirements: list[str], platform: Platform, *, store: Path, state_dir: Path,
            index_url: str | None = None, find_links: tuple[str, ...] = (), no_index: bool = False,
            ttl_s: float | None = None, refresh: bool = False) -> Resolution:
    """Resolve ``requirements`` to wheels for ``platform``; every wheel ends up in ``store``.

    Raises
    ------
    LayerBuildError
        Naming the package when it is unknown, has no wheel for the platform, or the pins conflict.
    """
    started = time.monotonic()
    idx = index_args(index_url, find_links, no_index)
    key = resolution_key(requirements, platform, idx)
    state_dir.mkdir(parents=True, exist_ok=True)
    store.mkdir(parents=True, exist_ok=True)
    record = state_dir / f"{key}.json"
    with locked(state_dir / f"{key}.lock"):
        if not refresh:
            wheels = _load_record(record, store, ttl_s)
            if wheels is not None:
                return Resolution(wheels, True, time.monotonic() - started)
        wheels = _pip_download(requirements, platform, idx, store)
        tmp = record.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"created": time.time(), "requirements": requirements,
                                   "wheels": [asdict(w) for w in wheels]}, indent=1, sort_keys=True))
        os.replace(tmp, record)
    return Resolution(wheels, False, time.monotonic() - started)


def _load_record(record: Path, store: Path, ttl_s: float | None) -> tuple[ResolvedWheel, ...] | None:
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    if ttl_s is not None and time.time() - float(data.get("created", 0)) > ttl_s:
        return None
    wheels = tuple(ResolvedWheel(**w) for w in data["wheels"])
    if not all((store / w.filename).is_file() for w in wheels):
        return None
    return wheels


def _pip_download(requirements: list[str], platform: Platform, idx: list[str],
                  store: Path) -> tuple[ResolvedWheel, ...]:
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=store) as dest:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "--dest", dest, *platform.pip_args(), *idx, *requirements]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise explain_pip_failure(proc.stdout + proc.stderr, requirements, platform, idx)
        wheels = []
        for path in sorted(Path(dest).iterdir()):
            if path.suffix != ".whl":
                raise LayerBuildError(f"{path.name}: pip returned a non-wheel file", package=path.name,
                                      reason="no-wheel")
            name, version, _build, _tags = parse_wheel_filename(path.name)
            digest = file_sha256(path)
            target = store / path.name
            if not target.exists() or file_sha256(target) != digest:
                os.replace(path, target)
            wheels.append(ResolvedWheel(str(name), str(version), path.name, digest))
    return tuple(sorted(wheels, key=lambda w: w.key))


_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)"
                         r"(?: \(from versions: ([^)]*)\))?")
_CONFLICT = re.compile(r"ResolutionImpossible|conflicting dependencies|Cannot install")


def explain_pip_failure(output: str, requirements: list[str], platform: Platform,
                        idx: list[str]) -> LayerBuildError:
    """Turn pip's output into one :class:`LayerBuildError` naming the package and the reason."""
    tail = "\n".join(output.strip().splitlines()[-15:])
    match = _NO_VERSION.search(output)
    if match:
        requirement = match.group(1)
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        compatible = [v.strip() for v in (match.group(2) or "").split(",") if v.strip() and v.strip() != "none"]
        available = index_versions(name, idx)
        if available is None:
            return LayerBuildError(f"{requirement}: unknown package (not found on the package index)",
                                   package=name, reason="unknown-package", details=tail)
        if not compatible:
            return LayerBuildError(
                f"{requirement}: no wheel for {platform.describe()}; the index only has source "
                f"distributions or wheels for other platforms (versions on the index: "
                f"{', '.join(available[:5]) or 'none'}). Building from source needs Docker, which "
                "sciflow deliberately avoids", package=name, reason="no-wheel", details=tail)
        return LayerBuildError(
            f"{requirement}: no wheel for {platform.describe()}; newest compatible version is {compatible[-1]} "
            f"(newest on the index: {available[0] if available else '?'}). Pin {name}<={compatible[-1]} or use "
            "a newer runtime (python3.12+ runs on glibc 2.34)", package=name, reason="no-wheel", details=tail)
    if _CONFLICT.search(output):
        caused = re.findall(r"^\s+(\S+ \S+ depends on .+|The user requested .+)$", output, flags=re.M)
        names = re.findall(r"Cannot install (.+?) because", output)
        who = names[0] if names else ", ".join(requirements)
        return LayerBuildError(f"{who}: conflicting requirements ({'; '.join(caused) or 'see pip output'})",
                               package=who, reason="conflict", details=tail)
    return LayerBuildError(f"pip download failed for {', '.join(requirements)}", reason="pip", details=tail)


def index_versions(name: str, idx: list[str]) -> list[str] | None:
    """Versions of ``name`` on the index for any platform (newest first), or ``None`` when it is unknown."""
    proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "--disable-pip-version-check",
                           "--no-input", *idx, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    match = re.search(r"Available versions: (.*)", proc.stdout)
    return [v.strip() for v in match.group(1).split(",")] if match else []


def remove_store_orphans(store: Path) -> None:
    """Remove download directories left by killed processes (older than an hour)."""
    for path in store.glob(".dl-*"):
        if time.time() - path.stat().st_mtime > 3600:
            shutil.rmtree(path, ignore_errors=True)
