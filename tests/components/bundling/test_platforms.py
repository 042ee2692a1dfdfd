"""Runtime -> glibc -> pip platform tags, per runtime and architecture."""

from __future__ import annotations

import pytest

from components.bundling import LayerBuildError, get_platform, platform_tags


def test_python311_x86_64_accepts_manylinux_2_17_to_2_26() -> None:
    tags = get_platform("python3.11", "x86_64").tags
    assert tags[0] == "manylinux_2_26_x86_64"
    assert tags[-2:] == ("manylinux_2_17_x86_64", "manylinux2014_x86_64")
    assert len(tags) == 11
    assert "manylinux_2_27_x86_64" not in tags and "manylinux_2_28_x86_64" not in tags


def test_python312_arm64_accepts_up_to_glibc_2_34() -> None:
    tags = get_platform("python3.12", "arm64").tags
    assert tags[0] == "manylinux_2_34_aarch64"
    assert tags[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_28_aarch64" in tags
    assert all(t.endswith("_aarch64") for t in tags)
    assert len(tags) == 34 - 17 + 2


@pytest.mark.parametrize(("runtime", "glibc"), [("python3.9", "2.26"), ("python3.10", "2.26"), ("python3.11", "2.26"),
                                                ("python3.12", "2.34"), ("python3.13", "2.34"), ("python3.14", "2.34")])
def test_runtime_glibc_map(runtime: str, glibc: str) -> None:
    assert get_platform(runtime, "x86_64").runtime.glibc_version == glibc


def test_pip_args_select_binary_wheels_for_the_target_interpreter() -> None:
    args = get_platform("python3.13", "x86_64").pip_args()
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.13"
    assert args[args.index("--implementation") + 1] == "cp"
    assert args[args.index("--abi") + 1] == "cp313"
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    assert platforms == list(platform_tags((2, 34), "x86_64"))


def test_unsupported_runtime_is_named() -> None:
    with pytest.raises(LayerBuildError, match=r"runtime: 'python3\.8' is not a supported .*python3\.11") as err:
        get_platform("python3.8", "x86_64")
    assert err.value.reason == "unsupported-runtime"


def test_unsupported_architecture_is_named() -> None:
    with pytest.raises(LayerBuildError, match=r"architecture: 'aarch64' is not a Lambda architecture"):
        get_platform("python3.11", "aarch64")


def test_glibc_older_than_manylinux2014_is_rejected() -> None:
    with pytest.raises(ValueError, match="older than manylinux2014"):
        platform_tags((2, 12), "x86_64")
