"""pyc and the smoke test of one layer: record what the smoke test imports, compile it, verify the result.

Order: (1) a smoke run on the sources records the modules it imports and the docstrings read through
``pydoc.getdoc``; (2) those modules are compiled to unchecked-hash pyc, without docstrings where allowed (the
docstrings read stay); (3) the smoke test runs again on the compiled layer. When (3) fails in a
package whose docstrings were stripped, that package is recompiled with its docstrings and (3) runs again: a
note names the package and the option that skips the retry (``keep_docstrings``). (4) With ``sourceless`` the
sources are replaced by their pyc and the smoke test runs a last time.

Without a local interpreter of the runtime's version nothing can be compiled or run, and the notes say where
the interpreter was looked for. A layer for another architecture gets pyc for every module (pyc are
architecture independent) with docstrings kept, because no smoke test can verify them here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.bundling.errors import LayerBuildError
from components.bundling.interpreters import host_architecture, search_summary
from components.bundling.pyc import (
    DOCSTRING_DEPENDENT,
    LAMBDA_SITE,
    all_modules,
    compile_modules,
    docstring_safe,
    make_sourceless,
    top_package,
)
from components.bundling.smoke import SmokeResult, blame_package, run_smoke
from components.bundling.spec import LayerSpec


@dataclass
class Verified:
    pyc: dict[str, Any]
    smoke: SmokeResult | None
    notes: list[str] = field(default_factory=list)


def compile_and_verify(spec: LayerSpec, site: Path, python: tuple[int, int], interpreter: str | None,
                       interpreter_version: str | None, interpreter_source: str | None, shipped: set[str],
                       say: Callable[[str], None]) -> Verified:
    """Compile ``site``'s pyc per ``spec`` and run the smoke test; raise :class:`LayerBuildError` on failure."""
    version = f"{python[0]}.{python[1]}"
    pyc: dict[str, Any] = {"mode": spec.pyc, "interpreter": interpreter_version, "interpreter_source":
                           interpreter_source, "compiled": 0, "errors": [], "docstrings_stripped": 0,
                           "docstrings_read_at_import": 0, "docstrings_kept_for": [], "sourceless": None}
    out = Verified(pyc, None)
    if interpreter is None:
        if spec.pyc != "none":
            pyc["mode"] = "none"
            out.notes.append(f"{search_summary(python)}: layer ships without pyc "
                             "(every cold start compiles the imported modules)")
        out.notes.append(f"smoke test skipped: no local python{version}")
        if spec.sourceless:
            raise LayerBuildError(f"sourceless: needs a local python{version} to compile the layer "
                                  f"({search_summary(python)})", reason="bad-option")
        return out
    can_run = host_architecture() == spec.architecture

    def smoke(record_doc_reads: bool = False) -> SmokeResult:
        return run_smoke(interpreter, site, provided_by=spec.provided_by, extra_imports=spec.smoke_imports,
                         packages=shipped, workload_files=spec.workloads, record_doc_reads=record_doc_reads)

    imported: list[str] | None = None
    docs_read: dict[str, set[str]] = {}
    if spec.pyc != "none" and can_run and (spec.pyc == "imported" or spec.strip_docstrings):
        say("recording the modules the smoke test imports")
        recorded = smoke(record_doc_reads=True)
        imported = recorded.layer_modules
        for rel, qualname in recorded.doc_reads:
            docs_read.setdefault(rel, set()).add(qualname)
    no_docs: set[str] = set()
    if spec.pyc == "imported" and imported is None:
        pyc["mode"] = "all"
        out.notes.append(f"pyc=imported needs the smoke test, which cannot run for {spec.architecture} on this "
                         f"{host_architecture()} machine: every module gets pyc (docstrings kept)")
    if spec.pyc != "none":
        targets = all_modules(site) if pyc["mode"] == "all" else (imported or [])
        keep = DOCSTRING_DEPENDENT | set(spec.keep_docstrings)
        if spec.strip_docstrings and imported is not None:
            no_docs = {rel for rel in imported if docstring_safe(rel) and top_package(rel) not in keep}
        say(f"precompiling {len(targets)} modules (unchecked-hash pyc, {len(no_docs)} without docstrings)")
        pyc["compiled"], pyc["errors"] = compile_modules(interpreter, site, targets,
                                                         strip_docstrings_of=frozenset(no_docs),
                                                         docstrings_read=docs_read)
        pyc["docstrings_read_at_import"] = sum(len(q) for rel, q in docs_read.items() if rel in no_docs)
    if pyc["errors"]:
        out.notes.append(f"{len(pyc['errors'])} modules not compiled, e.g. {pyc['errors'][0][:200]}")
    if not can_run:
        out.notes.append(f"smoke test skipped: an {spec.architecture} layer cannot run on this "
                         f"{host_architecture()} machine (python{version} found: {interpreter})")
        pyc["docstrings_stripped"] = len(no_docs)
        return out
    say("smoke test: importing every package and running the workloads")
    out.smoke = _smoke_with_docstring_fallback(smoke, interpreter, site, no_docs, pyc, out.notes)
    pyc["docstrings_stripped"] = len(no_docs)
    if spec.sourceless:
        say("replacing sources by their pyc (sourceless)")
        pyc["sourceless"] = make_sourceless(interpreter, python, site,
                                            keep_source_of=frozenset(DOCSTRING_DEPENDENT | set(spec.keep_docstrings)))
        say("smoke test of the sourceless layer")
        out.smoke = smoke()
    return out


def _smoke_with_docstring_fallback(smoke: Callable[[], SmokeResult], interpreter: str, site: Path,
                                   no_docs: set[str], pyc: dict[str, Any], notes: list[str]) -> SmokeResult:
    """Run ``smoke``; on failure inside a package compiled without docstrings, recompile it with them, retry."""
    while True:
        try:
            return smoke()
        except LayerBuildError as exc:
            if exc.reason != "smoke" or not no_docs:
                raise
            package = blame_package(exc.details, (LAMBDA_SITE, str(site))) or exc.package
            victims = sorted(rel for rel in no_docs if top_package(rel) == package)
            if not victims:
                raise LayerBuildError(
                    f"{exc.message} (the layer's pyc have their docstrings stripped; if the failure is about "
                    "docstrings, set strip_docstrings=False or keep_docstrings=[...] / --keep-docstrings PKG)",
                    package=exc.package, reason=exc.reason, details=exc.details) from None
            compile_modules(interpreter, site, victims)
            no_docs.difference_update(victims)
            pyc["docstrings_kept_for"].append(package)
            first_error = exc.message.split(": ", 2)[-1]
            notes.append(f"{package} needs its docstrings at import ({first_error[:160]}): its {len(victims)} "
                         f"modules keep them; add {package!r} to keep_docstrings (CLI: --keep-docstrings "
                         f"{package}) to skip the failed first attempt, or strip_docstrings=False for all")
