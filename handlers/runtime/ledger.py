"""The run ledger of scheduled computations: one DynamoDB item per (business date, computation).

Table schema: partition key ``date`` (``YYYY-MM-DD``), sort key ``computation`` (so several computations may
share one table). States and the only allowed transitions, each a conditional write::

    (none) --ensure_pending--> PENDING --claim--> RUNNING --succeed--> SUCCESS
                                   FAILED --claim--> RUNNING --fail--> FAILED
                 RUNNING with an expired lease --claim--> RUNNING (attempts + 1)

A SUCCESS item is never claimed again. ``claim`` sets ``lease_expires_at``; while the lease runs, other
claims are refused (:class:`ClaimRefused` carries the current item). ``succeed``/``fail`` only apply while
the caller still holds the claim (same ``run_id`` and status RUNNING). Needs only ``dynamodb:GetItem``,
``PutItem`` and ``UpdateItem`` on the table.

Example
-------
>>> ledger = Ledger("sciflow-ledger", "daily-stats")                    # doctest: +SKIP
>>> ledger.ensure_pending("2026-03-01"); claim = ledger.claim("2026-03-01", "run-1", lease_s=180)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from handlers.runtime import clients
from handlers.runtime.errors import LedgerError

PENDING, RUNNING, SUCCESS, FAILED = "PENDING", "RUNNING", "SUCCESS", "FAILED"
STATUSES = (PENDING, RUNNING, SUCCESS, FAILED)
_ERROR_MAX = 2000


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger item, decoded."""

    date: str
    computation: str
    status: str
    run_id: str = ""
    attempts: int = 0
    lease_expires_at: int = 0
    scheduled_time: str = ""
    code_hash: str = ""
    started_at: str = ""
    finished_at: str = ""
    error_code: str = ""
    error: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: tuple[str, ...] = ()
    manifest_key: str = ""
    inputs: tuple[str, ...] = ()
    """``s3://`` URIs of the objects the run read (through ``RunContext.s3_client``)."""
    outputs: tuple[str, ...] = ()
    """``s3://`` URIs of the objects the run wrote into its outputs (:mod:`handlers.runtime.outputs`)."""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LedgerRecord:
        """Decode a low-level DynamoDB item (``{"date": {"S": ...}, ...}``)."""

        def s(key: str) -> str:
            return str(item.get(key, {}).get("S", ""))

        def n(key: str) -> int:
            return int(item.get(key, {}).get("N", "0"))

        return cls(
            date=s("date"), computation=s("computation"), status=s("status"), run_id=s("run_id"),
            attempts=n("attempts"), lease_expires_at=n("lease_expires_at"), scheduled_time=s("scheduled_time"),
            code_hash=s("code_hash"), started_at=s("started_at"), finished_at=s("finished_at"),
            error_code=s("error_code"), error=s("error"),
            summary=json.loads(s("summary") or "{}"),
            artifacts=tuple(v["S"] for v in item.get("artifacts", {}).get("L", [])),
            manifest_key=s("manifest_key"),
            inputs=tuple(v["S"] for v in item.get("inputs", {}).get("L", [])),
            outputs=tuple(v["S"] for v in item.get("outputs", {}).get("L", [])),
        )

    def lease_active(self, now: float) -> bool:
        """True while a RUNNING claim still blocks other runs."""
        return self.status == RUNNING and self.lease_expires_at > now


class ClaimRefused(Exception):
    """``claim`` did not take the date: ``record`` is SUCCESS (done) or RUNNING under a live lease."""

    def __init__(self, record: LedgerRecord) -> None:
        super().__init__(f"{record.date} is {record.status} (run {record.run_id})")
        self.record = record


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Ledger:
    """Conditional-write ledger for one computation in ``table``.

    Parameters
    ----------
    table, computation:
        the DynamoDB table and the computation's name (sort key).
    client:
        a boto3 DynamoDB client; created lazily when ``None``.
    clock:
        epoch seconds; injectable for tests of lease expiry.

    Example
    -------
    >>> Ledger("t", "daily-stats").key("2026-03-01")
    {'date': {'S': '2026-03-01'}, 'computation': {'S': 'daily-stats'}}
    """

    def __init__(self, table: str, computation: str, client: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.computation = computation
        self._client = client
        self.clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("dynamodb")
        return self._client

    def key(self, date: str) -> dict[str, Any]:
        """The item key of ``date``."""
        return {"date": {"S": date}, "computation": {"S": self.computation}}

    def get(self, date: str) -> LedgerRecord | None:
        """The record of ``date`` (strongly consistent), or ``None``."""
        response = self.client.get_item(TableName=self.table, Key=self.key(date), ConsistentRead=True)
        item = response.get("Item")
        return LedgerRecord.from_item(item) if item else None

    def ensure_pending(self, date: str, *, scheduled_time: str = "") -> bool:
        """Create a PENDING item for ``date`` unless one exists; True when it was created."""
        item = {**self.key(date), "status": {"S": PENDING}, "attempts": {"N": "0"},
                "scheduled_time": {"S": scheduled_time}}
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(#d)",
                                 ExpressionAttributeNames={"#d": "date"})
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False

    def claim(self, date: str, run_id: str, *, lease_s: int, scheduled_time: str = "",
              code_hash: str = "") -> LedgerRecord:
        """Move ``date`` to RUNNING for ``run_id`` (from none, PENDING, FAILED or an expired lease).

        Raises :class:`ClaimRefused` with the current record when it is SUCCESS or under a live lease.

        Example
        -------
        >>> ledger.claim("2026-03-01", "run-1", lease_s=180).status  # doctest: +SKIP
        'RUNNING'
        """
        now = self.clock()
        try:
            response = self.client.update_item(
                TableName=self.table, Key=self.key(date),
                UpdateExpression=("SET #s = :running, run_id = :rid, lease_expires_at = :lease, "
                                  "attempts = if_not_exists(attempts, :zero) + :one, started_at = :now, "
                                  "scheduled_time = :st, code_hash = :ch "
                                  "REMOVE finished_at, error_code, #e"),
                ConditionExpression=("attribute_not_exists(#d) OR #s IN (:pending, :failed) "
                                     "OR (#s = :running AND lease_expires_at < :epoch)"),
                ExpressionAttributeNames={"#s": "status", "#d": "date", "#e": "error"},
                ExpressionAttributeValues={
                    ":running": {"S": RUNNING}, ":pending": {"S": PENDING}, ":failed": {"S": FAILED},
                    ":rid": {"S": run_id}, ":lease": {"N": str(int(now) + lease_s)}, ":zero": {"N": "0"},
                    ":one": {"N": "1"}, ":now": {"S": _iso(now)}, ":epoch": {"N": str(int(now))},
                    ":st": {"S": scheduled_time}, ":ch": {"S": code_hash},
                },
                ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            current = self.get(date)
            if current is None:  # deleted between the two calls: let the caller retry
                raise LedgerError(f"{date}: ledger item vanished during claim") from None
            raise ClaimRefused(current) from None
        return LedgerRecord.from_item(response["Attributes"])

    def succeed(self, date: str, run_id: str, *, summary: dict[str, Any], artifacts: Iterable[str],
                manifest_key: str, inputs: Iterable[str] = (), outputs: Iterable[str] = ()) -> LedgerRecord:
        """RUNNING → SUCCESS for the claim holder, with the summary, artifact keys and the URIs read/written."""
        return self._finish(date, run_id, SUCCESS, {
            "summary": {"S": json.dumps(summary, sort_keys=True, default=str)},
            "artifacts": {"L": [{"S": key} for key in artifacts]},
            "manifest_key": {"S": manifest_key},
            "inputs": {"L": [{"S": uri} for uri in inputs]},
            "outputs": {"L": [{"S": uri} for uri in outputs]},
        })

    def fail(self, date: str, run_id: str, *, error_code: str, error: str) -> LedgerRecord:
        """RUNNING → FAILED for the claim holder, with the error code and message."""
        return self._finish(date, run_id, FAILED, {
            "error_code": {"S": error_code}, "error": {"S": error[:_ERROR_MAX]},
        })

    def _finish(self, date: str, run_id: str, status: str, fields: dict[str, Any]) -> LedgerRecord:
        names = {"#s": "status"}
        values = {":status": {"S": status}, ":running": {"S": RUNNING}, ":rid": {"S": run_id},
                  ":now": {"S": _iso(self.clock())}}
        sets = ["#s = :status", "finished_at = :now", "lease_expires_at = :zero"]
        values[":zero"] = {"N": "0"}
        for i, (name, value) in enumerate(sorted(fields.items())):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        try:
            response = self.client.update_item(
                TableName=self.table, Key=self.key(date), UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#s = :running AND run_id = :rid",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise LedgerError(f"{date}: run {run_id} no longer holds the claim; not marking {status}",
                              ) from None
        return LedgerRecord.from_item(response["Attributes"])
