"""A time budget derived from the Lambda context, so work stops before the Lambda timeout.

``TimeBudget.from_context(context, margin_ms)`` keeps ``margin_ms`` back for bookkeeping (recording
FAILED("timeout") in a ledger). Long loops call ``budget.check()``; :func:`run_within` also enforces the
budget on code that never checks, by running it in a worker thread and giving up when the budget is spent.

Example
-------
>>> budget = TimeBudget(remaining_ms=lambda: 10_000, margin_ms=3_000)
>>> budget.remaining_s()
7.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from handlers.runtime.errors import TimeBudgetExceeded

T = TypeVar("T")
DEFAULT_MARGIN_MS = 3_000


@dataclass(frozen=True)
class TimeBudget:
    """Remaining time until the safety margin before the Lambda timeout.

    Parameters
    ----------
    remaining_ms:
        a clock, normally ``context.get_remaining_time_in_millis``.
    margin_ms:
        time kept back for recording the outcome.
    """

    remaining_ms: Callable[[], int]
    margin_ms: int = DEFAULT_MARGIN_MS

    @classmethod
    def from_context(cls, context: Any, margin_ms: int = DEFAULT_MARGIN_MS) -> TimeBudget:
        """Build from a Lambda context (anything with ``get_remaining_time_in_millis``).

        Example
        -------
        >>> class Ctx:
        ...     def get_remaining_time_in_millis(self): return 5000
        >>> TimeBudget.from_context(Ctx(), margin_ms=1000).remaining_s()
        4.0
        """
        clock = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(clock):
            raise TypeError("context has no get_remaining_time_in_millis(); pass a Lambda context")
        return cls(remaining_ms=clock, margin_ms=margin_ms)

    def remaining_s(self) -> float:
        """Seconds left before the margin (negative when already past it)."""
        return (self.remaining_ms() - self.margin_ms) / 1000.0

    def expired(self) -> bool:
        """True when the margin has been reached."""
        return self.remaining_s() <= 0

    def check(self, what: str = "work") -> None:
        """Raise :class:`TimeBudgetExceeded` when the budget is spent.

        Example
        -------
        >>> TimeBudget(remaining_ms=lambda: 100, margin_ms=3000).check("fit")
        Traceback (most recent call last):
        ...
        handlers.runtime.errors.TimeBudgetExceeded: timeout: fit stopped ...
        """
        if self.expired():
            raise TimeBudgetExceeded(f"{what} stopped {self.margin_ms} ms before the Lambda timeout")


def run_within(budget: TimeBudget, fn: Callable[[], T], *, what: str = "work") -> T:
    """Run ``fn`` and return its value, or raise :class:`TimeBudgetExceeded` when the budget runs out first.

    ``fn`` runs in a daemon thread; on timeout it is abandoned (Lambda freezes the sandbox afterwards), so it
    must not write anything the caller has not yet decided to keep: collect results, write them afterwards.

    Example
    -------
    >>> run_within(TimeBudget(remaining_ms=lambda: 60_000), lambda: 42)
    42
    """
    budget.check(what)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"sciflow-{what}", daemon=True)
    worker.start()
    worker.join(timeout=max(budget.remaining_s(), 0.0))
    if worker.is_alive():
        raise TimeBudgetExceeded(f"{what} stopped {budget.margin_ms} ms before the Lambda timeout")
    if "error" in box:
        raise box["error"]
    return box["value"]
