"""bench.mutation: every target names files that exist, and the mutmut config it writes says what it mutates."""

from __future__ import annotations

import tomllib

import pytest

from bench.mutation import ROOT, TARGETS, _config


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_paths_and_tests_exist(name: str) -> None:
    target = TARGETS[name]
    for path in (*target.paths, *target.tests, *target.do_not_mutate):
        assert (ROOT / path).exists(), f"{name}: {path} does not exist"


def test_config_is_the_target_s_own() -> None:
    target = TARGETS["authz"]
    config = tomllib.loads(_config(["sandbox/authz/policy.py"], target))["tool"]["mutmut"]
    assert config["source_paths"] == ["sandbox/authz/policy.py"]
    assert config["pytest_add_cli_args_test_selection"] == list(target.tests)
    assert config["do_not_mutate"] == []
    assert "sandbox" in config["also_copy"]

