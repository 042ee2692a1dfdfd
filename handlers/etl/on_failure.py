"""ETL failure path: record FAILED with the error and cause in the ledger; the state machine then sends the
same facts to the DLQ and fails.

Input :class:`~handlers.etl.contract.FailureInput` (``error`` is the ``Catch`` result), output
:class:`~handlers.etl.contract.FailureOutput`. ``Cause`` from a Lambda error is a JSON document; its
``errorMessage`` is kept. An item claimed by another execution (a duplicate event) is never overwritten.

Example
-------
>>> failure_message({"Error": "FileRejected", "Cause": '{"errorMessage": "EMPTY_FILE: x"}'})
('FileRejected', 'EMPTY_FILE: x')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from handlers.etl.contract import FailureOutput
from handlers.etl.ingest import parse_detail
from handlers.etl.ledger import FAILED, RunLedger, utc_now
from handlers.etl.settings import EtlSettings, object_id, run_id
from handlers.runtime.errors import EventError
from handlers.runtime.log import get_logger


def failure_message(error: Mapping[str, Any] | None) -> tuple[str, str]:
    """``(error, message)`` from a Step Functions error object (the Lambda ``errorMessage`` when present).

    Example
    -------
    >>> failure_message({"Error": "States.Timeout", "Cause": "timed out"})
    ('States.Timeout', 'timed out')
    """
    error = error or {}
    name = str(error.get("Error") or "Unknown")
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
        return name, str(parsed["errorMessage"])
    return name, str(cause)


def record_failure(event: Mapping[str, Any], *, settings: EtlSettings,
                   ledger: RunLedger | None = None) -> FailureOutput:
    """Mark the run FAILED (creating the item, with the object's bucket/key/version, if ingest never claimed
    it) and return the DLQ facts.

    Example
    -------
    >>> record_failure({"detail": d, "execution_id": "x", "error": e}, settings=s)["status"]  # doctest: +SKIP
    'FAILED'
    """
    ledger = ledger or RunLedger(settings.ledger_table)
    execution = str(event.get("execution_id") or "")
    error, message = failure_message(event.get("error"))
    fields: dict[str, Any] = {"error": error, "error_message": message, "finished_at": utc_now(),
                              "execution_id": execution, "dataset": settings.dataset}
    try:
        bucket, key, _, version = parse_detail(event)
        oid = object_id(bucket, key, version)
        fields.update(bucket=bucket, key=key, version=version, run_id=run_id(oid))
    except EventError:
        oid = f"unknown#{execution}"
    recorded = ledger.fail(oid, execution, fields)
    get_logger().error("run failed", extra={"object_id": oid, "error": error, "error_message": message,
                                            "recorded": recorded})
    return {"object_id": oid, "status": FAILED, "error": error, "message": message, "execution_id": execution,
            "recorded": recorded}


def handler(event: dict[str, Any], context: Any) -> FailureOutput:
    """Lambda entry point (``handlers.etl.on_failure.handler``)."""
    return record_failure(event, settings=EtlSettings.from_env())
