"""The awsguard-style cases of every policy, run once here: the happy path passes, each one-property change
fails with its message, a missing property, an unknown value, and a config override.

The cases live beside the policy area's other tests (``CASES`` in test_iam, test_public_access_encryption and
test_packaging_sfn_hygiene)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy.helpers import (
    Case,
    check_config,
    check_failing,
    check_happy,
    check_missing,
    check_unknown,
    expand_failing,
    failing_ids,
    ids,
)
from tests.policy.test_iam import CASES as IAM_CASES
from tests.policy.test_packaging_sfn_hygiene import CASES as PACKAGING_CASES
from tests.policy.test_public_access_encryption import CASES as PUBLIC_CASES

CASES = [*IAM_CASES, *PUBLIC_CASES, *PACKAGING_CASES]
CONFIG_CASES = [c for c in CASES if c.config]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_happy_path_passes(case: Case) -> None:
    check_happy(case)


@pytest.mark.parametrize(("case", "path", "value", "expect"), expand_failing(CASES), ids=failing_ids(CASES))
def test_one_change_fails(case: Case, path: str, value: Any, expect: str) -> None:
    check_failing(case, path, value, expect)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_missing_property(case: Case) -> None:
    check_missing(case)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_unknown_value(case: Case) -> None:
    check_unknown(case)


@pytest.mark.parametrize("case", CONFIG_CASES, ids=ids(CONFIG_CASES))
def test_config_override(case: Case) -> None:
    check_config(case)
