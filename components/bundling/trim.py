"""Workload-traced trimming: one function's layers, cut down to what its own workload loads, and verified.

Lambda's 262,144,000-byte limit counts a function's code plus *all* its layers, so fitting is a per-function
question. :func:`trim_layers` copies the function's layers (attach order), runs the function's workload in a fresh
interpreter with only those copies on ``sys.path`` while recording every file it opens (``sys.addaudithook``:
the import system opens each ``.py``/``.pyc`` through ``io.open_code``) and every shared object mapped into the
process (``/proc/self/maps``), and then removes, per rule:

``untraced-module``
    Python modules (``.py``, their pyc, sourceless ``.pyc``) the workload never imported.
``untraced-extension``
    Extension modules (``.so``) it never loaded.
``unneeded-library``
    Vendored libraries (``*.libs/``) neither mapped nor needed (``DT_NEEDED``, read with pyelftools) by a kept
    extension module.

Every removed module is replaced by a stub that raises ``ImportError`` naming the rule and the way back (``keep``),
one stub per removed subtree. Data files, ``*.dist-info`` and :data:`GUARD` (modules that libraries load lazily
on paths a small workload rarely takes) are kept. The result is verified: the workload runs again on the trimmed
copies in a fresh ``-I -S`` interpreter with only them on ``sys.path``, and every stub is imported and must raise
its ``ImportError``. Trimmed layers are cached like builds (content-hash key, atomic publication).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from components.bundling.archive import file_sha256, iter_tree, source_code_hash, write_deterministic_zip
from components.bundling.cache import BuildDir, cache_key, default_cache_dir, locked
from components.bundling.errors import LayerBuildError
from components.bundling.interpreters import find_interpreter, search_summary
from components.bundling.platforms import LAMBDA_UNZIPPED_LIMIT
from components.bundling.pyc import DOCSTRING_DEPENDENT, make_sourceless
from components.bundling.report import check_budget, format_contributors, size_report
from components.bundling.spec import LayerBuild, LayerSpec
from components.bundling.wheels import installed_owners

TRIM_VERSION = "1"
"""Bump when a rule changes what is removed: it invalidates every cached trim."""

GUARD: tuple[str, ...] = (
    # joblib's process/thread backends load only when n_jobs != 1 (sklearn's parallel paths)
    "joblib/",
    # DataFrame/Series repr and to_string, used by logging and error messages
    "pandas/io/formats/",
    # matplotlib picks a backend at draw time; Agg is the headless one, pyplot imports the template lazily
    "matplotlib/backends/backend_agg", "matplotlib/backends/_backend_agg", "matplotlib/backends/backend_template",
    # numpy's ctypes bridge and its pickling support load on demand
    "numpy/_core/_dtype_ctypes", "numpy/_core/_internal", "numpy/_pickle",
)
"""Path prefixes (relative to a layer's ``python/``) never trimmed although a workload may not load them."""

RULES = ("untraced-module", "untraced-extension", "unneeded-library")

_STUB = "raise ImportError({message!r}, name={module!r})\n"
_STUB_MARK = b"# sciflow trim stub "

_TRACER = r"""
import json, os, sys
cfg = json.loads(sys.stdin.read())
roots = [os.path.realpath(p) + os.sep for p in cfg["paths"]]
sys.path[:0] = cfg["paths"]
opened = set()
def _hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if any(path.startswith(r) for r in roots):
            opened.add(path)
        else:
            real = os.path.realpath(path)
            if any(real.startswith(r) for r in roots):
                opened.add(real)
sys.addaudithook(_hook)
for path in cfg["workloads"]:
    with open(path) as fh:
        code = compile(fh.read(), path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path})
for line in open("/proc/self/maps"):
    parts = line.split()
    if len(parts) >= 6 and any(parts[5].startswith(r) for r in roots):
        opened.add(parts[5])
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path and any(os.path.realpath(path).startswith(r) for r in roots):
        opened.add(os.path.realpath(path))
print(json.dumps({"loaded": sorted(opened), "site_packages": [p for p in sys.path if "site-packages" in p]}))
"""

_STUB_CHECK = r"""
import importlib, json, sys
cfg = json.loads(sys.stdin.read())
sys.path[:0] = cfg["paths"]
bad = []
for module, rule in cfg["stubs"]:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if rule not in str(exc):
            bad.append("%s: %s" % (module, exc))
    else:
        bad.append("%s: imported without error" % module)
print(json.dumps(bad))
"""


@dataclass(frozen=True)
class TrimSpec:
    """One function's layers (attach order), its workload and the trimming options.

    Parameters
    ----------
    layers
        The built layers the function attaches, in attach order.
    workloads
        Python files that exercise the function (its smoke test); each runs as ``__main__``.
    function
        The function's name, used in messages and errors.
    code_bytes
        The function's own code, unzipped (counted in the budget).
    keep
        Extra modules (``scipy.io``) or path prefixes (``scipy/io/``) never to trim, added to :data:`GUARD`.
    sourceless
        Also replace the kept ``.py`` files by their pyc (see ``LayerSpec.sourceless``).
    budget_bytes
        The function's budget: all layers plus ``code_bytes`` (never above Lambda's 262,144,000).
    python
        The runtime's Python version; the workload runs on a local interpreter of that version.
    names
        Names of the layers (messages and the report); defaults to ``layer1``, ``layer2`` ...
    provided_by
        Unzipped layers the function also attaches that are not trimmed here (on ``sys.path`` after
        ``layers`` while the workload and the stub check run).
    """

    layers: tuple[LayerBuild, ...]
    workloads: tuple[Path, ...]
    function: str = "function"
    code_bytes: int = 0
    keep: tuple[str, ...] = ()
    sourceless: bool = False
    budget_bytes: int = LAMBDA_UNZIPPED_LIMIT
    python: tuple[int, int] = (3, 11)
    names: tuple[str, ...] = ()
    provided_by: tuple[Path, ...] = ()

    def layer_names(self) -> list[str]:
        return list(self.names) if self.names else [f"layer{i + 1}" for i in range(len(self.layers))]


@dataclass(frozen=True)
class TrimmedLayer:
    name: str
    zip_path: Path
    site_dir: Path
    sha256: str
    unzipped_bytes: int
    zipped_bytes: int
    source_unzipped_bytes: int
    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    stubs: int = 0


@dataclass(frozen=True)
class TrimResult:
    layers: tuple[TrimmedLayer, ...]
    total_unzipped_bytes: int
    workload_ok: bool
    cached: bool
    report: dict[str, Any]

    @property
    def layer_dirs(self) -> list[Path]:
        return [layer.site_dir for layer in self.layers]


def trim_layers(spec: TrimSpec, *, cache_dir: Path | None = None,
                progress: Callable[[str], None] | None = None) -> TrimResult:
    """Trim ``spec.layers`` to what ``spec.workloads`` load, verify, zip, and check the function's budget.

    Raises
    ------
    LayerBuildError
        When no local interpreter of the runtime's version exists, the workload fails (before or after
        trimming: the message says which), a stub does not raise, or the function is over its budget
        (naming the top contributors and what would fit).
    """
    say = progress or (lambda _msg: None)
    if not spec.layers or not spec.workloads:
        raise LayerBuildError(f"function {spec.function!r}: trimming needs layers and a workload",
                              reason="bad-option")
    found = find_interpreter(spec.python)
    if found is None:
        raise LayerBuildError(f"function {spec.function!r}: trimming runs the workload, but "
                              f"{search_summary(spec.python)}", reason="no-interpreter")
    root = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "trimmed"
    key = cache_key({"trim": TRIM_VERSION, "layers": [b.sha256 for b in spec.layers],
                     "workloads": [file_sha256(Path(w)) for w in spec.workloads], "keep": sorted(spec.keep),
                     "guard": list(GUARD), "sourceless": spec.sourceless, "interpreter": found.version,
                     "names": spec.layer_names(),
                     **({"provided_by": [str(p) for p in spec.provided_by]} if spec.provided_by else {})})
    result = _load(root / key, cached=True)
    if result is None:
        with locked(root / ".locks" / f"{key}.lock"):
            result = _load(root / key, cached=True)
            if result is None:
                work = BuildDir(root, key)
                try:
                    _trim_into(work.path, spec, found.path, say, root.parent / ".wheels")
                    work.publish()
                except BaseException:
                    work.discard()
                    raise
                result = _load(root / key, cached=False)
                assert result is not None
    sizes = result.report["sizes"]
    check_budget({"unzipped_bytes": result.total_unzipped_bytes, "per_package": sizes["per_package"],
                  "per_kind": sizes["per_kind"]}, spec.budget_bytes,
                 what=f"function {spec.function!r} ({len(spec.layers)} layers + code, trimmed)")
    say(f"function {spec.function}: {result.total_unzipped_bytes:,} bytes unzipped (layers + code, trimmed); "
        f"top contributors: {format_contributors(sizes['per_package'])}{' (cached)' if result.cached else ''}")
    return result


def _load(final: Path, *, cached: bool) -> TrimResult | None:
    record = final / "trim.json"
    if not record.is_file():
        return None
    report = json.loads(record.read_text())
    layers = []
    for entry in report["layers"]:
        zip_path = final / entry["dir"] / "layer.zip"
        if not zip_path.is_file() or file_sha256(zip_path) != entry["sha256"]:
            shutil.rmtree(final, ignore_errors=True)
            return None
        layers.append(TrimmedLayer(entry["name"], zip_path, final / entry["dir"] / "python", entry["sha256"],
                                   entry["unzipped_bytes"], zip_path.stat().st_size, entry["source_unzipped_bytes"],
                                   entry["removed"], entry["stubs"]))
    report["cached"] = cached
    return TrimResult(tuple(layers), report["total_unzipped_bytes"], report["workload_ok"], cached, report)


def layer_owners(build: LayerBuild, site: Path, store: Path) -> dict[str, str]:
    """``{top-level name: distribution}`` for a layer: its build record, else the wheels it was built from (in
    the cache's wheel store), else what its ``*.dist-info`` say."""
    owners = installed_owners(site)
    for wheel in build.report.get("resolved", []):
        path = store / str(wheel.get("filename", ""))
        if wheel.get("shipped", True) and path.is_file():
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    top = name.split("/", 1)[0]
                    if not top.endswith(".data"):
                        owners[top] = str(wheel["name"])
    owners.update(build.report.get("owners", {}))
    return owners


def _trim_into(work: Path, spec: TrimSpec, interpreter: str, say: Callable[[str], None], store: Path) -> None:
    started = time.monotonic()
    names = spec.layer_names()
    sites = []
    for i, build in enumerate(spec.layers):
        site = work / f"layer{i + 1}" / "python"
        say(f"copying layer {names[i]}")
        shutil.copytree(build.site_dir, site, symlinks=True)
        sites.append(site)
    say("tracing the workload (imports, opened files, mapped libraries)")
    provided = [Path(p) for p in spec.provided_by]
    loaded = trace(interpreter, [*sites, *provided], spec.workloads, stage="before trimming")
    keep_prefixes = (*GUARD, *(_as_prefix(k) for k in spec.keep))
    layers_report = []
    all_stubs: list[tuple[str, str]] = []
    for i, site in enumerate(sites):
        plan = plan_removals(site, {p for p in loaded if _under(p, site)}, keep_prefixes)
        stubs = apply_plan(site, plan)
        all_stubs += [(module, rule) for module, rule in stubs]
        layers_report.append({"name": names[i], "dir": f"layer{i + 1}", "removed": plan.stats(), "stubs": len(stubs),
                              "source_unzipped_bytes": spec.layers[i].unzipped_bytes})
    if spec.sourceless:
        say("replacing the kept sources by their pyc (sourceless)")
        for i, site in enumerate(sites):
            layers_report[i]["sourceless"] = make_sourceless(
                interpreter, spec.python, site, keep_source_of=DOCSTRING_DEPENDENT, skip=_stub_files(site))
    say("verifying: the workload on the trimmed layers, then every stub")
    trace(interpreter, [*sites, *provided], spec.workloads, stage="after trimming")
    check_stubs(interpreter, [*sites, *provided], all_stubs)
    per_package: dict[str, int] = {}
    per_kind: dict[str, int] = {}
    total = spec.code_bytes
    for i, site in enumerate(sites):
        sizes = size_report(site, layer_owners(spec.layers[i], site, store))
        for name, size in sizes["per_package"].items():
            per_package[name] = per_package.get(name, 0) + size
        for kind, size in sizes["per_kind"].items():
            per_kind[kind] = per_kind.get(kind, 0) + size
        say(f"zipping trimmed layer {names[i]}")
        digest = write_deterministic_zip(iter_tree(site, arc_prefix="python/", exclude_dirs=frozenset(),
                                                   exclude_suffixes=()), site.parent / "layer.zip")
        layers_report[i].update(sha256=digest, unzipped_bytes=sizes["unzipped_bytes"], per_package=sizes["per_package"])
        total += sizes["unzipped_bytes"]
    report = {"function": spec.function, "trim_version": TRIM_VERSION, "layers": layers_report,
              "code_bytes": spec.code_bytes, "total_unzipped_bytes": total, "workload_ok": True,
              "workloads": [str(w) for w in spec.workloads], "guard": list(GUARD), "keep": list(spec.keep),
              "sizes": {"per_package": dict(sorted(per_package.items())), "per_kind": per_kind},
              "seconds": round(time.monotonic() - started, 1)}
    (work / "trim.json").write_text(json.dumps(report, indent=1, sort_keys=True))


def _under(path: str, site: Path) -> bool:
    return path.startswith(str(site) + os.sep)


def _as_prefix(keep: str) -> str:
    """``"scipy.io"`` -> ``"scipy/io"`` (a module or package); a path prefix stays as it is."""
    return keep if "/" in keep else keep.replace(".", "/")


def trace(interpreter: str, sites: list[Path], workloads: tuple[Path, ...], *, stage: str) -> set[str]:
    """Run the workloads with only ``sites`` on ``sys.path`` (``-I -S``: no site-packages); the absolute paths of
    every layer file they opened or mapped. Raises :class:`LayerBuildError` naming ``stage`` on failure."""
    cfg = {"paths": [str(s) for s in sites], "workloads": [str(Path(w).resolve()) for w in workloads]}
    with tempfile.TemporaryDirectory(prefix="sciflow-trim-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": home, "LANG": "C.UTF-8", "TZ": "UTC", "OPENBLAS_NUM_THREADS": "1"}
        proc = subprocess.run([interpreter, "-I", "-S", "-B", "-c", _TRACER], input=json.dumps(cfg),
                              capture_output=True, text=True, env=env, cwd=home, check=False, timeout=900)
    if proc.returncode != 0:
        tb = proc.stderr.strip()
        last = tb.splitlines()[-1] if tb else f"exit code {proc.returncode}"
        hint = (" (a trimmed module the workload needs raised this: add it to keep)" if stage == "after trimming"
                else "")
        raise LayerBuildError(f"workload failed {stage}: {last}{hint}", reason="workload", details=tb[-4000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["site_packages"]:
        raise LayerBuildError(f"workload ran with site-packages on sys.path: {out['site_packages']}",
                              reason="workload")
    return set(out["loaded"])


@dataclass
class Plan:
    """What to remove from one layer: ``removed[rel] = rule``; ``stubs[module] = (stub rel, rule)``."""

    removed: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    stubs: dict[str, tuple[str, str]] = field(default_factory=dict)

    def stats(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for rel, rule in self.removed.items():
            entry = out.setdefault(rule, {"files": 0, "bytes": 0})
            entry["files"] += 1
            entry["bytes"] += self.sizes[rel]
        return dict(sorted(out.items()))


_EXT = re.compile(r"\.(cpython-\d+[^.]*|abi3)?\.?so$")


def module_of(rel: str) -> tuple[str, bool] | None:
    """``(dotted module name, is_package)`` for a module file, ``None`` for anything else.

    Example
    -------
    >>> module_of("scipy/io/__init__.py"), module_of("scipy/_lib/_ccallback_c.cpython-311-x86_64-linux-gnu.so")
    (('scipy.io', True), ('scipy._lib._ccallback_c', False))
    """
    path = PurePosixPath(rel)
    if "__pycache__" in path.parts or path.parts[0].endswith((".dist-info", ".libs")):
        return None
    name = path.name
    if name.endswith((".py", ".pyc")):
        stem = name.rsplit(".", 1)[0]
    elif name.endswith(".so") and ".so" in name:
        stem = name.split(".", 1)[0]
    else:
        return None
    if not all(part.isidentifier() for part in (*path.parts[:-1], stem)):
        return None
    if stem == "__init__":
        return ".".join(path.parts[:-1]), True
    return ".".join((*path.parts[:-1], stem)), False


def _pyc_of(rel: str) -> str:
    path = PurePosixPath(rel)
    return str(path.parent / "__pycache__" / (path.name.rsplit(".", 1)[0]))


def plan_removals(site: Path, loaded: set[str], keep_prefixes: tuple[str, ...]) -> Plan:
    """Decide what to remove from ``site`` given the absolute paths the workload ``loaded``."""
    plan = Plan()
    loaded_rel = {Path(p).relative_to(site).as_posix() for p in loaded}
    # a loaded __pycache__/x.cpython-3X.pyc means x.py was imported (its source was never opened)
    for rel in list(loaded_rel):
        parts = PurePosixPath(rel)
        if parts.parent.name == "__pycache__":
            loaded_rel.add(str(parts.parent.parent / (parts.name.split(".", 1)[0] + ".py")))
    kept_elf: list[Path] = []
    libs: list[str] = []
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            rel = path.relative_to(site).as_posix()
            if PurePosixPath(rel).parent.name == "__pycache__":
                continue  # follows its module
            is_lib = any(p.endswith(".libs") for p in PurePosixPath(rel).parts[:-1])
            if is_lib:
                libs.append(rel)
                continue
            module = module_of(rel)
            if module is None or rel in loaded_rel or rel.startswith(keep_prefixes):
                if ".so" in filename and _is_elf(path):
                    kept_elf.append(path)
                continue
            rule = "untraced-extension" if filename.endswith(".so") else "untraced-module"
            plan.removed[rel] = rule
            plan.sizes[rel] = path.stat().st_size
            pyc_dir = path.parent / "__pycache__"
            if filename.endswith(".py") and pyc_dir.is_dir():
                for pyc in sorted(pyc_dir.glob(filename[:-3] + ".*.pyc")):
                    pyc_rel = pyc.relative_to(site).as_posix()
                    plan.removed[pyc_rel] = rule
                    plan.sizes[pyc_rel] = pyc.stat().st_size
            name, is_package = module
            plan.stubs.setdefault(name, (_stub_rel(rel, is_package), rule))
    needed = needed_libraries(kept_elf, {PurePosixPath(rel).name: site / rel for rel in libs})
    for rel in libs:
        path = site / rel
        if rel in loaded_rel or PurePosixPath(rel).name in needed or rel.startswith(keep_prefixes):
            continue
        plan.removed[rel] = "unneeded-library"
        plan.sizes[rel] = path.stat().st_size
    # one stub per removed subtree: a module whose parent package is stubbed needs none
    stubbed = set(plan.stubs)
    plan.stubs = {m: s for m, s in plan.stubs.items() if not _has_stubbed_parent(m, stubbed)}
    return plan


def _stub_rel(rel: str, is_package: bool) -> str:
    path = PurePosixPath(rel)
    if is_package:
        return str(path.parent / "__init__.py")
    return str(path.parent / (path.name.split(".", 1)[0] + ".py"))


def _has_stubbed_parent(module: str, stubbed: set[str]) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:i]) in stubbed for i in range(1, len(parts)))


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def needed_libraries(elves: list[Path], libraries: dict[str, Path]) -> set[str]:
    """File names in ``DT_NEEDED`` of ``elves`` and, transitively, of the vendored ``libraries`` they name."""
    needed: set[str] = set()
    queue = list(elves)
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, "rb") as fh:
                for section in ELFFile(fh).iter_sections():
                    if isinstance(section, DynamicSection):
                        for tag in section.iter_tags():
                            if tag.entry.d_tag == "DT_NEEDED":
                                name = str(getattr(tag, "needed", ""))
                                needed.add(name)
                                if name in libraries:
                                    queue.append(libraries[name])
        except (ELFError, OSError):
            continue
    return needed


def apply_plan(site: Path, plan: Plan) -> list[tuple[str, str]]:
    """Remove ``plan.removed``, write the stubs, drop empty directories; ``[(module, rule)]`` of the stubs."""
    for rel in plan.removed:
        (site / rel).unlink()
    stubs = []
    for module, (rel, rule) in sorted(plan.stubs.items()):
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        message = (f"{module} was removed from this layer by sciflow's trim rule '{rule}' (the function's workload "
                   f"never loaded it); add {module!r} to the function's trim keep list, or exercise it in the "
                   "workload")
        target.write_text(f"{_STUB_MARK.decode()}({rule})\n" + _STUB.format(message=message, module=module))
        stubs.append((module, rule))
    for dirpath, _dirnames, _filenames in sorted(os.walk(site), key=lambda w: -len(w[0])):
        if dirpath != str(site) and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return stubs


def _stub_files(site: Path) -> frozenset[str]:
    """Relative paths of the trim stubs below ``site`` (they stay readable sources)."""
    out = set()
    for path in site.rglob("*.py"):
        with open(path, "rb") as fh:
            if fh.read(len(_STUB_MARK)) == _STUB_MARK:
                out.add(path.relative_to(site).as_posix())
    return frozenset(out)


def check_stubs(interpreter: str, sites: list[Path], stubs: list[tuple[str, str]]) -> None:
    """Import every stubbed module in a fresh interpreter: each must raise ImportError naming its rule."""
    if not stubs:
        return
    cfg = {"paths": [str(s) for s in sites], "stubs": stubs}
    with tempfile.TemporaryDirectory(prefix="sciflow-trim-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": home, "OPENBLAS_NUM_THREADS": "1"}
        proc = subprocess.run([interpreter, "-I", "-S", "-B", "-c", _STUB_CHECK], input=json.dumps(cfg),
                              capture_output=True, text=True, env=env, cwd=home, check=False, timeout=900)
    if proc.returncode != 0:
        raise LayerBuildError(f"stub check crashed: {proc.stderr.strip().splitlines()[-1:]}", reason="trim",
                              details=proc.stderr[-4000:])
    bad = json.loads(proc.stdout.strip().splitlines()[-1])
    if bad:
        raise LayerBuildError(f"{len(bad)} trimmed modules do not raise the trim ImportError, e.g. {bad[0]}",
                              reason="trim")


def trim_layer(build: LayerBuild, spec: LayerSpec, workloads: tuple[Path, ...], *, keep: tuple[str, ...] = (),
               cache_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> LayerBuild:
    """One layer (built from ``spec``) trimmed against ``workloads``, with ``spec.provided_by`` on ``sys.path``
    and ``spec.size_budget_bytes`` as its budget: what the CLI's ``--trim`` and ``LayerBundleArgs.trim`` publish."""
    for workload in workloads:
        if not Path(workload).is_file():
            raise LayerBuildError(f"trim: workload {workload} is not a file", reason="bad-option")
    name = spec.name or "layer"
    try:
        result = trim_layers(TrimSpec((build,), tuple(workloads), function=f"layer {name}", keep=keep,
                                      sourceless=spec.sourceless, budget_bytes=spec.size_budget_bytes,
                                      python=spec.platform().runtime.python, names=(name,),
                                      provided_by=tuple(spec.provided_by)), cache_dir=cache_dir, progress=progress)
    except LayerBuildError as exc:
        raise exc.for_layer(spec.name) from None
    return trimmed_build(build, result)


def trimmed_build(build: LayerBuild, result: TrimResult, index: int = 0) -> LayerBuild:
    """``build`` as trimmed in ``result`` (its ``index``-th layer): the zip, sizes and site to publish and attach;
    the report keeps the build's record and adds ``trim`` (rules, stubs, workloads)."""
    layer, entry = result.layers[index], result.report["layers"][index]
    sizes = {"unzipped_bytes": layer.unzipped_bytes, "per_package": entry["per_package"]}
    removed = sum(stats["bytes"] for stats in layer.removed.values())
    note = (f"trimmed against {', '.join(Path(w).name for w in result.report['workloads'])}: "
            f"{removed:,} bytes removed, {layer.stubs} ImportError stubs, verified by the workload")
    return replace(build, zip_path=layer.zip_path, sha256=layer.sha256, source_code_hash=source_code_hash(layer.sha256),
                   unzipped_bytes=layer.unzipped_bytes, zipped_bytes=layer.zipped_bytes, site_dir=layer.site_dir,
                   report={**build.report, "sizes": sizes, "trim": {**entry, "workloads": result.report["workloads"],
                                                                      "keep": result.report["keep"]}},
                   notes=(*build.notes, note))


def result_summary(result: TrimResult) -> dict[str, Any]:
    """The JSON-friendly summary used by benchmarks and the CLI."""
    return {"total_unzipped_bytes": result.total_unzipped_bytes, "workload_ok": result.workload_ok,
            "layer_dirs": [str(p) for p in result.layer_dirs],
            "layers": [asdict(layer) | {"zip_path": str(layer.zip_path), "site_dir": str(layer.site_dir)}
                       for layer in result.layers]}
