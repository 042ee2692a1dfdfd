"""build_layer end to end on synthetic wheels (pip --no-index): determinism, cache, strip, pyc, bad input."""

from __future__ import annotations

import importlib.util
import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.bundling import LayerBuildError, build_layer, builder
from components.bundling.__main__ import main
from components.bundling.archive import file_sha256
from components.bundling.interpreters import find_interpreter
from tests.components.bundling.wheels import make_wheel, offline_spec, standard_index


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standard_index(tmp_path_factory.mktemp("index"))


def _no_leftovers(cache: Path) -> None:
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == []
    assert list((cache / ".tmp").iterdir()) == [] if (cache / ".tmp").exists() else True


def test_two_independent_builds_are_byte_identical(index: Path, tmp_path: Path) -> None:
    first = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path / "a")
    second = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path / "b")
    assert first.sha256 == second.sha256 == file_sha256(second.zip_path)
    assert first.zip_path != second.zip_path
    assert first.source_code_hash == second.source_code_hash
    assert not first.cached and not second.cached


def test_warm_rebuild_reuses_the_zip(index: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    first = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path)
    again = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path, progress=messages.append)
    assert again.cached and again.sha256 == first.sha256 and again.zip_path == first.zip_path
    assert again.report["cached"] is True
    assert not any("building" in m for m in messages) and "(cached)" in messages[-1]


def test_layer_contents_and_report(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path)
    with zipfile.ZipFile(build.zip_path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and all(n.startswith("python/") for n in names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert "python/tinycalc/__init__.py" in names and "python/tinydep/__init__.py" in names
    assert "python/tinycalc/__pycache__/__init__.cpython-311.pyc" in names
    assert not [n for n in names if "/tests/" in n or n.endswith((".pyi", ".c", "RECORD", "WHEEL"))]
    assert "python/tinycalc-1.0.dist-info/METADATA" in names
    assert "python/tinycalc-1.0.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith("python/urllib3")], "the runtime provides urllib3"
    assert build.packages == {"tinycalc": "1.0", "tinydep": "2.0"}
    assert build.unzipped_bytes == sum(i.file_size for i in infos)
    assert build.zipped_bytes == build.zip_path.stat().st_size
    resolved = {r["name"]: r for r in build.report["resolved"]}
    assert resolved["urllib3"]["shipped"] is False
    assert resolved["urllib3"]["left_out"] == "provided by the Lambda runtime"
    assert len(resolved["tinycalc"]["sha256"]) == 64
    assert build.report["strip"]["removed"]["tests"]["files"] == 2
    assert build.report["smoke"]["status"] == "passed"
    assert build.report["smoke"]["imports"] == ["tinycalc", "tinydep"]
    assert build.glibc_max == "none"


def test_pyc_are_unchecked_hash_with_lambda_paths_and_empty_docstrings(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path)
    pyc = build.site_dir / "tinycalc" / "__pycache__" / "__init__.cpython-311.pyc"
    data = pyc.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, not checked against the source
    source = (build.site_dir / "tinycalc" / "__init__.py").read_bytes()
    assert data[8:16] == importlib.util.source_hash(source)
    assert b"/opt/python/tinycalc/__init__.py" in data
    assert b"long module docstring" not in data and b"Multiply two numbers" not in data
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import tinycalc; "
             "print(tinycalc.__doc__ == '', tinycalc.mul.__doc__ == '', tinycalc.add(2, 3))")
    out = subprocess.run([sys.executable, "-I", "-B", "-c", probe, str(build.site_dir)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True", "True", "5"], "the pyc (without docstrings) is what Python loads"


def test_pyc_all_keeps_docstrings_when_asked(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0", pyc="all", strip_docstrings=False), cache_dir=tmp_path)
    data = (build.site_dir / "tinycalc" / "__pycache__" / "__init__.cpython-311.pyc").read_bytes()
    assert b"Multiply two numbers" in data
    assert build.report["pyc"] == {"mode": "all", "compiled": 3, "errors": [], "docstrings_stripped": 0,
                                   "docstrings_read_at_import": 0,
                                   "interpreter": sys.version.split()[0], "interpreter_source": "this interpreter",
                                   "docstrings_kept_for": [], "sourceless": None}


def test_pyc_none_ships_sources_only(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0", pyc="none"), cache_dir=tmp_path)
    assert not list(build.site_dir.rglob("*.pyc"))


def test_exclude_resolves_but_does_not_ship_and_smoke_uses_provided_layer(index: Path, tmp_path: Path) -> None:
    base = build_layer(offline_spec(index, "tinydep==2.0"), cache_dir=tmp_path)
    top = build_layer(offline_spec(index, "tinycalc==1.0", exclude=("tinydep", "six"), provided_by=(base.site_dir,)),
                      cache_dir=tmp_path)
    assert top.packages == {"tinycalc": "1.0"}
    assert {r["name"]: r["shipped"] for r in top.report["resolved"]} == {
        "tinycalc": True, "tinydep": False, "urllib3": False}
    assert "exclude: six is not in the resolved set (nothing to leave out)" in top.notes
    assert top.report["smoke"]["status"] == "passed"


def test_exclude_without_the_providing_layer_fails_the_smoke_test(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^tinycalc: smoke test failed at import tinycalc: "
                                              r"ModuleNotFoundError: No module named 'tinydep'") as err:
        build_layer(offline_spec(index, "tinycalc==1.0", exclude=("tinydep",)), cache_dir=tmp_path)
    assert err.value.reason == "smoke" and "Traceback" in err.value.details
    _no_leftovers(tmp_path)


def test_failing_smoke_import_names_the_package_and_leaves_nothing(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^brokenimport: smoke test failed at import brokenimport: "
                                              r"ImportError: brokenimport needs libfoo.so.3"):
        build_layer(offline_spec(index, "brokenimport==1.0"), cache_dir=tmp_path)
    _no_leftovers(tmp_path)


def test_over_budget_lists_contributors_and_leaves_nothing(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^layer: [\d,]+ bytes unzipped is over the budget of 100 bytes by "
                                              r"[\d,]+; top contributors: tinycalc .* MiB, tinydep") as err:
        build_layer(offline_spec(index, "tinycalc==1.0", size_budget_bytes=100), cache_dir=tmp_path)
    assert err.value.reason == "over-budget" and "Would fit: without tinycalc" in str(err.value)
    assert "split" not in str(err.value), "Lambda's limit counts all layers together: a split never helps"
    _no_leftovers(tmp_path)


def test_unknown_package(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^nosuchpkg==1\.0: unknown package") as err:
        build_layer(offline_spec(index, "nosuchpkg==1.0"), cache_dir=tmp_path)
    assert err.value.package == "nosuchpkg"
    _no_leftovers(tmp_path)


def test_sdist_only_package_has_no_wheel(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^sdistonly==1\.0: no wheel for cp311 manylinux_2_26_x86_64 "
                                              r"\(python3\.11 runs on Amazon Linux 2, glibc 2\.26\); the index only "
                                              r"has source distributions") as err:
        build_layer(offline_spec(index, "sdistonly==1.0"), cache_dir=tmp_path)
    assert err.value.reason == "no-wheel"


def test_conflicting_pins_are_caught_before_pip(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^tinydep: conflicting pins 'tinydep==1.0' and 'tinydep==2.0'"):
        build_layer(offline_spec(index, "tinydep==1.0", "tinydep==2.0"), cache_dir=tmp_path)
    assert not (tmp_path / ".resolve").exists()


def test_conflicting_dependencies_from_pip(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"conflicting requirements .*pinsold 1\.0 depends on tinydep==1\.0") \
            as err:
        build_layer(offline_spec(index, "pinsold==1.0", "tinydep==2.0"), cache_dir=tmp_path)
    assert err.value.reason == "conflict"


@pytest.mark.parametrize(("requirements", "message"), [
    ((), "requirements: at least one requirement is needed"),
    (("numpy>=",), "numpy>=: invalid requirement"),
    (("--index-url=http://evil",), "requirements: '--index-url=http://evil' is not a requirement"),
    (("pkg @ https://example.com/pkg.whl",), "pkg: URL requirements are not supported"),
])
def test_bad_requirements(requirements: tuple[str, ...], message: str, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        build_layer(offline_spec(tmp_path, *requirements), cache_dir=tmp_path)


def test_unsupported_runtime_fails_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^runtime: 'python2\.7' is not a supported"):
        build_layer(offline_spec(tmp_path, "numpy", runtime="python2.7"), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_tampered_cache_entry_is_rebuilt(index: Path, tmp_path: Path) -> None:
    first = build_layer(offline_spec(index, "tinydep==1.0"), cache_dir=tmp_path)
    first.zip_path.write_bytes(b"corrupted")
    again = build_layer(offline_spec(index, "tinydep==1.0"), cache_dir=tmp_path)
    assert not again.cached and again.sha256 == first.sha256


def test_wheel_with_path_traversal_is_rejected(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_wheel(idx, "evil", "1.0", {"evil/__init__.py": "", "../escape.py": "x = 1\n"})
    with pytest.raises(LayerBuildError, match=r"^evil: unsafe path '\.\./escape\.py'"):
        build_layer(offline_spec(idx, "evil==1.0"), cache_dir=tmp_path / "cache")
    _no_leftovers(tmp_path / "cache")


def test_cli_json_and_failure_exit_code(index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["build", "-r", "tinydep==1.0", "--no-index", "--find-links", str(index), "--cache-dir", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["packages"] == {"tinydep": "1.0"} and len(out["sha256"]) == 64
    assert main(["build", "-r", "nosuchpkg", "--no-index", "--find-links", str(index), "--cache-dir",
                 str(tmp_path)]) == 1
    assert "error: nosuchpkg: unknown package" in capsys.readouterr().err


def test_cli_trim_publishes_the_verified_trimmed_layer(index: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    workload = tmp_path / "workload.py"
    workload.write_text("import tinydep\nassert tinydep.ident(3) == 3\n")
    args = ["build", "-r", "tinycalc==1.0", "--no-index", "--find-links", str(index), "--cache-dir",
            str(tmp_path / "cache")]
    assert main([*args, "--json"]) == 0
    full = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*args, "--json", "--trim", str(workload)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["unzipped_bytes"] < full["unzipped_bytes"] and "/trimmed/" in out["site_dir"]
    assert out["report"]["trim"]["removed"]["untraced-module"]["files"] == 4  # tinycalc/{__init__,_core}: .py + pyc
    probe = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                            "import tinycalc", out["site_dir"]], capture_output=True, text=True, check=False)
    assert "tinycalc was removed from this layer by sciflow's trim rule 'untraced-module'" in probe.stderr
    workload.write_text("raise SystemExit('workload broke')\n")
    assert main([*args, "--trim", str(workload)]) == 1
    assert "error: workload failed before trimming: workload broke" in capsys.readouterr().err
    assert main([*args, "--trim-keep", "tinycalc"]) == 2
    assert "--trim-keep needs --trim WORKLOAD" in capsys.readouterr().err


def test_distributions_of_a_provided_layer_are_left_out(index: Path, tmp_path: Path) -> None:
    base = build_layer(offline_spec(index, "tinydep==2.0"), cache_dir=tmp_path)
    top = build_layer(offline_spec(index, "tinycalc==1.0", provided_by=(base.site_dir,)), cache_dir=tmp_path)
    assert top.packages == {"tinycalc": "1.0"}
    left_out = {r["name"]: r.get("left_out") for r in top.report["resolved"]}
    assert left_out["tinydep"] == "provided by another layer (provided_by)"


def test_provided_layer_with_another_version_is_a_conflict(index: Path, tmp_path: Path) -> None:
    base = build_layer(offline_spec(index, "tinydep==1.0"), cache_dir=tmp_path)
    with pytest.raises(LayerBuildError, match=r"^tinydep: this layer resolves 2\.0 but the layer in .* ships 1\.0; "
                                              r"pin tinydep==1\.0 so the layers agree"):
        build_layer(offline_spec(index, "tinycalc==1.0", "tinydep==2.0", provided_by=(base.site_dir,)),
                    cache_dir=tmp_path)


def test_missing_provided_layer_directory(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^provided_by: .*/nowhere is not a directory"):
        build_layer(offline_spec(index, "tinycalc==1.0", provided_by=(tmp_path / "nowhere",)), cache_dir=tmp_path)


def test_concurrent_builds_of_the_same_layer_share_one_result(index: Path, tmp_path: Path) -> None:
    """Two processes (like two pytest-xdist workers) build the same layer into one cache at the same time."""
    cmd = [sys.executable, "-m", "components.bundling", "build", "-r", "tinycalc==1.0", "--no-index", "--find-links",
           str(index), "--cache-dir", str(tmp_path), "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0]["sha256"] == outs[1]["sha256"] and outs[0]["zip_path"] == outs[1]["zip_path"]
    assert sorted(o["cached"] for o in outs) == [False, True], "one built, the other waited and reused it"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [Path(outs[0]["zip_path"]).parent.name]
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_without_a_matching_interpreter_the_layer_ships_without_pyc_and_says_where_it_looked(
        index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "find_interpreter", lambda _python: None)
    build = build_layer(offline_spec(index, "tinycalc==1.0", runtime="python3.12"), cache_dir=tmp_path)
    assert not list(build.site_dir.rglob("*.pyc"))
    assert build.report["pyc"]["mode"] == "none" and build.report["smoke"] == {"status": "skipped"}
    assert any(n.startswith("no local python3.12 found (looked at: python3.12 on PATH; pyenv") and
               n.endswith("layer ships without pyc (every cold start compiles the imported modules)")
               for n in build.notes)
    assert "smoke test skipped: no local python3.12" in build.notes


@pytest.mark.skipif(find_interpreter((3, 12)) is None, reason="no python3.12 on PATH or in pyenv here")
def test_python312_layer_gets_pyc_and_a_smoke_test_from_a_discovered_interpreter(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0", runtime="python3.12"), cache_dir=tmp_path)
    assert build.report["smoke"]["status"] == "passed"
    assert build.report["pyc"]["interpreter"].startswith("3.12.") and build.report["pyc"]["compiled"] == 3
    assert (build.site_dir / "tinycalc" / "__pycache__" / "__init__.cpython-312.pyc").is_file()


def test_a_package_that_needs_its_docstrings_falls_back_and_the_note_names_the_option(
        index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "docneedy==1.0"), cache_dir=tmp_path)
    assert build.report["smoke"]["status"] == "passed"
    assert build.report["pyc"]["docstrings_kept_for"] == ["docneedy"]
    note = next(n for n in build.notes if n.startswith("docneedy needs its docstrings at import"))
    assert "keep_docstrings" in note and "--keep-docstrings docneedy" in note and "ValueError" in note
    data = (build.site_dir / "docneedy" / "__pycache__" / "_params.cpython-311.pyc").read_bytes()
    assert b"hue: the grouping variable" in data


def test_docstrings_read_through_pydoc_at_import_stay_and_the_rest_are_emptied(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "docread==1.0"), cache_dir=tmp_path)
    data = (build.site_dir / "docread" / "__pycache__" / "__init__.cpython-311.pyc").read_bytes()
    assert b"A distribution: its docs are assembled." in data and b"Cumulative distribution function." in data
    assert b"Probability density" not in data, "a docstring nobody reads at import is still emptied"
    assert build.report["pyc"]["docstrings_read_at_import"] == 2 and build.report["pyc"]["docstrings_stripped"] == 1
    probe = ("import sys, inspect; sys.path.insert(0, sys.argv[1]); inspect.getcomments = None; import docread; "
             "print(docread.DOCS == ['A distribution: its docs are assembled.', 'Cumulative distribution function.'])")
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", probe, str(build.site_dir)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True"], "pydoc.getdoc finds the docstrings and never falls back to parsing the source"


def test_keep_docstrings_skips_the_failed_first_attempt(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "docneedy==1.0", keep_docstrings=("docneedy",)), cache_dir=tmp_path)
    assert build.report["pyc"]["docstrings_kept_for"] == [] and build.report["pyc"]["docstrings_stripped"] == 0
    assert not [n for n in build.notes if "docstrings" in n]


def test_sourceless_ships_pyc_in_place_of_sources_and_tracebacks_name_the_file(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0", sourceless=True), cache_dir=tmp_path)
    site = build.site_dir
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.py*")) == [
        "tinycalc/__init__.pyc", "tinycalc/_core.pyc", "tinydep/__init__.pyc"]
    assert build.report["pyc"]["sourceless"]["modules"] == 3 and build.report["smoke"]["status"] == "passed"
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import tinycalc; print(tinycalc.mul(6, 7)); "
            "tinycalc.add(None, 1)")
    proc = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", code, str(site)], capture_output=True, text=True,
                          check=False)
    assert proc.stdout.strip() == "42"
    assert 'File "/opt/python/tinycalc/_core.py", line 5, in add' in proc.stderr


def test_errors_name_the_layer(index: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"^layer 'plotting': brokenimport: smoke test failed") as err:
        build_layer(offline_spec(index, "brokenimport==1.0", name="plotting"), cache_dir=tmp_path)
    assert err.value.layer == "plotting" and "Traceback" not in str(err.value) and "Traceback" in err.value.details


def test_cli_prints_pip_output_only_with_verbose(index: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["build", "-r", "sdistonly==1.0", "--no-index", "--find-links", str(index), "--cache-dir", str(tmp_path),
            "--name", "extras"]
    assert main(argv) == 1
    quiet = capsys.readouterr().err
    assert "error: layer 'extras': sdistonly==1.0: no wheel" in quiet and "--verbose" in quiet
    assert main([*argv, "--verbose"]) == 1
    loud = capsys.readouterr().err
    assert len(loud.splitlines()) > len(quiet.splitlines())


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="needs an x86_64 host")
def test_arm64_layer_on_x86_64_compiles_all_pyc_but_cannot_smoke_test(index: Path, tmp_path: Path) -> None:
    build = build_layer(offline_spec(index, "tinycalc==1.0", architecture="arm64", pyc="all"), cache_dir=tmp_path)
    assert build.report["smoke"] == {"status": "skipped"}
    assert build.report["pyc"]["compiled"] == 3 and build.report["pyc"]["docstrings_stripped"] == 0
    assert any("smoke test skipped" in n and "arm64" in n for n in build.notes)


def test_function_budget_counts_every_layer_and_the_code_and_says_what_would_fit() -> None:
    from components.bundling.report import check_function_budget

    mib = 1024 * 1024
    scientific = {"unzipped_bytes": 170 * mib, "per_package": {"scipy": 90 * mib, "numpy": 45 * mib,
                                                               "pandas": 35 * mib}}
    plotting = {"unzipped_bytes": 85 * mib, "per_package": {"matplotlib": 25 * mib, "pillow": 18 * mib,
                                                             "scikit-learn": 25 * mib, "cycler": 47_583},
                "per_kind": {"py": 30 * mib}}
    assert check_function_budget("ok", [("scientific", scientific)], 1 * mib) == 171 * mib
    with pytest.raises(LayerBuildError) as err:
        check_function_budget("daily-stats", [("scientific", scientific), ("plotting", plotting)], 2 * mib)
    message = str(err.value)
    assert message.startswith("function 'daily-stats' (code 2.0 MiB + scientific 170.0 MiB + plotting 85.0 MiB): "
                              "269,484,032 bytes unzipped is over the Lambda limit of 262,144,000 bytes by 7,340,032")
    assert "top contributors: scipy 90.0 MiB, numpy 45.0 MiB, pandas 35.0 MiB, matplotlib 25.0 MiB, " \
           "scikit-learn 25.0 MiB" in message
    assert "Would fit: without pillow (18.0 MiB); or with sourceless=True" in message and "split" not in message


def test_top_contributors_are_by_size_on_a_cached_build_too(index: Path, tmp_path: Path) -> None:
    """A cached build's record has its keys sorted alphabetically: the report must sort by size itself."""
    build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path)
    messages: list[str] = []
    again = build_layer(offline_spec(index, "tinycalc==1.0"), cache_dir=tmp_path, progress=messages.append)
    per_package = again.report["sizes"]["per_package"]
    assert list(per_package) == sorted(per_package), "the record is alphabetical"
    largest = max(per_package, key=per_package.__getitem__)
    assert again.cached and messages[-1].split("top contributors: ")[1].startswith(largest + " ")


def test_format_contributors_sorts_an_alphabetical_record_by_size() -> None:
    from components.bundling.report import format_contributors

    record = {"contourpy": 850_702, "cycler": 47_583, "matplotlib": 26_829_192, "pillow": 19_254_472}
    assert format_contributors(record, 2) == "matplotlib 25.6 MiB, pillow 18.4 MiB"
