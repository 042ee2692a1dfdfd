"""Size report of an unpacked layer and the budget check (with the top contributors and a suggested split)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from components.bundling.errors import LayerBuildError
from components.bundling.platforms import LAMBDA_UNZIPPED_LIMIT
from components.bundling.wheels import owner_of

MiB = 1024 * 1024


def size_report(site: Path, owners: dict[str, str], *, largest: int = 15) -> dict[str, Any]:
    """Unzipped total, file count, per-distribution bytes (largest first) and the largest files."""
    per_package: dict[str, int] = {}
    files: list[tuple[int, str]] = []
    for dirpath, _dirnames, filenames in os.walk(site):
        for filename in filenames:
            path = Path(dirpath) / filename
            size = path.stat().st_size
            rel = path.relative_to(site).as_posix()
            owner = owner_of(rel, owners)
            per_package[owner] = per_package.get(owner, 0) + size
            files.append((size, rel))
    files.sort(key=lambda item: (-item[0], item[1]))
    return {
        "unzipped_bytes": sum(per_package.values()),
        "files": len(files),
        "per_package": dict(sorted(per_package.items(), key=lambda kv: (-kv[1], kv[0]))),
        "largest_files": [[rel, size] for size, rel in files[:largest]],
    }


def check_budget(sizes: dict[str, Any], budget: int) -> None:
    """Raise when the layer is over ``budget`` (or Lambda's limit), naming the top contributors and a split."""
    limit = min(budget, LAMBDA_UNZIPPED_LIMIT)
    total = int(sizes["unzipped_bytes"])
    if total <= limit:
        return
    per_package: dict[str, int] = sizes["per_package"]
    top = list(per_package.items())[:5]
    contributors = ", ".join(f"{name} {size / MiB:.1f} MiB" for name, size in top)
    raise LayerBuildError(
        f"layer: {total:,} bytes unzipped is over the {'budget' if limit == budget else 'Lambda limit'} of "
        f"{limit:,} bytes by {total - limit:,}; top contributors: {contributors}. {suggest_split(per_package, limit)}",
        package=top[0][0] if top else None, reason="over-budget")


def suggest_split(per_package: dict[str, int], limit: int) -> str:
    """Greedy split into layers of at most ``limit`` bytes (largest distributions first)."""
    bins: list[tuple[int, list[str]]] = []
    for name, size in per_package.items():
        for i, (used, names) in enumerate(bins):
            if used + size <= limit:
                bins[i] = (used + size, [*names, name])
                break
        else:
            bins.append((size, [name]))
    if len(bins) < 2:
        return "Raise the budget or remove a dependency."
    parts = "; ".join(f"layer {i + 1}: {', '.join(names)} ({used / MiB:.1f} MiB)"
                      for i, (used, names) in enumerate(bins))
    return (f"Suggested split: {parts} (put the other layers' distributions in `exclude`; note that Lambda's "
            f"{LAMBDA_UNZIPPED_LIMIT:,}-byte limit applies to a function plus all its layers).")
