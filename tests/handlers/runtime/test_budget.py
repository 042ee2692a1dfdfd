"""handlers.runtime.budget: the time budget and running code within it."""

from __future__ import annotations

import threading

import pytest

from handlers.runtime.budget import TimeBudget, run_within
from handlers.runtime.errors import TimeBudgetExceeded
from tests.support.lambda_context import LambdaContext


def test_budget_keeps_the_margin_back() -> None:
    budget = TimeBudget.from_context(LambdaContext(remaining_ms=10_000), margin_ms=3_000)
    assert budget.remaining_s() == 7.0 and not budget.expired()


def test_check_raises_timeout_inside_the_margin() -> None:
    budget = TimeBudget(remaining_ms=lambda: 2_000, margin_ms=3_000)
    with pytest.raises(TimeBudgetExceeded) as err:
        budget.check("fit")
    assert err.value.code == "timeout"
    assert err.value.message == "fit stopped 3000 ms before the Lambda timeout"


def test_from_context_rejects_objects_without_a_clock() -> None:
    with pytest.raises(TypeError, match="get_remaining_time_in_millis"):
        TimeBudget.from_context(object())


def test_run_within_returns_the_value() -> None:
    assert run_within(TimeBudget(remaining_ms=lambda: 60_000), lambda: 42) == 42


def test_run_within_reraises_the_work_error() -> None:
    def boom() -> None:
        raise ZeroDivisionError("bad day")

    with pytest.raises(ZeroDivisionError, match="bad day"):
        run_within(TimeBudget(remaining_ms=lambda: 60_000), boom)


def test_run_within_gives_up_on_work_that_never_checks() -> None:
    release = threading.Event()
    try:
        with pytest.raises(TimeBudgetExceeded) as err:
            run_within(TimeBudget(remaining_ms=lambda: 3_050, margin_ms=3_000), release.wait, what="stuck")
        assert err.value.message == "stuck stopped 3000 ms before the Lambda timeout"
    finally:
        release.set()


def test_run_within_refuses_to_start_when_already_expired() -> None:
    started = threading.Event()
    with pytest.raises(TimeBudgetExceeded):
        run_within(TimeBudget(remaining_ms=lambda: 0), started.set)
    assert not started.is_set()
