"""Precompile a layer to ``unchecked-hash`` pyc: valid in a 1980-dated zip on a read-only ``/opt``.

Only an interpreter of the target's Python version can write its pyc; without one the layer ships without pyc
and the report says so. Modules are compiled in a fixed number of worker processes over a sorted list, so the
bytes do not depend on the machine's core count (marshal output depends on the compiling process's state).

Docstrings can be emptied (``""``, not removed: numpy's ``add_docstring`` insists on a str unless ``-OO``) in the
pyc of the modules the smoke test imports (``strip_docstrings``). Every such module is imported by the smoke
test, so a library that needs its docstrings at import time fails the build rather than the function. The
docstrings a library reads through ``pydoc.getdoc`` while the smoke test runs stay (``docstrings_read``): on an
empty docstring ``pydoc.getdoc`` parses the module's source looking for comments, which made ``import
scipy.stats`` 0.5 s slower than with the docstrings.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LAMBDA_SITE = "/opt/python"
"""Where Lambda unpacks a layer's ``python/``: the path baked into tracebacks of the pyc."""

WORKERS = 4
"""Fixed (not ``os.cpu_count()``) so that the same inputs give the same bytes on every machine."""

DOCSTRING_DEPENDENT = frozenset({"ply", "pycparser", "docopt", "click", "typer", "fire"})
"""Top-level packages that read docstrings at run time (grammars, CLIs): their docstrings are always kept."""

_COMPILER = r"""
import ast, importlib.util, json, os, sys
from importlib._bootstrap_external import _code_to_hash_pyc
site, prefix = sys.argv[1], sys.argv[2]
errors = []
count = 0
DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
def empty_docstring(node):
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body[0].value.value = ""
def strip_docstrings(tree, keep):
    # keep: qualnames ("<module>", "Cls", "Cls.meth", "f.<locals>.g") whose docstrings stay
    if "<module>" not in keep:
        empty_docstring(tree)
    todo = [(tree, "")]
    while todo:
        node, prefix = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, DEFS):
                qual = prefix + child.name
                if qual not in keep:
                    empty_docstring(child)
                todo.append((child, qual + ("." if isinstance(child, ast.ClassDef) else ".<locals>.")))
            else:
                todo.append((child, prefix))
    return tree
for rel, strip, keep in json.loads(sys.stdin.read()):
    path = os.path.join(site, rel)
    with open(path, "rb") as fh:
        source = fh.read()
    try:
        if strip:
            code = compile(strip_docstrings(ast.parse(source, filename=prefix + "/" + rel), set(keep)),
                           prefix + "/" + rel,
                           "exec", dont_inherit=True)
        else:
            code = compile(source, prefix + "/" + rel, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        errors.append("%s: %s" % (rel, exc))
        continue
    cfile = importlib.util.cache_from_source(path)
    os.makedirs(os.path.dirname(cfile), exist_ok=True)
    with open(cfile + ".tmp", "wb") as fh:
        fh.write(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))
    os.replace(cfile + ".tmp", cfile)
    count += 1
print(json.dumps({"compiled": count, "errors": errors}))
"""


def all_modules(site: Path) -> list[str]:
    """Every ``.py`` file below ``site`` as a sorted list of relative paths."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.py"))


def compile_modules(interpreter: str, site: Path, rels: list[str], *,
                    strip_docstrings_of: frozenset[str] = frozenset(),
                    docstrings_read: Mapping[str, Collection[str]] | None = None) -> tuple[int, list[str]]:
    """Compile ``rels`` (relative to ``site``) to unchecked-hash pyc with ``/opt/python`` as path prefix.

    Parameters
    ----------
    interpreter
        A Python of the target version (pyc are version specific).
    site, rels
        The layer's ``python/`` directory and the modules to compile.
    strip_docstrings_of
        Modules (relative paths) compiled without docstrings.
    docstrings_read
        Per module, qualnames (``"Cls.meth"``, ``"<module>"``) whose docstrings stay although the module is in
        ``strip_docstrings_of``: the ones the library reads at run time (:attr:`SmokeResult.doc_reads`).

    Returns
    -------
    tuple[int, list[str]]
        Number of pyc written and one message per module that could not be compiled.
    """
    ordered = sorted(set(rels))
    read = docstrings_read or {}
    jobs = [[rel, rel in strip_docstrings_of, sorted(read.get(rel, ()))] for rel in ordered]
    chunks = [jobs[i::WORKERS] for i in range(WORKERS)]

    def run(chunk: list[list[object]]) -> tuple[int, list[str]]:
        proc = subprocess.run([interpreter, "-I", "-c", _COMPILER, str(site), LAMBDA_SITE], input=json.dumps(chunk),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return 0, [f"compiler crashed: {proc.stderr.strip()[-500:]}"]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        return int(result["compiled"]), list(result["errors"])

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(run, [chunk for chunk in chunks if chunk]))
    return sum(n for n, _ in results), [e for _, errs in results for e in errs]


def docstring_safe(rel: str) -> bool:
    return rel.split("/", 1)[0].removesuffix(".py") not in DOCSTRING_DEPENDENT


def top_package(rel: str) -> str:
    """``"seaborn/_core/data.py"`` -> ``"seaborn"``; ``"six.py"`` -> ``"six"``."""
    return rel.split("/", 1)[0].removesuffix(".py")


def make_sourceless(interpreter: str, python: tuple[int, int], site: Path, *,
                    keep_source_of: frozenset[str] = DOCSTRING_DEPENDENT,
                    skip: frozenset[str] = frozenset()) -> dict[str, int]:
    """Replace every ``x.py`` below ``site`` by ``x.pyc`` (its unchecked-hash pyc; compiled now, docstrings
    kept, where none exists yet) and drop ``__pycache__``. Packages in ``keep_source_of`` keep their sources.

    Returns ``{"modules": n, "compiled": n, "source_bytes_removed": n}``.
    """
    rels = [rel for rel in all_modules(site) if top_package(rel) not in keep_source_of and rel not in skip]
    missing = [rel for rel in rels if not cache_path(site, rel, python).is_file()]
    compiled, errors = compile_modules(interpreter, site, missing) if missing else (0, [])
    failed = {e.split(":", 1)[0] for e in errors}
    removed = 0
    for rel in rels:
        if rel in failed or not cache_path(site, rel, python).is_file():
            continue  # not compilable for this version (e.g. a py2 example file): stays as source
        source = site / rel
        removed += source.stat().st_size
        os.replace(cache_path(site, rel, python), source.with_suffix(".pyc"))
        source.unlink()
    for pycache in sorted(site.rglob("__pycache__"), key=lambda p: -len(p.parts)):
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
    return {"modules": len(rels) - len(failed), "compiled": compiled, "source_bytes_removed": removed}


def cache_path(site: Path, rel: str, python: tuple[int, int]) -> Path:
    """Where CPython ``python`` looks for the pyc of ``rel``: ``__pycache__/<stem>.cpython-3X.pyc``."""
    source = site / rel
    return source.parent / "__pycache__" / f"{source.stem}.cpython-{python[0]}{python[1]}.pyc"
