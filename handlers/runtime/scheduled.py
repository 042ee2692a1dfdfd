"""Scheduled computations: a pure ``compute(ctx) -> Result`` becomes an idempotent Lambda handler.

``handler = scheduled_handler(compute)`` gives a Lambda entry point that, for every EventBridge Scheduler
invocation:

1. parses the event (:func:`parse_event`): ``scheduledTime`` and ``executionId`` are required, as the
   schedule's input template ``{"scheduledTime": "<aws.scheduler.scheduled-time>", ...}`` sends them;
2. derives the business date from the *scheduled* time in the configured time zone (never the Lambda clock);
3. claims the date in the :class:`~handlers.runtime.ledger.Ledger` (PENDING → RUNNING with a lease); a date
   already SUCCESS returns the existing record and writes nothing; a live lease held by another run returns
   ``outcome="in_progress"``; a date whose set is already published (its ``manifest.json`` exists: a crash
   lost only the ledger update) is recorded SUCCESS from that manifest without computing, ``outcome="recovered"``;
4. runs ``compute(ctx)`` inside the time budget, then writes the artifacts write-once under
   ``prefix/date=YYYY-MM-DD/`` with ``result.json`` (the summary) and ``manifest.json`` last;
5. records SUCCESS, or FAILED with the error code ("timeout", "ArtifactConflict", or the exception's class
   name) and re-raises so Lambda counts an error, retries, and finally sends the event to the DLQ;
6. logs start and finish (duration, peak memory) as structured JSON.

Example
-------
>>> from handlers.runtime.scheduled import Result, scheduled_handler
>>> def compute(ctx):
...     return Result(summary={"n": 3}, artifacts={"values.json": {"x": [1, 2, 3]}})
>>> handler = scheduled_handler(compute)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from handlers.runtime import clients, env, validators
from handlers.runtime.artifacts import MANIFEST, ArtifactStore
from handlers.runtime.budget import DEFAULT_MARGIN_MS, TimeBudget, run_within
from handlers.runtime.env import SCHEDULER_INPUT
from handlers.runtime.errors import (
    ArtifactNameError,
    ComputationFailed,
    EventError,
    SciflowError,
    SettingsError,
    TimeBudgetExceeded,
)
from handlers.runtime.ledger import FAILED, RUNNING, SUCCESS, ClaimRefused, Ledger, LedgerRecord
from handlers.runtime.log import get_logger, peak_memory_mb
from handlers.runtime.outputs import RecordingS3

RESULT = "result.json"
DEFAULT_LEASE_S = 960


# --------------------------------------------------------------------------- event and dates
@dataclass(frozen=True)
class ScheduledEvent:
    """A parsed Scheduler invocation."""

    scheduled_time: datetime
    execution_id: str
    attempt: int = 1
    schedule_arn: str = ""
    source: str = "scheduler"


def parse_event(event: Any) -> ScheduledEvent:
    """Validate a Scheduler event (or an EventBridge rule's ``Scheduled Event``) into :class:`ScheduledEvent`.

    Raises :class:`EventError` (code ``InvalidEvent``) naming the bad field.

    Example
    -------
    >>> parse_event({"scheduledTime": "2026-03-01T10:30:00Z", "executionId": "e1"}).scheduled_time.isoformat()
    '2026-03-01T10:30:00+00:00'
    """
    if not isinstance(event, Mapping):
        raise EventError("event", f"must be a JSON object with scheduledTime and executionId, got "
                                  f"{type(event).__name__}")
    if event.get("detail-type") == "Scheduled Event":  # classic EventBridge rule shape
        event = {"scheduledTime": event.get("time"), "executionId": event.get("id"), "source": "events"}
    raw_time = event.get("scheduledTime")
    if raw_time is None:
        raise EventError("scheduledTime", "is required (the schedule input must carry "
                                          "<aws.scheduler.scheduled-time>)")
    if not isinstance(raw_time, str):
        raise EventError("scheduledTime", f"must be an ISO-8601 string, got {raw_time!r}")
    try:
        when = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    except ValueError:
        raise EventError("scheduledTime", f"{raw_time!r} is not an ISO-8601 timestamp") from None
    if when.tzinfo is None:
        raise EventError("scheduledTime", f"{raw_time!r} has no UTC offset (expected e.g. 2026-03-01T10:30:00Z)")
    execution_id = event.get("executionId")
    if not isinstance(execution_id, str) or not execution_id or execution_id.startswith("<aws."):
        raise EventError("executionId", f"must be a non-empty string, got {execution_id!r}")
    raw_attempt = event.get("attemptNumber", 1)
    try:
        attempt = int(raw_attempt)
    except (TypeError, ValueError):
        raise EventError("attemptNumber", f"must be a positive integer, got {raw_attempt!r}") from None
    if attempt < 1:
        raise EventError("attemptNumber", f"must be a positive integer, got {raw_attempt!r}")
    return ScheduledEvent(scheduled_time=when.astimezone(UTC), execution_id=execution_id, attempt=attempt,
                          schedule_arn=str(event.get("scheduleArn", "")),
                          source=str(event.get("source", "scheduler")))


def business_date(scheduled_time: datetime, timezone: str) -> date:
    """The calendar date of ``scheduled_time`` in ``timezone``.

    Example
    -------
    >>> business_date(datetime(2026, 2, 28, 23, 30, tzinfo=UTC), "Asia/Kolkata").isoformat()
    '2026-03-01'
    """
    return scheduled_time.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def date_seed(day: date) -> int:
    """A 64-bit RNG seed derived from the business date alone (same date, same data, on every machine).

    Example
    -------
    >>> date_seed(date(2026, 3, 1)) == date_seed(date(2026, 3, 1))
    True
    """
    return int.from_bytes(hashlib.sha256(day.isoformat().encode()).digest()[:8], "big")


# --------------------------------------------------------------------------- settings, context, result
@dataclass(frozen=True)
class InputLocation:
    """One location a computation may read (``ScheduledComputationArgs.inputs``) or write
    (``ScheduledComputationArgs.outputs``): its role can get (and list) exactly the objects under ``prefix`` in
    ``bucket``, or put objects there.

    >>> InputLocation("b", "p/").uri
    's3://b/p/'
    """

    bucket: str
    prefix: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_locations(text: str, variable: str = env.INPUTS) -> tuple[InputLocation, ...]:
    """``SCIFLOW_INPUTS`` / ``SCIFLOW_OUTPUTS`` (a JSON list of ``{"bucket", "prefix"}``) as InputLocations;
    ``""`` = none.

    >>> parse_locations('[{"bucket": "b", "prefix": "x/"}]')
    (InputLocation(bucket='b', prefix='x/'),)
    >>> parse_locations('{"bucket": "b"}', env.INPUTS)
    Traceback (most recent call last):
    ...
    handlers.runtime.errors.SettingsError: InvalidSettings: SCIFLOW_INPUTS: expected a JSON list of {"bucket", "prefix"}
    """
    if not text:
        return ()
    try:
        items = json.loads(text)
        if not isinstance(items, list):
            raise TypeError
        return tuple(InputLocation(str(item["bucket"]), str(item.get("prefix", ""))) for item in items)
    except (ValueError, TypeError, KeyError):
        raise SettingsError(f'{variable}: expected a JSON list of {{"bucket", "prefix"}}') from None


def parse_inputs(text: str) -> tuple[InputLocation, ...]:
    """``SCIFLOW_INPUTS`` as InputLocations (see :func:`parse_locations`)."""
    return parse_locations(text, env.INPUTS)


@dataclass(frozen=True)
class Settings:
    """Where and how a computation runs; :meth:`from_env` reads the names in :mod:`handlers.runtime.env`."""

    computation: str
    bucket: str
    table: str
    prefix: str = ""
    timezone: str = "UTC"
    code_hash: str = ""
    lease_s: int = DEFAULT_LEASE_S
    margin_ms: int = DEFAULT_MARGIN_MS
    input_uri: str = ""
    inputs: tuple[InputLocation, ...] = ()
    outputs: tuple[InputLocation, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``); keyword overrides win.

        Example
        -------
        >>> Settings.from_env({}, computation="c", bucket="b", table="t").timezone
        'UTC'
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "computation": environ.get(env.COMPUTATION_NAME, ""),
            "bucket": environ.get(env.ARTIFACT_BUCKET, ""),
            "table": environ.get(env.LEDGER_TABLE, ""),
            "prefix": environ.get(env.ARTIFACT_PREFIX, ""),
            "timezone": environ.get(env.TIMEZONE, "UTC"),
            "code_hash": environ.get(env.CODE_HASH, ""),
            "input_uri": environ.get(env.INPUT_URI, ""),
            "inputs": parse_locations(environ.get(env.INPUTS, ""), env.INPUTS),
            "outputs": parse_locations(environ.get(env.OUTPUTS, ""), env.OUTPUTS),
        }
        for name, var, default in (("lease_s", env.LEASE_SECONDS, DEFAULT_LEASE_S),
                                   ("margin_ms", env.SAFETY_MARGIN_MS, DEFAULT_MARGIN_MS)):
            text = environ.get(var)
            try:
                values[name] = int(text) if text else default
            except ValueError:
                raise SettingsError(f"{var}={text!r} is not an integer") from None
        values.update(overrides)
        for name, var in (("computation", env.COMPUTATION_NAME), ("bucket", env.ARTIFACT_BUCKET),
                          ("table", env.LEDGER_TABLE)):
            if not values[name]:
                raise SettingsError(f"{var} is not set (and no {name}= argument was given)")
        try:
            validators.timezone(values["timezone"])
        except validators.Invalid as err:
            raise SettingsError(f"{env.TIMEZONE}: {err}") from None
        return cls(**values)


@dataclass(frozen=True)
class RunContext:
    """What a computation sees: the business date, its run id, a date-seeded RNG and the time budget."""

    computation: str
    business_date: date
    run_id: str
    scheduled_time: datetime
    timezone: str
    budget: TimeBudget
    attempt: int = 1
    input_uri: str = ""
    s3_client: Any = None
    inputs: tuple[InputLocation, ...] = ()
    """The locations this computation may read (``ScheduledComputationArgs.inputs``), in declaration order."""
    outputs: tuple[InputLocation, ...] = ()
    """The locations it may write into (``ScheduledComputationArgs.outputs``): use
    :func:`handlers.runtime.outputs.write_output`."""

    @property
    def seed(self) -> int:
        """:func:`date_seed` of the business date."""
        return date_seed(self.business_date)

    def rng(self) -> Any:
        """A fresh ``numpy.random.Generator`` seeded from the business date (identical on every call)."""
        import numpy as np

        return np.random.default_rng(self.seed)


@dataclass(frozen=True)
class Result:
    """A computation's output: a JSON ``summary`` (stored as ``result.json`` and in the ledger) and
    named artifacts (DataFrame → ``.csv``, dict → ``.json``, Figure → ``.png``, bytes)."""

    summary: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)


Compute = Callable[[RunContext], Result]


# --------------------------------------------------------------------------- the run
def run_scheduled(compute: Compute, event: Any, context: Any, *, settings: Settings | None = None,
                  s3_client: Any = None, dynamodb_client: Any = None,
                  clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Run ``compute`` for the business date of ``event``; see the module docstring for the steps.

    Returns ``{"computation", "date", "status", "outcome", "runId", "attempts", "artifacts", "manifest",
    "summary"}`` where ``outcome`` is ``computed``, ``recovered``, ``already_done`` or ``in_progress``. Raises
    :class:`EventError`, :class:`SettingsError` or :class:`ComputationFailed` (after recording FAILED).

    Example
    -------
    >>> run_scheduled(compute, {"scheduledTime": "2026-03-01T10:30:00Z", "executionId": "e1"},
    ...               lambda_context)  # doctest: +SKIP
    """
    started = time.monotonic()
    parsed = parse_event(event)
    settings = settings or Settings.from_env()
    day = business_date(parsed.scheduled_time, settings.timezone).isoformat()
    run_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4())
    logger = get_logger(settings.computation)
    base = {"computation": settings.computation, "date": day, "run_id": run_id,
            "execution_id": parsed.execution_id, "attempt": parsed.attempt}
    s3_client = s3_client or clients.client("s3")
    dynamodb_client = dynamodb_client or clients.client("dynamodb")
    ledger = Ledger(settings.table, settings.computation, client=dynamodb_client, clock=clock)
    scheduled_iso = parsed.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    logger.info("run started", extra={**base, "scheduled_time": scheduled_iso})

    existing = ledger.get(day)
    if existing is not None and existing.status == SUCCESS:
        return _skip(existing, "already_done", base, started, logger)
    ledger.ensure_pending(day, scheduled_time=scheduled_iso)
    try:
        claim = ledger.claim(day, run_id, lease_s=settings.lease_s, scheduled_time=scheduled_iso,
                             code_hash=settings.code_hash)
    except ClaimRefused as refused:
        outcome = "already_done" if refused.record.status == SUCCESS else "in_progress"
        return _skip(refused.record, outcome, base, started, logger)

    store = ArtifactStore(settings.bucket, settings.prefix, client=s3_client)
    budget = TimeBudget.from_context(context, settings.margin_ms)
    traffic = RecordingS3(s3_client)
    ctx = RunContext(computation=settings.computation, business_date=date.fromisoformat(day), run_id=run_id,
                     scheduled_time=parsed.scheduled_time, timezone=settings.timezone, budget=budget,
                     attempt=claim.attempts, input_uri=resolve_input_uri(settings, day), s3_client=traffic,
                     inputs=settings.inputs, outputs=settings.outputs)
    try:
        # a set already published means only the ledger update was lost (a crash after the manifest): it stands
        published = _published(store, settings.computation, day)
        outcome = "computed" if published is None else "recovered"
        if published is None:
            published = _compute_and_publish(compute, ctx, traffic, store, settings, scheduled_iso)
    except Exception as exc:
        code = exc.code if isinstance(exc, SciflowError) else type(exc).__name__
        message = exc.message if isinstance(exc, SciflowError) else str(exc) or type(exc).__name__
        ledger.fail(day, run_id, error_code=code, error=message)
        logger.error("run failed", extra={**base, "status": FAILED, "error_code": code, "error": message,
                                          **_stats(started)})
        if isinstance(exc, TimeBudgetExceeded):
            raise
        raise ComputationFailed(message, code=code) from exc
    record = ledger.succeed(day, run_id, **published)
    logger.info(f"run {'finished' if outcome == 'computed' else outcome}",
                extra={**base, "status": SUCCESS, "outcome": outcome, "artifacts": len(record.artifacts),
                       **_stats(started)})
    return _response(record, outcome)


def _compute_and_publish(compute: Compute, ctx: RunContext, traffic: RecordingS3, store: ArtifactStore,
                         settings: Settings, scheduled_iso: str) -> dict[str, Any]:
    """Run ``compute`` within the budget and write its set (``result.json`` added, ``manifest.json`` last);
    the ledger fields of the new set (``traffic``: the S3 reads and writes ``compute`` made through ``ctx``)."""
    day = ctx.business_date.isoformat()
    result = run_within(ctx.budget, lambda: compute(ctx), what=settings.computation)
    if not isinstance(result, Result):
        raise ArtifactNameError(f"compute returned {type(result).__name__}, expected Result")
    if RESULT in result.artifacts:
        raise ArtifactNameError(f"{RESULT!r} is reserved for the summary; rename the artifact")
    ctx.budget.check("artifact upload")
    artifacts = {**result.artifacts, RESULT: {"computation": settings.computation, "date": day,
                                              "summary": result.summary}}
    metadata = {"run-id": ctx.run_id, "code-hash": settings.code_hash, "computation": settings.computation,
                "business-date": day}
    refs, manifest_key = store.write_set(
        f"date={day}/", artifacts, metadata=metadata,
        manifest_extra={"computation": settings.computation, "date": day, "run_id": ctx.run_id,
                        "code_hash": settings.code_hash, "scheduled_time": scheduled_iso,
                        "inputs": traffic.read, "outputs": traffic.written})
    return {"summary": result.summary, "artifacts": [ref.key for ref in refs], "manifest_key": manifest_key,
            "inputs": traffic.read, "outputs": traffic.written}


def _published(store: ArtifactStore, computation: str, day: str) -> dict[str, Any] | None:
    """The ledger fields of the set already published for ``day`` (its ``manifest.json`` is the commit point),
    or ``None``. A replay adopts it instead of computing again: what consumers may already have read stands,
    and a computation whose inputs changed since (it reads another component's growing output) does not fail
    on its own write-once artifacts."""
    folder = f"date={day}/"
    manifest_key = store.key(folder, MANIFEST)
    manifest = store.read_json(manifest_key)
    if not isinstance(manifest, dict) or (manifest.get("computation"), manifest.get("date")) != (computation, day):
        return None
    result = store.read_json(store.key(folder, RESULT))
    return {"summary": result.get("summary", {}) if isinstance(result, dict) else {},
            "artifacts": [entry["key"] for entry in manifest.get("artifacts", [])],
            "manifest_key": manifest_key,
            "inputs": manifest.get("inputs", []), "outputs": manifest.get("outputs", [])}


def resolve_input_uri(settings: Settings, day: str) -> str:
    """``settings.input_uri`` with ``{date}``, ``{bucket}`` and ``{prefix}`` filled in.

    Example
    -------
    >>> resolve_input_uri(Settings("c", "b", "t", prefix="p/", input_uri="s3://{bucket}/{prefix}in/{date}.csv"),
    ...                   "2026-03-01")
    's3://b/p/in/2026-03-01.csv'
    """
    uri = settings.input_uri
    for placeholder, value in (("{date}", day), ("{bucket}", settings.bucket), ("{prefix}", settings.prefix)):
        uri = uri.replace(placeholder, value)
    return uri


def _stats(started: float) -> dict[str, Any]:
    return {"duration_ms": round((time.monotonic() - started) * 1000, 1), "peak_memory_mb": peak_memory_mb()}


def _skip(record: LedgerRecord, outcome: str, base: dict[str, Any], started: float, logger: Any) -> dict[str, Any]:
    logger.info("run skipped", extra={**base, "status": record.status, "outcome": outcome,
                                      "holder": record.run_id, **_stats(started)})
    return _response(record, outcome)


def _response(record: LedgerRecord, outcome: str) -> dict[str, Any]:
    return {"computation": record.computation, "date": record.date, "status": record.status,
            "outcome": outcome, "runId": record.run_id, "attempts": record.attempts,
            "artifacts": list(record.artifacts), "manifest": record.manifest_key, "summary": record.summary,
            "inputs": list(record.inputs), "outputs": list(record.outputs)}


def scheduled_handler(compute: Compute, **run_options: Any) -> Callable[[Any, Any], dict[str, Any]]:
    """Wrap ``compute`` into a Lambda handler ``handler(event, context)`` that calls :func:`run_scheduled`.

    Settings come from the environment at each invocation; ``run_options`` (e.g. ``settings=``) override.

    Example
    -------
    >>> handler = scheduled_handler(lambda ctx: Result(summary={}))
    >>> handler.compute is not None
    True
    """

    def handler(event: Any, context: Any) -> dict[str, Any]:
        return run_scheduled(compute, event, context, **run_options)

    handler.compute = compute  # type: ignore[attr-defined]
    handler.__doc__ = f"Lambda entry point running {getattr(compute, '__name__', 'compute')} on a schedule."
    return handler


__all__ = [
    "FAILED",
    "RESULT",
    "RUNNING",
    "SCHEDULER_INPUT",
    "SUCCESS",
    "Result",
    "RunContext",
    "ScheduledEvent",
    "Settings",
    "business_date",
    "date_seed",
    "parse_event",
    "run_scheduled",
    "scheduled_handler",
]
