"""Smoke test: a fresh interpreter with only the layer (and the layers it relies on) on ``sys.path``.

Imports every top-level package of the layer, then runs a small workload per known package (linear algebra,
a scipy.stats fit, a pandas groupby, a matplotlib PNG). Any exception fails the build with the traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.bundling.errors import LayerBuildError

WORKLOADS: dict[str, str] = {
    "numpy": (
        "import numpy as np\n"
        "a = np.random.default_rng(0).random((64, 64)) + 64 * np.eye(64)\n"
        "x = np.linalg.solve(a, np.ones(64))\n"
        "assert np.allclose(a @ x, 1.0), 'numpy.linalg.solve gave a wrong answer'\n"
    ),
    "scipy": (
        "import numpy as np, scipy.stats\n"
        "loc, scale = scipy.stats.norm.fit(np.random.default_rng(1).normal(3.0, 2.0, 2000))\n"
        "assert abs(loc - 3.0) < 0.2 and abs(scale - 2.0) < 0.2, (loc, scale)\n"
    ),
    "pandas": (
        "import pandas as pd\n"
        "df = pd.DataFrame({'k': ['a', 'b', 'a', 'b'], 'v': [1.0, 2.0, 3.0, 4.0]})\n"
        "means = df.groupby('k')['v'].mean()\n"
        "assert means.to_dict() == {'a': 2.0, 'b': 3.0}, means\n"
    ),
    "matplotlib": (
        "import io, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\nax.plot([0, 1, 2], [1, 0, 1])\nbuf = io.BytesIO()\n"
        "fig.savefig(buf, format='png')\nassert buf.getvalue()[:4] == b'\\x89PNG'\n"
    ),
}

_SCRIPT = r"""
import importlib, json, os, sys, time, traceback
cfg = json.loads(sys.stdin.read())
sys.path[:0] = cfg["paths"]
step = "setup"
doc_reads = set()
if cfg["doc_reads"]:
    import inspect, pydoc, types
    _getdoc = pydoc.getdoc
    def _where(obj):
        obj = getattr(obj, "fget", None) or obj
        try:
            obj = inspect.unwrap(obj)
        except Exception:
            pass
        if isinstance(obj, types.ModuleType):
            return getattr(obj, "__file__", None), "<module>"
        code = getattr(obj, "__code__", None)
        if code is not None:
            return code.co_filename, getattr(obj, "__qualname__", "")
        if isinstance(obj, type):
            return getattr(sys.modules.get(obj.__module__), "__file__", None), obj.__qualname__
        return None, ""
    def _recording_getdoc(obj):
        try:
            doc_reads.add(_where(obj))
        except Exception:
            pass
        return _getdoc(obj)
    pydoc.getdoc = _recording_getdoc
try:
    t0 = time.perf_counter()
    for name in cfg["imports"]:
        step = "import " + name
        importlib.import_module(name)
    import_s = time.perf_counter() - t0
    for name, code in cfg["workloads"]:
        step = "workload " + name
        exec(compile(code, "<smoke:%s>" % name, "exec"), {"__name__": "__main__"})
except BaseException:
    sys.stderr.write("smoke test failed at: %s\n" % step)
    traceback.print_exc()
    sys.exit(3)
site = cfg["paths"][0].rstrip("/") + "/"
files = sorted({m.__file__[len(site):] for m in list(sys.modules.values())
                if getattr(m, "__file__", None) and m.__file__.startswith(site) and m.__file__.endswith(".py")})
reads = sorted([f[len(site):], q] for f, q in doc_reads if f and f.startswith(site) and f.endswith(".py"))
print(json.dumps({"import_s": import_s, "layer_modules": files, "doc_reads": reads}))
"""


@dataclass
class SmokeResult:
    status: str
    imports: list[str] = field(default_factory=list)
    workloads: list[str] = field(default_factory=list)
    seconds: float = 0.0
    layer_modules: list[str] = field(default_factory=list)
    note: str = ""
    doc_reads: list[tuple[str, str]] = field(default_factory=list)
    """``(module, qualname)`` of the layer's objects whose docstrings ``pydoc.getdoc`` read (with
    ``record_doc_reads``): scipy builds its distribution docs that way at import, and on an emptied docstring
    ``pydoc.getdoc`` falls back to parsing the module's source for comments (0.5 s for ``import scipy.stats``)."""


def top_level_names(site: Path) -> list[str]:
    """Importable top-level packages and modules of an unpacked layer."""
    names: set[str] = set()
    for entry in site.iterdir():
        if entry.name.endswith((".dist-info", ".libs")) or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            if (entry / "__init__.py").exists() or any(entry.glob("*.py")) or any(entry.glob("*/__init__.py")):
                names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
        elif entry.suffix == ".so":
            names.add(entry.name.split(".", 1)[0])
    return sorted(n for n in names if n.isidentifier())


def run_smoke(interpreter: str, site: Path, *, provided_by: tuple[Path, ...] = (),
              extra_imports: tuple[str, ...] = (), packages: set[str] | None = None,
              workload_files: tuple[Path, ...] = (), record_doc_reads: bool = False) -> SmokeResult:
    """Run the smoke test; raise :class:`LayerBuildError` with the traceback when it fails.

    ``workload_files`` run after the built-in workloads (one per shipped package), each as ``__main__``.
    ``record_doc_reads`` fills :attr:`SmokeResult.doc_reads`.
    """
    imports = [*top_level_names(site), *(m for m in extra_imports if m not in top_level_names(site))]
    shipped = packages if packages is not None else set(imports)
    workloads = [(name, code) for name, code in WORKLOADS.items() if name in shipped]
    workloads += [(str(path), Path(path).read_text()) for path in workload_files]
    cfg = {"paths": [str(site), *(str(p) for p in provided_by)], "imports": imports, "workloads": workloads,
           "doc_reads": record_doc_reads}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sciflow-smoke-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": home, "LANG": "C.UTF-8", "TZ": "UTC"}
        proc = subprocess.run([interpreter, "-I", "-S", "-B", "-c", _SCRIPT], input=json.dumps(cfg),
                              capture_output=True, text=True, env=env, cwd=home, check=False, timeout=600)
    if proc.returncode != 0:
        tb = proc.stderr.strip()
        last = tb.splitlines()[-1] if tb else f"exit code {proc.returncode}"
        step = tb.splitlines()[0].removeprefix("smoke test failed at: ") if tb else "?"
        package = step.split(" ", 1)[-1].split(".")[0]
        raise LayerBuildError(f"{package}: smoke test failed at {step}: {last}", package=package,
                              reason="smoke", details=tb[-4000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return SmokeResult("passed", imports, [n for n, _ in workloads], time.monotonic() - started,
                       out["layer_modules"], doc_reads=[(rel, qual) for rel, qual in out["doc_reads"]])


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def blame_package(traceback_text: str, roots: tuple[str, ...]) -> str | None:
    """The top-level package of the innermost traceback frame below one of ``roots``, or ``None``.

    Example
    -------
    >>> blame_package('  File "/opt/python/seaborn/relational.py", line 9, in <module>', ("/opt/python",))
    'seaborn'
    """
    found = None
    for line in traceback_text.splitlines():
        match = _FRAME.match(line)
        if not match:
            continue
        for root in roots:
            prefix = root.rstrip("/") + "/"
            if match.group(1).startswith(prefix):
                top = match.group(1)[len(prefix):].split("/", 1)[0]
                found = top.removesuffix(".py").removesuffix(".pyc")
    return found
