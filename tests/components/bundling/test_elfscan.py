"""The glibc scan on real ELF files from the installed numpy."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy
import pytest

from components.bundling import LayerBuildError
from components.bundling.elfscan import check_scan, elf_requirements, format_glibc, scan_tree

NUMPY = Path(numpy.__file__).parent


def _umath() -> Path:
    return next((NUMPY / "_core").glob("_multiarray_umath.cpython-*.so"))


def test_reads_glibc_versions_of_a_real_extension_module() -> None:
    machine, versions = elf_requirements(_umath())
    assert machine in ("EM_X86_64", "EM_AARCH64")
    assert versions, "numpy's core module links libc symbols with versions"
    assert all(v[0] == 2 and v[1] >= 2 for v in versions)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="no readelf on PATH (binutils, the independent oracle)")
def test_glibc_versions_agree_with_readelf() -> None:
    _, versions = elf_requirements(_umath())
    out = subprocess.run([str(shutil.which("readelf")), "-V", "--wide", str(_umath())], capture_output=True,
                         text=True, check=True).stdout
    expected = {tuple(int(p) for p in m.split(".")) for m in re.findall(r"Name: GLIBC_([0-9.]+)", out)}
    assert versions == expected


def test_scan_tree_finds_elf_by_magic_and_skips_other_files(tmp_path: Path) -> None:
    shutil.copy(_umath(), tmp_path / "core.so")
    shutil.copy(_umath(), tmp_path / "renamed_without_suffix")
    (tmp_path / "fake.so").write_bytes(b"not an elf file")
    scan = scan_tree(tmp_path)
    assert sorted(scan.files) == ["core.so", "renamed_without_suffix"]
    assert scan.max == max(elf_requirements(_umath())[1])


def test_newer_glibc_than_the_runtime_fails_naming_file_and_version(tmp_path: Path) -> None:
    shutil.copy(_umath(), tmp_path / "core.so")
    scan = scan_tree(tmp_path)
    needed = scan.max
    too_old = (needed[0], needed[1] - 1)
    with pytest.raises(LayerBuildError) as err:
        check_scan(scan, glibc=too_old, architecture="x86_64" if scan.machines["core.so"] == "EM_X86_64" else "arm64",
                   runtime="python3.11", owner={"core.so": "numpy"})
    assert str(err.value).startswith(f"core.so: requires GLIBC_{format_glibc(needed)} but python3.11 has glibc "
                                     f"{format_glibc(too_old)}")
    assert err.value.package == "numpy" and err.value.reason == "glibc"


def test_enough_glibc_passes(tmp_path: Path) -> None:
    shutil.copy(_umath(), tmp_path / "core.so")
    scan = scan_tree(tmp_path)
    check_scan(scan, glibc=(scan.max[0], scan.max[1]), architecture="x86_64" if scan.machines["core.so"] == "EM_X86_64"
               else "arm64", runtime="python3.12")


def test_wrong_architecture_is_an_error(tmp_path: Path) -> None:
    shutil.copy(_umath(), tmp_path / "core.so")
    scan = scan_tree(tmp_path)
    other = "arm64" if scan.machines["core.so"] == "EM_X86_64" else "x86_64"
    with pytest.raises(LayerBuildError, match=f"core.so: built for EM_.*, not {other}"):
        check_scan(scan, glibc=(2, 99), architecture=other, runtime="python3.12")
