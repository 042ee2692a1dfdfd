"""Fixtures shared by every test area.

Helpers the fixtures are built on (and that tests import directly) live in :mod:`tests.support`; an area's
own fixtures live in its ``conftest.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lambda_context import REGION, LambdaContext

SAMPLE_PROGRAM = Path(__file__).resolve().parent / "fixtures" / "sample_program" / "__main__.py"

#: Pulumi programs under test and their assets: run by the tests, never collected (importing one would
#: declare resources outside a program run).
collect_ignore = ["fixtures", "programs"]


@pytest.fixture(autouse=True)
def fresh_sdk_clients() -> Iterator[None]:
    """Each test starts without the process's cached SDK clients (:mod:`handlers.runtime.clients`), so no test
    talks to the embedded AWS of an earlier one."""
    from handlers.runtime import clients

    clients.clear()
    yield
    clients.clear()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so no test can reach a real AWS account through the environment."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def embedded() -> Iterator[object]:
    """A fresh embedded AWS (moto, strict) for the test."""
    from sandbox.aws import embedded_aws

    with embedded_aws(REGION) as aws:
        yield aws


@pytest.fixture(autouse=True)
def _fresh_authz_memos() -> None:
    """Under mutation testing (``make mutation-authz``) the IAM engine's memoized lookups are cleared before each test
    while mutmut maps tests to functions (``MUTANT_UNDER_TEST=stats``) or tests a mutant of the catalog: a memo
    filled earlier would hide the function, or the mutant, behind it. (Clearing costs ~0.1 s a test.)"""
    catalog = sys.modules.get("sandbox.authz.catalog")
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if catalog is not None and (mutant == "stats" or mutant.startswith("sandbox.authz.catalog.")):
        catalog.clear_caches()


@pytest.fixture(scope="session")
def sample_graph() -> object:
    """The sample program (``tests/fixtures/sample_program``) synthesized once per session (read-only)."""
    from sandbox.services import synth_for_sandbox

    return synth_for_sandbox(SAMPLE_PROGRAM, stack="sample")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``make test`` (``SCIFLOW_FULL_SUITE=1``) a run that deselected tests or ran none fails.

    pytest exits 5 when nothing is collected, but ``-k``/``-m`` in ``PYTEST_ADDOPTS`` or ``--collect-only``
    would still exit 0 while running less than the suite: CI must not pass on that.
    """
    if not os.environ.get("SCIFLOW_FULL_SUITE") or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {})
    ran = sum(len(stats.get(key, [])) for key in ("passed", "failed", "error", "xfailed", "xpassed"))
    deselected = len(stats.get("deselected", []))
    if ran == 0 or deselected:
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"SCIFLOW_FULL_SUITE: {ran} tests ran, {deselected} deselected: the full suite "
                                "must run (unset PYTEST_ADDOPTS, no -k/-m)", red=True)
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
