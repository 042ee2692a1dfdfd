"""The ETL run ledger: one DynamoDB item per source object version (partition key ``object_id``).

Statuses: ``PENDING`` (claimed by ingest) -> ``RUNNING`` (planned) -> ``COMPLETED`` |
``COMPLETED_WITH_REJECTS`` | ``FAILED``. :meth:`RunLedger.claim` is a conditional put, so a second event for
the same object version finds the item and is not processed again; only a ``FAILED`` run can be claimed
again (replayed from the DLQ). Needs ``dynamodb:PutItem``,
``GetItem`` and ``UpdateItem`` on the table.

Example
-------
>>> ledger = RunLedger("sciflow-etl-runs")                               # doctest: +SKIP
>>> ledger.claim("s3://b/k#v1", {"execution_id": "arn:..."})           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from handlers.runtime import clients

PENDING, RUNNING, FAILED = "PENDING", "RUNNING", "FAILED"
COMPLETED, COMPLETED_WITH_REJECTS = "COMPLETED", "COMPLETED_WITH_REJECTS"
STATUSES = (PENDING, RUNNING, COMPLETED, COMPLETED_WITH_REJECTS, FAILED)
KEY = "object_id"
_TEXT_MAX = 4000


def utc_now() -> str:
    """Current UTC time, ISO 8601 with ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunLedger:
    """Reads and writes run items; ``client`` is a boto3 DynamoDB client (created lazily when ``None``)."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client
        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = clients.client("dynamodb")
        return self._client

    def _encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in values.items() if v is not None}

    def get(self, oid: str) -> dict[str, Any] | None:
        """The decoded item for ``oid``, or ``None``."""
        item = self.client.get_item(TableName=self.table, Key={KEY: {"S": oid}}, ConsistentRead=True).get("Item")
        return None if item is None else {k: self._de.deserialize(v) for k, v in item.items()}

    def claim(self, oid: str, fields: Mapping[str, Any], *, reclaim_failed: bool = True) -> dict[str, Any] | None:
        """Create the item as ``PENDING`` unless it exists; return ``None`` on success, else the existing item.

        A ``FAILED`` item may be claimed again (a replay from the DLQ, or a redrive), keeping a count in
        ``attempts``, unless ``reclaim_failed`` is off (a batch run: a failed file waits for its replay instead of
        failing again every night); any other status means the version is being or has been handled.

        Example
        -------
        >>> RunLedger("t", client=fake).claim("s3://b/k#v", {"bucket": "b"})  # doctest: +SKIP
        """
        now = utc_now()
        previous = self.get(oid)
        attempts = int(previous.get("attempts", 1)) + 1 if previous else 1
        item = {**fields, KEY: oid, "status": PENDING, "created_at": now, "updated_at": now, "attempts": attempts}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#k)",
                                     "ExpressionAttributeNames": {"#k": KEY}}
        if reclaim_failed:
            condition = {"ConditionExpression": "attribute_not_exists(#k) OR #s = :failed",
                         "ExpressionAttributeNames": {"#k": KEY, "#s": "status"},
                         "ExpressionAttributeValues": {":failed": {"S": FAILED}}}
        try:
            self.client.put_item(TableName=self.table, Item=self._encode(item), **condition)
            return None
        except self.client.exceptions.ConditionalCheckFailedException:
            return self.get(oid) or {}

    def _set(self, oid: str, status: str, fields: Mapping[str, Any], condition: str | None,
             names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        data = {k: (v[:_TEXT_MAX] if isinstance(v, str) else v) for k, v in fields.items()}
        data.update(status=status, updated_at=utc_now())
        encoded = self._encode(data)
        self.client.update_item(
            TableName=self.table, Key={KEY: {"S": oid}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(encoded))),
            ExpressionAttributeNames={**{f"#f{i}": k for i, k in enumerate(encoded)}, **names},
            ExpressionAttributeValues={**{f":v{i}": v for i, v in enumerate(encoded.values())}, **values},
            **({"ConditionExpression": condition} if condition else {}),
        )

    def update(self, oid: str, status: str, fields: Mapping[str, Any] | None = None) -> None:
        """Set ``status``, ``updated_at`` and ``fields`` on an existing item (strings cut to 4000 characters).

        Example
        -------
        >>> RunLedger("t", client=fake).update("s3://b/k#v", "RUNNING", {"rows_total": 10})  # doctest: +SKIP
        """
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        self._set(oid, status, fields or {}, "attribute_exists(#k)", {"#k": KEY}, {})

    def fail(self, oid: str, execution_id: str, fields: Mapping[str, Any]) -> bool:
        """Mark ``oid`` FAILED unless another execution owns it; create it when missing. True if written.

        Example
        -------
        >>> RunLedger("t", client=fake).fail("s3://b/k#v", "arn:exec", {"error": "x"})  # doctest: +SKIP
        True
        """
        try:
            self._set(oid, FAILED, fields, "attribute_not_exists(#k) OR #e = :me",
                      {"#k": KEY, "#e": "execution_id"}, {":me": {"S": execution_id}})
            return True
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
