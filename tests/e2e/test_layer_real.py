"""The real scientific and plotting layers from PyPI wheels (downloads and builds cached under ~/.cache).

Cold (empty cache) this takes a few minutes; warm, the builds are cache hits and the independent rebuild is the
only real build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.bundling import LAMBDA_UNZIPPED_LIMIT, LayerBuild, LayerBuildError, LayerSpec, build_layer
from components.bundling.archive import file_sha256
from components.bundling.cache import default_cache_dir
from components.bundling.elfscan import parse_glibc
from components.bundling.strip import find_strip_tool
from components.bundling.trim import TrimSpec, trim_layers

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("layer-real")]

SCIENTIFIC = LayerSpec(requirements=("numpy==2.2.6", "pandas==3.1.1", "scipy==1.16.3"))
FUNCTION_CODE_ALLOWANCE = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def scientific() -> LayerBuild:
    return build_layer(SCIENTIFIC)


@pytest.fixture(scope="module")
def plotting(scientific: LayerBuild) -> LayerBuild:
    return build_layer(LayerSpec(requirements=("matplotlib==3.11.2",), exclude=("numpy", "python-dateutil"),
                                 provided_by=(scientific.site_dir,)))


def test_scientific_layer_passes_its_smoke_test_and_fits(scientific: LayerBuild) -> None:
    report = scientific.report
    assert report["smoke"]["status"] == "passed"
    assert report["smoke"]["workloads"] == ["numpy", "scipy", "pandas"]
    assert {"numpy", "pandas", "scipy"} <= set(report["smoke"]["imports"])
    assert scientific.packages["numpy"] == "2.2.6" and scientific.packages["scipy"] == "1.16.3"
    assert parse_glibc(scientific.glibc_max) <= (2, 26)
    assert scientific.unzipped_bytes < LAMBDA_UNZIPPED_LIMIT
    assert all(len(r["sha256"]) == 64 and r["filename"].endswith(".whl") for r in report["resolved"])
    assert report["pyc"]["compiled"] > 500 and report["pyc"]["errors"] == []
    assert report["strip"]["removed"]["tests"]["bytes"] > 10_000_000
    with zipfile.ZipFile(scientific.zip_path) as zf:
        names = zf.namelist()
    assert "python/numpy/_core/tests/_natype.py" in names
    assert not [n for n in names if "/tests/" in n and not n.startswith("python/numpy/_core/tests/")]


def test_vendored_libs_are_shipped_byte_identical(scientific: LayerBuild) -> None:
    wheel = next((default_cache_dir() / ".wheels").glob("numpy-2.2.6-cp311-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        libs = {n: zf.read(n) for n in zf.namelist() if n.startswith("numpy.libs/") and not n.endswith("/")}
    assert libs
    for name, data in libs.items():
        assert (scientific.site_dir / name).read_bytes() == data, name


def _import_numpy(site: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; sys.path.insert(0, sys.argv[1]); import numpy; print(numpy.linalg.solve(numpy.eye(2), [1, 2]))"
    return subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code, str(site)], capture_output=True, text=True,
                          check=False, env={"PATH": os.environ.get("PATH", "")})


@pytest.mark.skipif(find_strip_tool("x86_64") is None, reason="no strip tool for x86_64 (components.bundling.strip."
                    "find_strip_tool looks for strip, x86_64-linux-gnu-strip or llvm-strip on PATH)")
def test_stripping_inside_libs_breaks_numpy(scientific: LayerBuild, tmp_path: Path) -> None:
    """Why the strip rule skips ``*.libs/``: the same copy imports fine until its vendored libraries are stripped."""
    for name in ("numpy", "numpy.libs"):
        shutil.copytree(scientific.site_dir / name, tmp_path / name)
    assert _import_numpy(tmp_path).returncode == 0
    tool = find_strip_tool("x86_64")
    assert tool is not None
    for lib in (tmp_path / "numpy.libs").iterdir():
        subprocess.run([*tool, str(lib)], check=True)
    broken = _import_numpy(tmp_path)
    assert broken.returncode != 0 and "ImportError" in broken.stderr


def test_warm_rebuild_is_a_cache_hit(scientific: LayerBuild) -> None:
    again = build_layer(SCIENTIFIC)
    assert again.cached and again.sha256 == scientific.sha256 == file_sha256(again.zip_path)


def test_independent_rebuild_is_byte_identical(scientific: LayerBuild, tmp_path: Path) -> None:
    """A second build from the same wheels in an empty cache (fresh unpack, strip, pyc, zip) gives the same bytes."""
    (tmp_path / ".wheels").symlink_to(default_cache_dir() / ".wheels")
    shutil.copytree(default_cache_dir() / ".resolve", tmp_path / ".resolve", ignore=shutil.ignore_patterns("*.lock"))
    other = build_layer(SCIENTIFIC, cache_dir=tmp_path)
    assert not other.cached
    assert other.sha256 == scientific.sha256


def test_plotting_layer_relies_on_the_scientific_layer(scientific: LayerBuild, plotting: LayerBuild) -> None:
    assert plotting.report["smoke"]["status"] == "passed"
    assert plotting.report["smoke"]["workloads"] == ["matplotlib"]
    assert "numpy" not in plotting.packages and plotting.packages["matplotlib"] == "3.11.2"
    assert "tzdata" not in plotting.packages, "the scientific layer ships it (provided_by)"
    assert parse_glibc(plotting.glibc_max) <= (2, 26)
    assert scientific.unzipped_bytes + plotting.unzipped_bytes + FUNCTION_CODE_ALLOWANCE < LAMBDA_UNZIPPED_LIMIT


def test_excluding_what_the_other_layer_does_not_ship_fails_the_smoke_test(scientific: LayerBuild) -> None:
    with pytest.raises(LayerBuildError, match=r"^matplotlib: smoke test failed at import matplotlib: "
                                              r"ModuleNotFoundError: No module named 'packaging'"):
        build_layer(LayerSpec(requirements=("matplotlib==3.11.2",), exclude=("numpy", "packaging"),
                              provided_by=(scientific.site_dir,)))


def test_numpy_without_a_glibc_2_26_wheel_is_explained(tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^numpy==2\.4\.6: no wheel for cp311 manylinux_2_26_x86_64 .*newest "
                                              r"compatible version is 2\.2\.6.*python3\.12\+ runs on glibc 2\.34"):
        build_layer(LayerSpec(requirements=("numpy==2.4.6",)), cache_dir=tmp_path)


NUMERIC_WORKLOAD = (
    "import numpy as np, pandas as pd, scipy.stats\n"
    "frame = pd.DataFrame({'k': list('abab'), 'v': [1.0, 2.0, 3.0, 4.0]})\n"
    "assert frame.groupby('k')['v'].mean().to_dict() == {'a': 2.0, 'b': 3.0}\n"
    "assert 0 <= scipy.stats.ttest_ind(np.arange(10.0), np.arange(10.0) + 1).pvalue <= 1\n"
)


def test_trimming_the_real_scientific_layer_keeps_the_workload_and_stubs_the_rest(
        scientific: LayerBuild, tmp_path: Path) -> None:
    """The cheaper in-suite check of ``make layer-proof``: trim against a numpy/pandas/scipy.stats workload (cached
    under ~/.cache after the first run), then import a module the workload never used."""
    workload = tmp_path / "workload.py"
    workload.write_text(NUMERIC_WORKLOAD)
    result = trim_layers(TrimSpec((scientific,), (workload,), function="stats", sourceless=True))
    layer = result.layers[0]
    assert result.workload_ok and layer.unzipped_bytes < scientific.unzipped_bytes - 30_000_000
    assert layer.removed["untraced-extension"]["files"] > 20 and layer.stubs > 50
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "import scipy.io", str(layer.site_dir)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "ImportError: scipy.io was removed from this layer by sciflow's trim rule" in (
        proc.stderr)
