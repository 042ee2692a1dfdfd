"""What to build (:class:`LayerSpec`) and what was built (:class:`LayerBuild`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from components.bundling.errors import LayerBuildError
from components.bundling.platforms import LAMBDA_UNZIPPED_LIMIT, Platform, get_platform

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3")
"""Distributions every Lambda Python runtime already ships; left out unless asked for."""

PYC_MODES = ("all", "imported", "none")
"""``imported``: modules the smoke test imports; ``all``: every module; ``none``: no pyc."""


@dataclass(frozen=True)
class LayerSpec:
    """The inputs of one layer build.

    Parameters
    ----------
    requirements
        PEP 508 requirement strings, e.g. ``("numpy==2.2.6", "pandas==3.1.1")``.
    runtime, architecture
        Lambda runtime (``python3.9`` ... ``python3.14``) and architecture (``x86_64`` or ``arm64``).
    exclude
        Distributions to resolve (so versions stay consistent) but not ship, because another layer provides
        them. Put that layer's ``site_dir`` in ``provided_by`` so the smoke test can import through it.
    include_runtime_packages
        Ship boto3/botocore/s3transfer/urllib3 even though the runtime provides them.
    size_budget_bytes
        Fail when the unzipped layer is larger (never more than Lambda's 262,144,000 bytes).
    smoke_imports
        Extra modules the smoke test imports (every top-level package is imported anyway).
    provided_by
        Unzipped layers (``LayerBuild.site_dir``) this layer is always deployed with. They are on ``sys.path``
        during the smoke test; distributions they ship are left out of this layer (same version) or are an
        error (different version: two versions would overlay each other in ``/opt/python``).
    pyc
        ``"imported"`` (default: compile the modules the smoke test imports, i.e. every top-level package,
        the workloads and ``smoke_imports``; other modules compile at import time), ``"all"`` (about 30 MiB
        more for numpy+pandas+scipy) or ``"none"``.
    strip_docstrings
        Compile the modules the smoke test imports without docstrings (about 40% smaller pyc). Every such
        module is imported by the smoke test; when a package needs its docstrings at import (seaborn formats
        them), the smoke test fails, that package's modules are recompiled with docstrings and the test runs
        again (a note names the package and ``keep_docstrings``). Packages known to read docstrings later (ply,
        pycparser, click ...) always keep them.
    keep_docstrings
        Top-level packages whose docstrings are always kept (skips the failed first attempt for them).
    sourceless
        Ship pure-Python modules as ``.pyc`` in place of their ``.py`` (no ``__pycache__``): smaller, and
        tracebacks still name ``/opt/python/<file>.py`` with line numbers, but without the source lines.
        Needs a local interpreter of the runtime's version; verified by the smoke test. Off by default.
    workloads
        Python files run by the smoke test after the built-in workloads (e.g. the function's own smoke
        workload); the modules they import get pyc too.
    name
        The layer's name, used in messages (``layer 'plotting': ...``); not part of the build's identity.
    strip_binaries
        Run ``strip --strip-unneeded`` on package ``.so`` files (never inside ``*.libs/``).
    keep
        Extra paths (relative to the layer's ``python/``) to keep although a strip rule would drop them.
    index_url, find_links, no_index
        Where pip looks for wheels; defaults to pip's own configuration.
    resolve_ttl_s
        How long a resolution (requirements -> exact wheels) is reused before pip is asked again;
        ``None`` reuses it until the requirements change. Not used with ``lock_file``.
    lock_file
        A lock written by ``make lock`` (:mod:`components.bundling.lock`): the build installs exactly its
        wheels, checked by sha256, and never resolves; a missing or stale lock is an error.
    sdk_services
        With boto3/botocore shipped (``include_runtime_packages``), keep only these services' botocore models
        (e.g. ``("s3", "dynamodb")``); empty keeps every model (about 19 MB).
    """

    requirements: tuple[str, ...]
    runtime: str = "python3.11"
    architecture: str = "x86_64"
    exclude: tuple[str, ...] = ()
    include_runtime_packages: bool = False
    size_budget_bytes: int = LAMBDA_UNZIPPED_LIMIT
    smoke_imports: tuple[str, ...] = ()
    provided_by: tuple[Path, ...] = ()
    pyc: str = "imported"
    strip_docstrings: bool = True
    keep_docstrings: tuple[str, ...] = ()
    sourceless: bool = False
    workloads: tuple[Path, ...] = ()
    name: str = ""
    strip_binaries: bool = True
    keep: tuple[str, ...] = ()
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    resolve_ttl_s: float | None = 7 * 24 * 3600.0
    lock_file: Path | None = None
    sdk_services: tuple[str, ...] = ()

    def platform(self) -> Platform:
        return get_platform(self.runtime, self.architecture)


@dataclass(frozen=True)
class LayerBuild:
    """A built layer: the deterministic zip plus what it holds.

    ``site_dir`` is the unzipped ``python/`` directory (in the cache), usable as ``provided_by`` of another
    layer's spec and for local runs.
    """

    zip_path: Path
    sha256: str
    source_code_hash: str
    unzipped_bytes: int
    zipped_bytes: int
    packages: dict[str, str]
    glibc_max: str
    report: dict[str, Any]
    site_dir: Path
    cache_key: str
    cached: bool = False
    runtime: str = "python3.11"
    architecture: str = "x86_64"
    notes: tuple[str, ...] = field(default=())


def parse_requirements(requirements: tuple[str, ...] | list[str]) -> list[Requirement]:
    """Parse and check requirement strings; conflicting exact pins are an error naming the package.

    Example
    -------
    >>> [str(r) for r in parse_requirements(["numpy==2.2.6"])]
    ['numpy==2.2.6']
    """
    if isinstance(requirements, str):
        raise LayerBuildError("requirements: expected a list of requirement strings, got one string",
                              reason="bad-requirement")
    if not requirements:
        raise LayerBuildError("requirements: at least one requirement is needed", reason="bad-requirement")
    parsed: list[Requirement] = []
    pins: dict[str, tuple[str, str]] = {}
    for raw in requirements:
        text = str(raw).strip()
        if not text or text.startswith("-"):
            raise LayerBuildError(f"requirements: {raw!r} is not a requirement (pip options are not allowed)",
                                  package=text or None, reason="bad-requirement")
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise LayerBuildError(f"{text}: invalid requirement ({exc})", package=text,
                                  reason="bad-requirement") from None
        if req.url:
            raise LayerBuildError(f"{req.name}: URL requirements are not supported (pin a version from the index)",
                                  package=req.name, reason="bad-requirement")
        name = canonicalize_name(req.name)
        for spec in req.specifier:
            if spec.operator in ("==", "==="):
                if name in pins and pins[name][0] != spec.version:
                    raise LayerBuildError(
                        f"{req.name}: conflicting pins {pins[name][1]!r} and {text!r}", package=req.name,
                        reason="conflict")
                pins[name] = (spec.version, text)
        parsed.append(req)
    return parsed
