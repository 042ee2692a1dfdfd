"""Install wheels into a layer's ``python/`` directory by unpacking them (what pip does, minus scripts)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from components.bundling.errors import LayerBuildError


@dataclass
class Unpacked:
    """Which distribution owns each top-level name, and what was left out."""

    owners: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    overwritten: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


def unpack_wheel(wheel: Path, dist: str, dest: Path, result: Unpacked) -> None:
    """Unpack ``wheel`` into ``dest``; ``*.data/purelib|platlib`` go to the root, scripts/headers/data are
    dropped (counted in ``result.dropped``)."""
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise LayerBuildError(f"{dist}: {wheel.name} is not a valid wheel ({exc})", package=dist,
                              reason="bad-wheel") from None
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename).parts
            if any(p in ("..", "") for p in parts) or info.filename.startswith("/"):
                raise LayerBuildError(f"{dist}: unsafe path {info.filename!r} in {wheel.name}", package=dist,
                                      reason="bad-wheel")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    kind = parts[1] if len(parts) > 1 else "data"
                    result.dropped[kind] = result.dropped.get(kind, 0) + 1
                    continue
                parts = parts[2:]
            rel = PurePosixPath(*parts)
            target = dest / rel
            if target.exists():
                result.overwritten.append(str(rel))
            target.parent.mkdir(parents=True, exist_ok=True)
            data = zf.read(info)
            target.write_bytes(data)
            unix_mode = (info.external_attr >> 16) & 0o777
            target.chmod(0o755 if unix_mode & 0o111 else 0o644)
            result.owners.setdefault(parts[0], dist)
            result.files += 1
            result.bytes += len(data)


def owner_of(rel: str, owners: dict[str, str]) -> str:
    """The distribution that owns a path (by its top-level component), or ``"?"``."""
    return owners.get(rel.split("/", 1)[0], "?")


def installed_distributions(site: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the distributions in an unpacked layer (from ``*.dist-info/METADATA``)."""
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    for metadata in sorted(site.glob("*.dist-info/METADATA")):
        name = version = None
        for line in metadata.read_text(errors="replace").splitlines():
            if line.startswith("Name:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("Version:"):
                version = line.split(":", 1)[1].strip()
            elif not line.strip():
                break
        if name and version:
            found[canonicalize_name(name)] = version
    return found


def installed_owners(site: Path) -> dict[str, str]:
    """``{top-level name: distribution}`` of an unpacked layer, from each ``*.dist-info`` (``top_level.txt`` when
    shipped, else the distribution's import name) plus its auditwheel ``<name>.libs`` directory.

    Example
    -------
    >>> installed_owners(Path(build.site_dir))["sklearn"]                       # doctest: +SKIP
    'scikit-learn'
    """
    owners: dict[str, str] = {}
    for info in sorted(site.glob("*.dist-info")):
        dist = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
        name = dist
        metadata = info / "METADATA"
        if metadata.is_file():
            for line in metadata.read_text(errors="replace").splitlines():
                if line.startswith("Name:"):
                    name = line.split(":", 1)[1].strip()
                    break
        owners[info.name] = name
        tops = info / "top_level.txt"
        names = tops.read_text().split() if tops.is_file() else []
        for top in [*names, dist, dist.lower(), dist.replace("-", "_").lower()]:
            for candidate in (top, f"{top}.py", f"{top}.libs"):
                if (site / candidate).exists():
                    owners.setdefault(candidate, name)
    for entry in site.iterdir():
        if entry.name not in owners and entry.suffix == ".libs" and entry.stem in owners:
            owners[entry.name] = owners[entry.stem]
    return owners
