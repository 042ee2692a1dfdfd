"""Layer lock files: resolve once with hashes, build only from the lock, same bytes in any process and cache."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.bundling import LayerBuildError, build_layer
from components.bundling.archive import file_sha256
from components.bundling.lock import LayerLock, fetch_locked, parse, read_lock, render, resolve_lock, write_lock
from components.bundling.resolve import ResolvedWheel, index_args
from tests.components.bundling.wheels import make_wheel, offline_spec, standard_index

WHEEL = ResolvedWheel("tinydep", "1.0", "tinydep-1.0-py3-none-any.whl", "ab" * 32)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standard_index(tmp_path_factory.mktemp("index"))


@pytest.fixture
def lock_file(index: Path, tmp_path: Path) -> Path:
    path = tmp_path / "locks" / "calc.txt"
    write_lock(path, resolve_lock(offline_spec(index, "tinycalc==1.0", "tinydep==1.0"), cache_dir=tmp_path / "res"))
    return path


def test_render_and_parse_round_trip() -> None:
    lock = LayerLock(("tinydep==1.0",), "python3.12", "arm64", (WHEEL,))
    text = render(lock)
    assert parse(text) == lock and render(parse(text)) == text
    assert "tinydep==1.0 \\\n    --hash=sha256:" + "ab" * 32 in text  # pip's own hash-checking format


@pytest.mark.parametrize(("text", "message"), [
    ("numpy==1 \\\n", "numpy has no hash or wheel line"),
    ("hello\n", "unexpected line 'hello'"),
    ("# runtime: python3.11\n", "not a sciflow layer lock"),
])
def test_bad_lock_text_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(LayerBuildError, match=message) as err:
        parse(text, "x.txt")
    assert "make lock" in str(err.value)


def test_resolve_lock_pins_every_distribution_with_its_file_hash(lock_file: Path, tmp_path: Path) -> None:
    lock = parse(lock_file.read_text())
    assert [(w.key, w.version) for w in lock.wheels] == [("tinycalc", "1.0"), ("tinydep", "1.0"), ("urllib3", "9.9")]
    for wheel in lock.wheels:
        assert file_sha256(tmp_path / "res" / ".wheels" / wheel.filename) == wheel.sha256


def test_missing_and_stale_locks_say_to_run_make_lock(lock_file: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerBuildError, match=r"no lock file for this layer; run `make lock`") as err:
        read_lock(tmp_path / "nope.txt", ("tinycalc==1.0",), "python3.11", "x86_64")
    assert err.value.reason == "missing-lock"
    with pytest.raises(LayerBuildError, match=r"stale lock \(requirements .* -> .*tinycalc==1\.0'\]; runtime "
                                              r"python3\.11 -> python3\.12\)") as err:
        read_lock(lock_file, ("tinycalc==1.0",), "python3.12", "x86_64")
    assert err.value.reason == "stale-lock"


def test_build_installs_only_the_locked_wheels(index: Path, lock_file: Path, tmp_path: Path) -> None:
    # the index also has tinydep 2.0, which a fresh resolution of an unpinned "tinydep" would pick
    spec = dataclasses.replace(offline_spec(index, "tinycalc==1.0", "tinydep==1.0"), lock_file=lock_file)
    build = build_layer(spec, cache_dir=tmp_path / "cache")
    assert build.packages == {"tinycalc": "1.0", "tinydep": "1.0"}
    assert not (tmp_path / "cache" / ".resolve").exists(), "a locked build never resolves"
    assert build.report["resolved"][0]["sha256"] == parse(lock_file.read_text()).wheels[0].sha256


def test_a_corrupt_stored_wheel_is_fetched_again(index: Path, lock_file: Path, tmp_path: Path) -> None:
    lock = parse(lock_file.read_text())
    store = tmp_path / "store"
    store.mkdir()
    (store / lock.wheels[1].filename).write_bytes(b"not the locked file")
    fetch_locked(lock, offline_spec(index, "x").platform(), store, index_args(None, (str(index),), True))
    assert all(file_sha256(store / w.filename) == w.sha256 for w in lock.wheels)


def test_a_wheel_that_changed_on_the_index_fails_the_hash_check(lock_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-index"
    make_wheel(other, "tinydep", "1.0", {"tinydep/__init__.py": "def ident(x):\n    return -x\n"})  # same name
    lock = parse(lock_file.read_text())
    only_dep = dataclasses.replace(lock, wheels=tuple(w for w in lock.wheels if w.key == "tinydep"))
    with pytest.raises(LayerBuildError, match="pip could not fetch the locked wheels") as err:
        fetch_locked(only_dep, offline_spec(other, "x").platform(), tmp_path / "store",
                     index_args(None, (str(other),), True))
    assert "HASH" in err.value.details.upper()


def test_cache_key_does_not_depend_on_the_host(index: Path, lock_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from components.bundling import builder

    spec = dataclasses.replace(offline_spec(index, "tinycalc==1.0", "tinydep==1.0"), lock_file=lock_file)
    first = build_layer(spec, cache_dir=tmp_path / "a")
    monkeypatch.setattr(builder, "tool_version", lambda _tool: "strip 9.99 (another host)")
    real = builder.find_interpreter

    def another_patch_release(python: tuple[int, int]) -> object:
        found = real(python)
        return dataclasses.replace(found, version="3.11.99") if found is not None else None

    monkeypatch.setattr(builder, "find_interpreter", another_patch_release)
    second = build_layer(spec, cache_dir=tmp_path / "b")
    assert first.cache_key == second.cache_key
    third = build_layer(dataclasses.replace(spec, strip_docstrings=False), cache_dir=tmp_path / "b")
    assert third.cache_key != first.cache_key  # build options are part of the key


def test_two_processes_with_empty_caches_build_byte_identical_zips(index: Path, lock_file: Path,
                                                                   tmp_path: Path) -> None:
    outs = []
    for name in ("first", "second"):
        cmd = [sys.executable, "-m", "components.bundling", "build", "-r", "tinycalc==1.0", "-r", "tinydep==1.0",
               "--lock", str(lock_file), "--no-index", "--find-links", str(index), "--cache-dir",
               str(tmp_path / name), "--json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[3])
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first, second = (Path(o["zip_path"]) for o in outs)
    assert first != second and first.read_bytes() == second.read_bytes()
    assert outs[0]["cached"] is False and outs[1]["cached"] is False


def test_lock_command_writes_and_reports_unchanged(index: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "components.bundling", "lock", "-r", "tinydep==1.0", "--no-index", "--find-links",
           str(index), "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "dep.txt")]
    outputs = [subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3]).stdout
               for _ in range(2)]
    assert outputs[0].strip().endswith("1 wheels") and outputs[1].strip().endswith("(unchanged)")
    assert parse((tmp_path / "dep.txt").read_text()).wheels[0].key == "tinydep"


def test_updating_rewrites_stale_locks_and_refuses_two_meanings_of_one_file(index: Path, tmp_path: Path) -> None:
    from components.bundling.lock import updating

    path = tmp_path / "dep.txt"
    write_lock(path, LayerLock(("tinydep==1.0",), "python3.11", "x86_64", (WHEEL,)))  # stale: 2.0 asked below
    spec = dataclasses.replace(offline_spec(index, "tinydep==2.0"), lock_file=path)
    with updating() as written:
        build = build_layer(spec, cache_dir=tmp_path / "c")
        assert written == {path: ({"requirements": ["tinydep==2.0"], "runtime": "python3.11",
                                   "architecture": "x86_64"}, "written")}
        with pytest.raises(LayerBuildError, match="two layers share this lock but ask for different things"):
            build_layer(dataclasses.replace(spec, requirements=("tinydep==1.0",)), cache_dir=tmp_path / "c")
    assert build.packages == {"tinydep": "2.0"}
    assert read_lock(path, ("tinydep==2.0",), "python3.11", "x86_64").wheels[0].version == "2.0"


def _botocore_layer(site: Path) -> None:
    for service in ("s3", "dynamodb", "ec2"):
        (site / "botocore" / "data" / service / "2006-03-01").mkdir(parents=True)
        (site / "botocore" / "data" / service / "2006-03-01" / "service-2.json.gz").write_bytes(b"x" * 1000)
    (site / "botocore" / "data" / "endpoints.json").write_text("{}")
    (site / "boto3" / "data" / "ec2" / "2016-11-15").mkdir(parents=True)


def test_prune_service_models_keeps_the_named_services_and_shared_data(tmp_path: Path) -> None:
    from components.bundling.sdk import prune_service_models

    _botocore_layer(tmp_path)
    note = prune_service_models(tmp_path, ("s3", "dynamodb"))
    assert sorted(p.name for p in (tmp_path / "botocore" / "data").iterdir()) == ["dynamodb", "endpoints.json", "s3"]
    assert not (tmp_path / "boto3" / "data" / "ec2").exists()
    assert note == "sdk: kept the botocore models of dynamodb, s3; removed 2 others (0.0 MB)"


def test_prune_service_models_rejects_unknown_services_and_missing_botocore(tmp_path: Path) -> None:
    from components.bundling.sdk import prune_service_models

    with pytest.raises(LayerBuildError, match="the layer ships no botocore"):
        prune_service_models(tmp_path, ("s3",))
    _botocore_layer(tmp_path)
    with pytest.raises(LayerBuildError, match=r"sdk_services: s4 not among botocore's 3 service models"):
        prune_service_models(tmp_path, ("s3", "s4"))
    assert (tmp_path / "botocore" / "data" / "ec2").is_dir(), "nothing is removed when the list is wrong"
