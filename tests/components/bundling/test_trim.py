"""Workload-traced trimming on small synthetic layers: what goes, what stays, the stubs, and the verification."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from components.bundling import LayerBuild, LayerBuildError, LayerSpec
from components.bundling.trim import GUARD, TrimSpec, module_of, plan_removals, trim_layer, trim_layers

EXT = f".cpython-{sys.version_info[0]}{sys.version_info[1]}-x86_64-linux-gnu.so"


def _layer(root: Path, files: dict[str, str]) -> LayerBuild:
    site = root / "python"
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    (site / "toolkit-1.0.dist-info").mkdir(parents=True, exist_ok=True)
    (site / "toolkit-1.0.dist-info" / "METADATA").write_text("Name: toolkit\nVersion: 1.0\n\n")
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return LayerBuild(zip_path=root / "layer.zip", sha256=str(abs(hash(tuple(sorted(files.items()))))),
                      source_code_hash="", unzipped_bytes=size, zipped_bytes=0, packages={"toolkit": "1.0"},
                      glibc_max="none", report={"owners": {"toolkit": "toolkit"}}, site_dir=site, cache_key="k")


TOOLKIT = {
    "toolkit/__init__.py": "from toolkit import core\n",
    "toolkit/core.py": "def double(x):\n    return 2 * x\n",
    "toolkit/extra.py": "VALUE = 1\n",
    "toolkit/io/__init__.py": "from toolkit.io import readers\n",
    "toolkit/io/readers.py": "def read():\n    return 1\n",
    "toolkit/data/table.csv": "a,b\n1,2\n",
}


@pytest.fixture
def layer(tmp_path: Path) -> LayerBuild:
    return _layer(tmp_path / "layer", TOOLKIT)


def _workload(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "workload.py"
    path.write_text(code)
    return path


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", "-B", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); "
                           + code], capture_output=True, text=True, check=False)


def test_untraced_modules_become_stubs_that_name_the_rule(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\nassert toolkit.core.double(2) == 4\n")
    result = trim_layers(TrimSpec((layer,), (workload,), function="fn"), cache_dir=tmp_path / "cache")
    site = result.layers[0].site_dir
    assert result.workload_ok and (site / "toolkit" / "core.py").is_file()
    assert (site / "toolkit" / "data" / "table.csv").is_file(), "data files are kept"
    assert (site / "toolkit-1.0.dist-info" / "METADATA").is_file()
    assert not (site / "toolkit" / "io" / "readers.py").exists(), "one stub per removed subtree"
    assert result.layers[0].removed["untraced-module"]["files"] == 3  # extra, io/__init__, io/readers
    proc = _run(site, "import toolkit.io")
    assert proc.returncode == 1
    assert ("ImportError: toolkit.io was removed from this layer by sciflow's trim rule 'untraced-module'"
            in proc.stderr) and "add 'toolkit.io' to the function's trim keep list" in proc.stderr
    assert "trim rule 'untraced-module'" in _run(site, "import toolkit.extra").stderr
    assert result.total_unzipped_bytes == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


def test_keep_list_and_guard_keep_modules_the_workload_does_not_load(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\n")
    result = trim_layers(TrimSpec((layer,), (workload,), keep=("toolkit.io",)), cache_dir=tmp_path / "cache")
    site = result.layers[0].site_dir
    assert (site / "toolkit" / "io" / "readers.py").is_file()
    assert _run(site, "import toolkit.io.readers as r; assert r.read() == 1").returncode == 0
    assert "joblib/" in GUARD


def test_a_removed_module_loses_its_unchecked_pyc_too(layer: LayerBuild, tmp_path: Path) -> None:
    """An unchecked-hash pyc never looks at its source: left behind, it would bring the removed module back."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                    str(layer.site_dir)], check=True)
    workload = _workload(tmp_path, "import toolkit\n")
    result = trim_layers(TrimSpec((layer,), (workload,)), cache_dir=tmp_path / "cache")
    site = result.layers[0].site_dir
    assert not list((site / "toolkit").glob("__pycache__/extra.*.pyc"))
    assert (site / "toolkit" / "__pycache__").is_dir()
    assert "trim rule" in _run(site, "import toolkit.extra").stderr


def test_sourceless_trim_keeps_stubs_readable(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\nassert toolkit.core.double(3) == 6\n")
    result = trim_layers(TrimSpec((layer,), (workload,), sourceless=True), cache_dir=tmp_path / "cache")
    site = result.layers[0].site_dir
    assert (site / "toolkit" / "core.pyc").is_file() and not (site / "toolkit" / "core.py").exists()
    assert (site / "toolkit" / "extra.py").read_text().startswith("# sciflow trim stub (untraced-module)")


def test_a_workload_that_needs_a_trimmed_module_later_fails_the_verification(layer: LayerBuild,
                                                                             tmp_path: Path) -> None:
    marker = tmp_path / "second-run"
    workload = _workload(tmp_path, f"import os, toolkit\nif os.path.exists({str(marker)!r}):\n"
                                   "    import toolkit.extra\n"
                                   f"open({str(marker)!r}, 'w').close()\n")
    with pytest.raises(LayerBuildError, match=r"^workload failed after trimming: ImportError: toolkit.extra was "
                                              r"removed .*trim rule 'untraced-module'.*add it to keep"):
        trim_layers(TrimSpec((layer,), (workload,)), cache_dir=tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache" / "trimmed").iterdir() if not p.name.startswith(".")] == []


def test_a_failing_workload_is_reported_before_trimming(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\nassert toolkit.core.double(2) == 5, 'wrong'\n")
    with pytest.raises(LayerBuildError, match=r"^workload failed before trimming: AssertionError: wrong"):
        trim_layers(TrimSpec((layer,), (workload,)), cache_dir=tmp_path / "cache")


def test_budget_is_per_function_and_says_what_would_fit(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\n")
    with pytest.raises(LayerBuildError, match=r"^function 'etl' \(1 layers \+ code, trimmed\): [\d,]+ bytes unzipped "
                                              r"is over the budget of 1,000 bytes .*top contributors: .*Would fit: "):
        trim_layers(TrimSpec((layer,), (workload,), function="etl", code_bytes=500, budget_bytes=1000),
                    cache_dir=tmp_path / "cache")


def test_second_trim_is_a_cache_hit_with_the_same_bytes(layer: LayerBuild, tmp_path: Path) -> None:
    workload = _workload(tmp_path, "import toolkit\n")
    first = trim_layers(TrimSpec((layer,), (workload,)), cache_dir=tmp_path / "cache")
    again = trim_layers(TrimSpec((layer,), (workload,)), cache_dir=tmp_path / "cache")
    assert again.cached and not first.cached and again.layers[0].sha256 == first.layers[0].sha256


def test_vendored_libraries_stay_when_a_kept_extension_needs_them(tmp_path: Path) -> None:
    site = tmp_path / "python"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("")
    assert zlib.__file__ is not None
    shutil.copy(zlib.__file__, site / "pkg" / f"zext{EXT}")  # DT_NEEDED: libz.so.1, libc.so.6
    (site / "pkg.libs").mkdir()
    (site / "pkg.libs" / "libz.so.1").write_bytes(b"\x7fELF-needed")
    (site / "pkg.libs" / "libunused.so.1").write_bytes(b"\x7fELF-unused")
    (site / "pkg" / f"other{EXT}").write_bytes(b"\x7fELF")
    plan = plan_removals(site, {str(site / "pkg" / "__init__.py")}, ("pkg/zext",))
    assert plan.removed == {"pkg.libs/libunused.so.1": "unneeded-library", f"pkg/other{EXT}": "untraced-extension"}
    assert plan.stubs == {"pkg.other": ("pkg/other.py", "untraced-extension")}


def test_module_of() -> None:
    assert module_of("scipy/io/__init__.pyc") == ("scipy.io", True)
    assert module_of("six.py") == ("six", False)
    assert module_of("numpy.libs/libgfortran.so.5") is None
    assert module_of("matplotlib/mpl-data/sample_data/x.py") is None
    assert module_of("pkg/__pycache__/mod.cpython-311.pyc") is None


def test_trim_layer_with_a_provided_layer_publishes_the_trimmed_zip_and_sizes(layer: LayerBuild,
                                                                             tmp_path: Path) -> None:
    base = _layer(tmp_path / "base", {"basekit/__init__.py": "ONE = 1\n"})
    workload = _workload(tmp_path, "import basekit, toolkit\nassert toolkit.core.double(basekit.ONE) == 2\n")
    spec = LayerSpec(("toolkit==1.0",), name="tools", provided_by=(base.site_dir,))
    trimmed = trim_layer(layer, spec, (workload,), keep=("toolkit.extra",), cache_dir=tmp_path / "cache")
    assert trimmed.site_dir != layer.site_dir and (trimmed.site_dir / "toolkit" / "extra.py").is_file()
    assert trimmed.unzipped_bytes == sum(f.stat().st_size for f in trimmed.site_dir.rglob("*") if f.is_file())
    assert trimmed.report["sizes"]["unzipped_bytes"] == trimmed.unzipped_bytes
    assert trimmed.sha256 == hashlib.sha256(trimmed.zip_path.read_bytes()).hexdigest()
    assert trimmed.report["trim"]["keep"] == ["toolkit.extra"] and trimmed.report["trim"]["stubs"] == 1
    assert trimmed.notes[-1].startswith("trimmed against workload.py: ") and "verified by the workload" in \
        trimmed.notes[-1]
    assert (base.site_dir / "basekit" / "__init__.py").is_file(), "a provided layer is on sys.path, never trimmed"


def test_trim_layer_without_the_workload_file_says_so(layer: LayerBuild, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"trim: workload .*missing\.py is not a file"):
        trim_layer(layer, LayerSpec(("toolkit==1.0",)), (tmp_path / "missing.py",), cache_dir=tmp_path / "cache")
