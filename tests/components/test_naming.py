"""Explicit physical names: scoped by project and stack, within the service's characters and length."""

from __future__ import annotations

import pytest

from components.naming import kms_alias_name, scoped_name


def test_scope_and_characters() -> None:
    assert scoped_name("sciflow", "prod.eu", "plot ting") == "sciflow-prod-eu-plot-ting"
    assert kms_alias_name("my.proj", "dev", "etl") == "alias/my-proj/dev/etl"


def test_long_names_stay_distinct_after_truncation() -> None:
    a = scoped_name("sciflow", "dev", "x" * 200 + "a", max_len=140)
    b = scoped_name("sciflow", "dev", "x" * 200 + "b", max_len=140)
    assert len(a) == len(b) == 140 and a != b
    assert a.startswith("sciflow-dev-xxx")
    assert len(kms_alias_name("p", "s", "y" * 300)) == 256


def test_project_and_stack_are_required() -> None:
    with pytest.raises(ValueError, match="project and stack are required"):
        scoped_name("", "dev", "x")
