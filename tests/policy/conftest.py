"""Policy tests: under mutation testing (mutmut sets MUTANT_UNDER_TEST), memoized IAM data, verdicts and archive
sizes are cleared before each test, so a cache filled before the fork cannot hide a mutant."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from policy.policies import _archives, packaging
from policy.policies._iamdoc import clear_caches


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    if os.environ.get("MUTANT_UNDER_TEST"):
        clear_caches()
        _archives._CACHE.clear()
        packaging._public_layers.cache_clear()
    yield
