"""Layer lock files: every distribution of a layer, resolved for its target platform, with the wheel's sha256.

A lock is a pip requirements file (``name==version --hash=sha256:...`` per distribution, ``# wheel:`` naming
the exact file) with a header recording what it was resolved from: the top-level requirements, runtime and
architecture. ``make lock`` writes one per stack layer; builds then fetch exactly those wheels with
``pip download --no-deps --require-hashes`` (or reuse them from the wheel store after checking the hash) and
never resolve again, so ``pulumi preview`` in a PR and ``pulumi up`` on main build the same bytes, whenever
and wherever they run.

Example
-------
>>> text = render(LayerLock(("numpy==2.2.6",), "python3.11", "x86_64", (
...     ResolvedWheel("numpy", "2.2.6", "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.whl", "ab" * 32),)))
>>> parse(text).wheels[0].version
'2.2.6'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components.bundling.archive import file_sha256
from components.bundling.cache import default_cache_dir
from components.bundling.errors import LayerBuildError
from components.bundling.platforms import Platform
from components.bundling.resolve import ResolvedWheel, resolve
from components.bundling.spec import LayerSpec, parse_requirements

LOCK_VERSION = 1
REGENERATE = "run `make lock` (python -m components.layer_locks) and commit the lock"
_HEADER = re.compile(r"^# (?P<key>[a-z-]+): (?P<value>.*)$")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+) \\$")
_HASH = re.compile(r"^\s+--hash=sha256:(?P<sha>[0-9a-f]{64})$")
_WHEEL = re.compile(r"^\s+# wheel: (?P<file>\S+\.whl)$")


@dataclass(frozen=True)
class LayerLock:
    """What one lock file says: the inputs it was resolved from and the exact wheels."""

    requirements: tuple[str, ...]
    runtime: str
    architecture: str
    wheels: tuple[ResolvedWheel, ...]

    def inputs(self) -> dict[str, object]:
        return lock_inputs(self.requirements, self.runtime, self.architecture)

    @property
    def digest(self) -> str:
        """sha256 of the resolved set (what the layer cache key and CI's cache key depend on)."""
        payload = [[w.key, w.version, w.filename, w.sha256] for w in sorted(self.wheels, key=lambda w: w.key)]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def lock_inputs(requirements: tuple[str, ...] | list[str], runtime: str, architecture: str) -> dict[str, object]:
    """What decides a resolution (index locations do not: the hashes pin the files)."""
    return {"requirements": sorted(str(r) for r in requirements), "runtime": runtime, "architecture": architecture}


def render(lock: LayerLock) -> str:
    """The lock file text (deterministic: same lock, same bytes)."""
    lines = [
        "# sciflow layer lock: fully resolved for the Lambda target with every wheel's sha256.",
        f"# Do not edit; {REGENERATE}.",
        f"# lock-version: {LOCK_VERSION}",
        f"# runtime: {lock.runtime}",
        f"# architecture: {lock.architecture}",
        f"# requirements: {json.dumps(sorted(lock.requirements))}",
    ]
    for wheel in sorted(lock.wheels, key=lambda w: w.key):
        lines += [f"{wheel.key}=={wheel.version} \\", f"    --hash=sha256:{wheel.sha256}",
                  f"    # wheel: {wheel.filename}"]
    return "\n".join(lines) + "\n"


def parse(text: str, source: str = "lock") -> LayerLock:
    """Read :func:`render`'s format back; errors name the file and line."""
    header: dict[str, str] = {}
    wheels: list[ResolvedWheel] = []
    pending: dict[str, str] = {}

    def finish(line_no: int) -> None:
        if not pending:
            return
        if "sha256" not in pending or "filename" not in pending:
            raise LayerBuildError(f"{source}:{line_no}: {pending['name']} has no hash or wheel line; {REGENERATE}",
                                  package=pending["name"], reason="bad-lock")
        wheels.append(ResolvedWheel(pending["name"], pending["version"], pending["filename"], pending["sha256"]))
        pending.clear()

    for number, line in enumerate(text.splitlines(), 1):
        if (match := _PIN.match(line)) is not None:
            finish(number)
            pending.update(name=match["name"], version=match["version"])
        elif (match := _HASH.match(line)) is not None and pending:
            pending["sha256"] = match["sha"]
        elif (match := _WHEEL.match(line)) is not None and pending:
            pending["filename"] = match["file"]
        elif (match := _HEADER.match(line)) is not None and not pending:
            header[match["key"]] = match["value"]
        elif line.strip() and not line.startswith("#"):
            raise LayerBuildError(f"{source}:{number}: unexpected line {line!r}; {REGENERATE}", reason="bad-lock")
    finish(len(text.splitlines()))
    missing = [k for k in ("lock-version", "runtime", "architecture", "requirements") if k not in header]
    if missing or not wheels:
        raise LayerBuildError(f"{source}: not a sciflow layer lock (missing {', '.join(missing) or 'wheels'}); "
                              f"{REGENERATE}", reason="bad-lock")
    if header["lock-version"] != str(LOCK_VERSION):
        raise LayerBuildError(f"{source}: lock format {header['lock-version']} (this sciflow reads {LOCK_VERSION}); "
                              f"{REGENERATE}", reason="bad-lock")
    return LayerLock(tuple(json.loads(header["requirements"])), header["runtime"], header["architecture"],
                     tuple(wheels))


def read_lock(path: Path, requirements: tuple[str, ...] | list[str], runtime: str, architecture: str) -> LayerLock:
    """The lock at ``path``, checked against what the layer asks for now.

    Raises
    ------
    LayerBuildError
        ``reason="missing-lock"`` or ``"stale-lock"`` naming the file and what changed.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LayerBuildError(f"{path}: no lock file for this layer; {REGENERATE}", reason="missing-lock") from None
    lock = parse(text, str(path))
    wanted = lock_inputs(requirements, runtime, architecture)
    have = lock.inputs()
    if have != wanted:
        changed = [f"{key} {have[key]} -> {wanted[key]}" for key in wanted if have[key] != wanted[key]]
        raise LayerBuildError(f"{path}: stale lock ({'; '.join(changed)}); {REGENERATE}", reason="stale-lock")
    return lock


def write_lock(path: Path, lock: LayerLock) -> bool:
    """Write ``lock`` atomically; returns whether the file changed."""
    text = render(lock)
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def resolve_lock(spec: LayerSpec, *, cache_dir: Path | None = None) -> LayerLock:
    """Ask pip afresh (never a cached resolution) which wheels ``spec`` needs on its platform; the lock to write.

    Every resolved distribution is locked, including those the layer leaves out (``exclude``, runtime
    packages), so the versions the build checks against other layers are pinned too.
    """
    requirements = tuple(str(r) for r in parse_requirements(spec.requirements))
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    resolution = resolve(list(requirements), spec.platform(), store=root / ".wheels", state_dir=root / ".resolve",
                         index_url=spec.index_url, find_links=spec.find_links, no_index=spec.no_index, refresh=True)
    return LayerLock(requirements, spec.runtime, spec.architecture, resolution.wheels)


_UPDATING: dict[Path, tuple[dict[str, object], str]] | None = None


@contextlib.contextmanager
def updating() -> Iterator[dict[Path, tuple[dict[str, object], str]]]:
    """Within the block, every locked build resolves afresh and rewrites its lock (what ``make lock`` does by
    running the stack's program); yields ``{path: (inputs, "written"|"unchanged")}``. Two layers that share a
    lock file but ask for different things are an error naming the file."""
    global _UPDATING
    saved, _UPDATING = _UPDATING, {}
    try:
        yield _UPDATING
    finally:
        _UPDATING = saved


def use_lock(spec: LayerSpec, requirements: tuple[str, ...], *, cache_dir: Path) -> LayerLock:
    """The lock a build installs from: ``spec.lock_file`` as it is, or (inside :func:`updating`) re-resolved."""
    assert spec.lock_file is not None
    path = Path(spec.lock_file)
    if _UPDATING is None:
        return read_lock(path, requirements, spec.runtime, spec.architecture)
    inputs = lock_inputs(requirements, spec.runtime, spec.architecture)
    if path in _UPDATING:
        if _UPDATING[path][0] != inputs:
            raise LayerBuildError(f"{path}: two layers share this lock but ask for different things "
                                  f"({_UPDATING[path][0]} and {inputs}); give one of them another name",
                                  reason="stale-lock")
        return read_lock(path, requirements, spec.runtime, spec.architecture)
    lock = resolve_lock(spec, cache_dir=cache_dir)
    _UPDATING[path] = (inputs, "written" if write_lock(path, lock) else "unchanged")
    return lock


def fetch_locked(lock: LayerLock, platform: Platform, store: Path, idx: list[str]) -> None:
    """Make every wheel of ``lock`` present in ``store`` with the locked sha256.

    Wheels already in the store are checked by hash and reused; the others are fetched by
    ``pip download --no-deps --require-hashes`` from the lock's own pins, so pip cannot pick anything else.
    """
    store.mkdir(parents=True, exist_ok=True)
    absent = [w for w in lock.wheels if not _stored(store, w)]
    if not absent:
        return
    with tempfile.TemporaryDirectory(prefix=".lock-", dir=store) as dest:
        requirements = Path(dest) / "requirements.txt"
        requirements.write_text("".join(f"{w.key}=={w.version} --hash=sha256:{w.sha256}\n" for w in absent))
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", "--no-deps", "--require-hashes", "--dest", dest, *platform.pip_args(),
               *idx, "-r", str(requirements)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise LayerBuildError(f"pip could not fetch the locked wheels ({', '.join(w.key for w in absent)}); "
                                  f"a hash mismatch means the index serves different files than when the lock "
                                  f"was made: {REGENERATE}", reason="pip", details=tail)
        by_sha = {file_sha256(p): p for p in Path(dest).glob("*.whl")}
        for wheel in absent:
            found = by_sha.get(wheel.sha256)
            if found is None:
                raise LayerBuildError(f"{wheel.key}: pip returned no wheel with the locked sha256 {wheel.sha256[:12]}…",
                                      package=wheel.key, reason="pip")
            os.replace(found, store / wheel.filename)


def _stored(store: Path, wheel: ResolvedWheel) -> bool:
    path = store / wheel.filename
    if not path.is_file():
        return False
    if file_sha256(path) == wheel.sha256:
        return True
    path.unlink()  # a corrupt or different file under the locked name: fetch it again
    return False

