"""Which ``GLIBC_x.y`` symbol versions every ELF file needs (read with pyelftools, no auditwheel)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from components.bundling.errors import LayerBuildError
from components.bundling.platforms import ELF_MACHINES

_GLIBC = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")


def parse_glibc(text: str) -> tuple[int, ...]:
    """``"2.17"`` -> ``(2, 17)``."""
    return tuple(int(p) for p in text.split("."))


def format_glibc(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


def elf_requirements(path: Path) -> tuple[str, set[tuple[int, ...]]]:
    """Return ``(e_machine, {glibc versions})`` of an ELF file, from its ``.gnu.version_r`` section.

    Example
    -------
    >>> import numpy
    >>> umath = next((Path(numpy.__file__).parent / "_core").glob("_multiarray_umath.*.so"))
    >>> machine, versions = elf_requirements(umath)
    >>> machine in ("EM_X86_64", "EM_AARCH64"), max(versions) >= (2, 17)
    (True, True)
    """
    versions: set[tuple[int, ...]] = set()
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        machine = str(elf["e_machine"])
        for section in elf.iter_sections():
            if not isinstance(section, GNUVerNeedSection):
                continue
            for _verneed, auxes in section.iter_versions():
                for aux in auxes:
                    match = _GLIBC.match(aux.name)
                    if match:
                        versions.add(tuple(int(g) for g in match.groups() if g is not None))
    return machine, versions


@dataclass
class GlibcScan:
    files: dict[str, tuple[int, ...]] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)

    @property
    def max(self) -> tuple[int, ...]:
        return max(self.files.values(), default=(0, 0))

    def worst(self, n: int = 10) -> list[tuple[str, str]]:
        ranked = sorted(self.files.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        return [(rel, format_glibc(v)) for rel, v in ranked[:n]]


def scan_tree(root: Path) -> GlibcScan:
    """Scan every ELF file below ``root`` (by magic number, not by name)."""
    scan = GlibcScan()
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_symlink() or path.suffix in (".py", ".pyc", ".txt", ".json"):
                continue
            with open(path, "rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
            rel = path.relative_to(root).as_posix()
            try:
                machine, versions = elf_requirements(path)
            except ELFError as exc:
                raise LayerBuildError(f"{rel}: unreadable ELF file ({exc})", package=rel, reason="bad-elf") from None
            scan.machines[rel] = machine
            scan.files[rel] = max(versions, default=(0, 0))
    return scan


def check_scan(scan: GlibcScan, *, glibc: tuple[int, int], architecture: str, runtime: str,
               owner: dict[str, str] | None = None) -> None:
    """Fail when any file needs a newer glibc than the runtime has, or is built for another machine."""
    expected = ELF_MACHINES[architecture]
    wrong = sorted(rel for rel, m in scan.machines.items() if m != expected)
    if wrong:
        raise LayerBuildError(f"{wrong[0]}: built for {scan.machines[wrong[0]]}, not {architecture} "
                              f"({len(wrong)} such files)", package=(owner or {}).get(wrong[0], wrong[0]),
                              reason="wrong-architecture")
    too_new = sorted(((v, rel) for rel, v in scan.files.items() if v[:2] > glibc), reverse=True)
    if too_new:
        version, rel = too_new[0]
        others = ", ".join(r for _v, r in too_new[1:4])
        raise LayerBuildError(
            f"{rel}: requires GLIBC_{format_glibc(version)} but {runtime} has glibc "
            f"{format_glibc(glibc)} (\"GLIBC_{format_glibc(version)} not found\" at import)"
            + (f"; also: {others}" if others else ""),
            package=(owner or {}).get(rel, rel), reason="glibc")
