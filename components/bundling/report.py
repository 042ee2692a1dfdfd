"""Size report of an unpacked layer and the budget check (with the top contributors and a suggested split)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components.bundling.errors import LayerBuildError
from components.bundling.platforms import LAMBDA_UNZIPPED_LIMIT
from components.bundling.wheels import owner_of

MiB = 1024 * 1024


def size_report(site: Path, owners: dict[str, str], *, largest: int = 15) -> dict[str, Any]:
    """Unzipped total, file count, per-distribution bytes (largest first) and the largest files."""
    per_package: dict[str, int] = {}
    per_kind: dict[str, int] = {}
    files: list[tuple[int, str]] = []
    for dirpath, _dirnames, filenames in os.walk(site):
        for filename in filenames:
            path = Path(dirpath) / filename
            size = path.stat().st_size
            rel = path.relative_to(site).as_posix()
            owner = owner_of(rel, owners)
            per_package[owner] = per_package.get(owner, 0) + size
            kind = file_kind(filename)
            per_kind[kind] = per_kind.get(kind, 0) + size
            files.append((size, rel))
    files.sort(key=lambda item: (-item[0], item[1]))
    return {
        "unzipped_bytes": sum(per_package.values()),
        "files": len(files),
        "per_package": dict(sorted(per_package.items(), key=lambda kv: (-kv[1], kv[0]))),
        "largest_files": [[rel, size] for size, rel in files[:largest]],
        "per_kind": dict(sorted(per_kind.items())),
    }


def file_kind(filename: str) -> str:
    """``py``, ``pyc``, ``native`` (shared objects) or ``data``."""
    if filename.endswith(".py"):
        return "py"
    if filename.endswith(".pyc"):
        return "pyc"
    return "native" if ".so" in filename else "data"


def top_contributors(per_package: dict[str, int], n: int = 5) -> list[tuple[str, int]]:
    """The ``n`` largest distributions, largest first (the input's order does not matter: a cached build's
    record has its keys sorted alphabetically).

    Example
    -------
    >>> top_contributors({"cycler": 47_583, "matplotlib": 26_829_192, "pillow": 19_254_472}, 2)
    [('matplotlib', 26829192), ('pillow', 19254472)]
    """
    return sorted(per_package.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def format_contributors(per_package: dict[str, int], n: int = 5) -> str:
    """``"matplotlib 25.6 MiB, pillow 18.4 MiB, ..."``."""
    return ", ".join(f"{name} {size / MiB:.1f} MiB" for name, size in top_contributors(per_package, n))


def check_budget(sizes: dict[str, Any], budget: int, *, what: str = "layer") -> None:
    """Raise when ``what`` is over ``budget`` (or Lambda's limit), naming the top contributors and what would fit.

    Lambda's limit counts a function's code and *all* its layers together, so splitting a layer never makes a
    function fit; the advice names what to leave out or shrink instead.
    """
    limit = min(budget, LAMBDA_UNZIPPED_LIMIT)
    total = int(sizes["unzipped_bytes"])
    if total <= limit:
        return
    per_package: dict[str, int] = sizes["per_package"]
    top = top_contributors(per_package)
    raise LayerBuildError(
        f"{what}: {total:,} bytes unzipped is over the {'Lambda limit' if limit == LAMBDA_UNZIPPED_LIMIT else 'budget'}"
        f" of "
        f"{limit:,} bytes by {total - limit:,}; top contributors: {format_contributors(per_package)}. "
        f"{what_would_fit(per_package, total - limit, int(sizes.get('per_kind', {}).get('py', 0)))}",
        package=top[0][0] if top else None, reason="over-budget")


def what_would_fit(per_package: dict[str, int], excess: int, source_bytes: int = 0) -> str:
    """Ways to shed ``excess`` bytes: the smallest single distribution that would do, else the fewest largest
    ones; sourceless pyc when the sources alone are enough; and workload-traced trimming.

    Example
    -------
    >>> print(what_would_fit({"a": 50, "b": 30, "c": 10}, 20))
    Would fit: without b (30 B). Or trim the layers against the function's workload (components.bundling.trim).
    """
    ranked = top_contributors(per_package, len(per_package))
    single = [(name, size) for name, size in reversed(ranked) if size >= excess]
    if single:
        options = [f"without {single[0][0]} ({_human(single[0][1])})"]
    else:
        dropped, shed = [], 0
        for name, size in ranked:
            dropped.append(name)
            shed += size
            if shed >= excess:
                break
        options = [f"without {', '.join(dropped)} ({_human(shed)})"] if shed >= excess else []
    if source_bytes >= excess:
        options.append(f"with sourceless=True (pyc in place of {_human(source_bytes)} of .py sources)")
    head = "Would fit: " + "; or ".join(options) + ". " if options else ""
    return head + "Or trim the layers against the function's workload (components.bundling.trim)."


def _human(size: int) -> str:
    return f"{size / MiB:.1f} MiB" if size >= MiB // 10 else f"{size} B"


def check_function_budget(function: str, layers: Sequence[tuple[str, Mapping[str, Any]]], code_bytes: int,
                          budget: int = LAMBDA_UNZIPPED_LIMIT) -> int:
    """Check one function's total (its code plus every attached layer's ``sizes`` report) against ``budget``.

    Returns the total in bytes; raises :class:`LayerBuildError` naming the function, its layers, the top
    contributors across all of them and what would fit.

    Example
    -------
    >>> check_function_budget("etl", [("scientific", {"unzipped_bytes": 10, "per_package": {"numpy": 10}})], 5)
    15
    """
    per_package: dict[str, int] = {"function code": code_bytes}
    per_kind: dict[str, int] = {}
    total = code_bytes
    for _name, sizes in layers:
        total += int(sizes["unzipped_bytes"])
        for package, size in sizes["per_package"].items():
            per_package[package] = per_package.get(package, 0) + int(size)
        for kind, size in sizes.get("per_kind", {}).items():
            per_kind[kind] = per_kind.get(kind, 0) + int(size)
    parts = " + ".join(f"{name} {int(sizes['unzipped_bytes']) / MiB:.1f} MiB" for name, sizes in layers)
    check_budget({"unzipped_bytes": total, "per_package": per_package, "per_kind": per_kind}, budget,
                 what=f"function {function!r} (code {code_bytes / MiB:.1f} MiB + {parts or 'no layers'})")
    return total
