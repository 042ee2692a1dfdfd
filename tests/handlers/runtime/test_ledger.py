"""handlers.runtime.ledger: conditional transitions and leases (moto DynamoDB)."""

from __future__ import annotations

import pytest

from handlers.runtime.errors import LedgerError
from handlers.runtime.ledger import FAILED, PENDING, RUNNING, SUCCESS, ClaimRefused, Ledger
from tests.support.runtime import TABLE, Aws

DAY = "2026-03-01"


class Clock:
    def __init__(self, now: float = 1_772_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ledger(aws: Aws, clock: Clock | None = None) -> Ledger:
    return Ledger(TABLE, "daily-stats", client=aws.dynamodb, clock=clock or Clock())


def test_ensure_pending_creates_once(aws: Aws) -> None:
    book = ledger(aws)
    assert book.ensure_pending(DAY) is True
    assert book.ensure_pending(DAY) is False
    record = book.get(DAY)
    assert record is not None and (record.status, record.attempts) == (PENDING, 0)


def test_claim_moves_pending_to_running_with_a_lease(aws: Aws) -> None:
    clock = Clock()
    book = ledger(aws, clock)
    book.ensure_pending(DAY)
    record = book.claim(DAY, "run-1", lease_s=180)
    assert (record.status, record.run_id, record.attempts) == (RUNNING, "run-1", 1)
    assert record.lease_expires_at == int(clock.now) + 180


def test_live_lease_refuses_a_second_claim(aws: Aws) -> None:
    book = ledger(aws)
    book.claim(DAY, "run-1", lease_s=180)
    with pytest.raises(ClaimRefused) as refused:
        book.claim(DAY, "run-2", lease_s=180)
    assert (refused.value.record.status, refused.value.record.run_id) == (RUNNING, "run-1")


def test_expired_lease_can_be_claimed_again(aws: Aws) -> None:
    clock = Clock()
    book = ledger(aws, clock)
    book.claim(DAY, "run-1", lease_s=180)
    clock.now += 181
    record = book.claim(DAY, "run-2", lease_s=180)
    assert (record.run_id, record.attempts) == ("run-2", 2)


def test_success_is_never_claimed_again(aws: Aws) -> None:
    book = ledger(aws)
    book.claim(DAY, "run-1", lease_s=180)
    book.succeed(DAY, "run-1", summary={"n": 1}, artifacts=["k"], manifest_key="m")
    with pytest.raises(ClaimRefused) as refused:
        book.claim(DAY, "run-2", lease_s=180)
    assert refused.value.record.status == SUCCESS
    assert refused.value.record.summary == {"n": 1}


def test_failed_records_code_message_and_can_be_retried(aws: Aws) -> None:
    book = ledger(aws)
    book.claim(DAY, "run-1", lease_s=180)
    failed = book.fail(DAY, "run-1", error_code="ValueError", error="bad input")
    assert (failed.status, failed.error_code, failed.error) == (FAILED, "ValueError", "bad input")
    retried = book.claim(DAY, "run-2", lease_s=180)
    assert (retried.status, retried.attempts, retried.error) == (RUNNING, 2, "")


def test_only_the_claim_holder_can_finish(aws: Aws) -> None:
    clock = Clock()
    book = ledger(aws, clock)
    book.claim(DAY, "run-1", lease_s=180)
    clock.now += 181
    book.claim(DAY, "run-2", lease_s=180)
    with pytest.raises(LedgerError) as err:
        book.succeed(DAY, "run-1", summary={}, artifacts=[], manifest_key="m")
    assert err.value.code == "LedgerConflict"
    assert err.value.message == "2026-03-01: run run-1 no longer holds the claim; not marking SUCCESS"


def test_computations_sharing_a_table_do_not_collide(aws: Aws) -> None:
    ledger(aws).claim(DAY, "run-1", lease_s=180)
    other = Ledger(TABLE, "other", client=aws.dynamodb).claim(DAY, "run-9", lease_s=180)
    assert (other.computation, other.attempts) == ("other", 1)
