"""Backfill / catch-up for scheduled computations: run every date in a range that has no SUCCESS row.

``python -m ops backfill NAME --from YYYY-MM-DD --to YYYY-MM-DD [--stack dev]`` finds the computation's
function (by its ``sciflow:computation`` / ``sciflow:stack`` tags, or ``--function``), reads the ledger table,
time zone and schedule from the function's environment, lists the dates in the range whose ledger row is not
SUCCESS, and invokes the function once per date with the scheduled time the schedule would have used (e.g.
16:00 Asia/Kolkata → ``10:30Z``), so the handler derives the same business date. The same code runs against
real AWS (default boto3 credentials and region) and against the embedded AWS (in-process, or a
``python -m sandbox serve`` endpoint via ``--endpoint-url``).

The region is ``--region``, else ``aws:region`` from ``Pulumi.<stack>.yaml`` in the current directory, else
boto3's default. Exit status: 0 when every date ends SUCCESS (or ``--dry-run``), 1 when any invocation
failed, 2 when the function cannot be found, AWS cannot be reached, or the arguments are invalid.

Example
-------
>>> report = backfill("daily-stats", date(2026, 2, 25), date(2026, 3, 1), stack="dev",
...                   lambda_client=boto3.client("lambda"), dynamodb_client=boto3.client("dynamodb"))  # doctest: +SKIP
>>> [(run.date, run.status) for run in report.runs]  # doctest: +SKIP
[('2026-02-25', 'SUCCESS'), ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from components.schedules import scheduled_time_for
from handlers.runtime import env
from handlers.runtime.ledger import SUCCESS

TAG_COMPUTATION = "sciflow:computation"  # set by components.scheduled_computation
TAG_STACK = "sciflow:stack"
MAX_DAYS = 3660
_BATCH = 100


class BackfillError(RuntimeError):
    """The backfill cannot start: bad range, function not found or ambiguous, missing settings."""


@dataclass(frozen=True)
class Target:
    """The deployed function of one computation and the settings backfill needs from its environment."""

    function_name: str
    computation: str
    table: str
    timezone: str
    schedule: str


@dataclass(frozen=True)
class Run:
    """One backfilled date: ``status`` is the ledger status the function reported (or ``FAILED``)."""

    date: str
    scheduled_time: str
    status: str
    outcome: str = ""
    error: str = ""


@dataclass
class Report:
    target: Target
    checked: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)

    @property
    def failed(self) -> list[Run]:
        return [run for run in self.runs if run.status != SUCCESS]

    def to_json(self) -> dict[str, Any]:
        return {"target": asdict(self.target), "checked": self.checked, "already_done": self.already_done,
                "runs": [asdict(run) for run in self.runs]}


def date_range(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive.

    Example
    -------
    >>> [d.isoformat() for d in date_range(date(2026, 2, 27), date(2026, 3, 1))]
    ['2026-02-27', '2026-02-28', '2026-03-01']
    """
    if end < start:
        raise BackfillError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise BackfillError(f"{days} days requested; backfill at most {MAX_DAYS} at a time")
    return [start + timedelta(days=i) for i in range(days)]


def resolve_target(lambda_client: Any, name: str, *, stack: str | None = None,
                   function: str | None = None) -> Target:
    """Find the computation's function (``function`` wins over tag discovery) and read its settings."""
    if function is None:
        matches = []
        for page in lambda_client.get_paginator("list_functions").paginate():
            for fn in page["Functions"]:
                tags = lambda_client.list_tags(Resource=fn["FunctionArn"]).get("Tags", {})
                if tags.get(TAG_COMPUTATION) == name and (stack is None or tags.get(TAG_STACK) == stack):
                    matches.append(fn["FunctionName"])
        where = f"tag {TAG_COMPUTATION}={name}" + (f" and {TAG_STACK}={stack}" if stack else "")
        if not matches:
            raise BackfillError(f"no Lambda function has {where} (deployed? right region? or pass --function)")
        if len(matches) > 1:
            raise BackfillError(f"several functions have {where}: {', '.join(sorted(matches))}; pass --function")
        function = matches[0]
    config = lambda_client.get_function_configuration(FunctionName=function)
    variables = (config.get("Environment") or {}).get("Variables") or {}
    missing = [var for var in (env.LEDGER_TABLE, env.SCHEDULE) if not variables.get(var)]
    if missing:
        raise BackfillError(f"function {function} has no {', '.join(missing)} in its environment; "
                            "is it a ScheduledComputation?")
    return Target(function_name=config["FunctionName"], computation=variables.get(env.COMPUTATION_NAME, name),
                  table=variables[env.LEDGER_TABLE], timezone=variables.get(env.TIMEZONE, "UTC"),
                  schedule=variables[env.SCHEDULE])


def ledger_statuses(dynamodb_client: Any, target: Target, days: Sequence[date]) -> dict[str, str]:
    """``{date: status}`` for the dates that have a ledger row (consistent batch reads, 100 at a time)."""
    statuses: dict[str, str] = {}
    for i in range(0, len(days), _BATCH):
        keys = [{"date": {"S": d.isoformat()}, "computation": {"S": target.computation}}
                for d in days[i:i + _BATCH]]
        request: dict[str, Any] = {target.table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = dynamodb_client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(target.table, []):
                statuses[item["date"]["S"]] = item.get("status", {}).get("S", "")
            request = response.get("UnprocessedKeys") or {}
    return statuses


def missing_dates(dynamodb_client: Any, target: Target, days: Sequence[date]) -> list[date]:
    """The dates among ``days`` whose ledger row is absent or not SUCCESS."""
    statuses = ledger_statuses(dynamodb_client, target, days)
    return [d for d in days if statuses.get(d.isoformat()) != SUCCESS]


def scheduled_event_for(target: Target, day: date) -> dict[str, str]:
    """The event the schedule would have sent for ``day`` (the component's input template, filled in).

    Example
    -------
    >>> target = Target("fn", "daily-stats", "t", "Asia/Kolkata", "cron(0 16 * * ? *)")
    >>> scheduled_event_for(target, date(2026, 3, 1))["scheduledTime"]
    '2026-03-01T10:30:00Z'
    """
    when = scheduled_time_for(target.schedule, target.timezone, day)
    return {"scheduledTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "executionId": f"backfill-{day.isoformat()}-{uuid.uuid4().hex[:8]}",
            "attemptNumber": "1", "scheduleArn": "", "source": "backfill"}


def invoke_date(lambda_client: Any, target: Target, day: date, *, asynchronous: bool = False) -> Run:
    """Invoke the function for ``day``; synchronous calls report the ledger status the handler returned.

    An invoke the service refuses (throttled by reserved concurrency, missing permission) is a FAILED run
    with the error code, so one refusal does not stop the remaining dates; run backfill again later.
    """
    from botocore.exceptions import ClientError

    event = scheduled_event_for(target, day)
    try:
        response = lambda_client.invoke(FunctionName=target.function_name,
                                         InvocationType="Event" if asynchronous else "RequestResponse",
                                         Payload=json.dumps(event).encode())
    except ClientError as exc:  # e.g. TooManyRequestsException while the scheduled run holds the concurrency
        error = exc.response.get("Error", {})
        return Run(day.isoformat(), event["scheduledTime"], status="FAILED",
                   error=f"{error.get('Code', 'ClientError')}: {error.get('Message', str(exc))}")
    if asynchronous:
        return Run(day.isoformat(), event["scheduledTime"], status="QUEUED", outcome="async")
    body = response["Payload"].read()
    payload = json.loads(body) if body else None
    if response.get("FunctionError"):
        message = payload.get("errorMessage", "") if isinstance(payload, dict) else str(payload)
        kind = payload.get("errorType", "") if isinstance(payload, dict) else ""
        return Run(day.isoformat(), event["scheduledTime"], status="FAILED", error=f"{kind}: {message}".strip(": "))
    if not isinstance(payload, dict):
        return Run(day.isoformat(), event["scheduledTime"], status="FAILED", error=f"unexpected response {payload!r}")
    return Run(day.isoformat(), event["scheduledTime"], status=str(payload.get("status", "")),
               outcome=str(payload.get("outcome", "")))


def backfill(name: str, start: date, end: date, *, lambda_client: Any, dynamodb_client: Any,
             stack: str | None = None, function: str | None = None, dry_run: bool = False,
             asynchronous: bool = False) -> Report:
    """Run ``name`` for every date in ``start..end`` without SUCCESS; return what happened per date.

    Example
    -------
    >>> report = backfill("daily-stats", date(2026, 2, 27), date(2026, 3, 1), stack="dev",
    ...                   lambda_client=lam, dynamodb_client=ddb)  # doctest: +SKIP
    """
    days = date_range(start, end)
    target = resolve_target(lambda_client, name, stack=stack, function=function)
    todo = missing_dates(dynamodb_client, target, days)
    report = Report(target=target, checked=[d.isoformat() for d in days],
                    already_done=[d.isoformat() for d in days if d not in todo])
    for day in todo:
        if dry_run:
            report.runs.append(Run(day.isoformat(), scheduled_event_for(target, day)["scheduledTime"],
                                   status="MISSING", outcome="dry-run"))
        else:
            report.runs.append(invoke_date(lambda_client, target, day, asynchronous=asynchronous))
    return report


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops backfill",
        description="Run a scheduled computation for every date in a range without a SUCCESS ledger row.")
    parser.add_argument("name", help="the computation's name (e.g. daily-stats)")
    parser.add_argument("--from", dest="start", required=True, type=_date, help="first date, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, type=_date, help="last date (inclusive), YYYY-MM-DD")
    parser.add_argument("--stack", default="dev", help="match the function's sciflow:stack tag (default dev)")
    parser.add_argument("--function", help="function name or ARN (skips tag discovery)")
    parser.add_argument("--region", help="AWS region (default: aws:region of Pulumi.STACK.yaml, else boto3's)")
    parser.add_argument("--endpoint-url", help="an embedded AWS server (python -m sandbox serve)")
    parser.add_argument("--dry-run", action="store_true", help="list the missing dates, invoke nothing")
    parser.add_argument("--async", dest="asynchronous", action="store_true",
                        help="invoke with InvocationType=Event (retries and DLQ apply; no status reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def stack_region(stack: str | None, directory: Path | None = None) -> str | None:
    """``aws:region`` from ``Pulumi.<stack>.yaml`` in ``directory`` (default: the current one), if any.

    Example
    -------
    >>> stack_region("dev")  # run from the repository root  # doctest: +SKIP
    'ap-south-1'
    """
    if not stack:
        return None
    path = (directory or Path.cwd()) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return None
    import yaml

    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    region = config.get("aws:region")
    return str(region) if region else None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str]) -> int:
    """CLI entry (``python -m ops backfill ...``); returns the exit status.

    Example
    -------
    >>> main(["daily-stats", "--from", "2026-02-25", "--to", "2026-03-01", "--dry-run"])  # doctest: +SKIP
    0
    """
    args = build_parser().parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        date_range(args.start, args.end)
        kwargs: dict[str, Any] = {}
        region = args.region or stack_region(args.stack)
        if region:
            kwargs["region_name"] = region
        if args.endpoint_url:
            kwargs["endpoint_url"] = args.endpoint_url
        report = backfill(args.name, args.start, args.end, lambda_client=boto3.client("lambda", **kwargs),
                          dynamodb_client=boto3.client("dynamodb", **kwargs), stack=args.stack,
                          function=args.function, dry_run=args.dry_run, asynchronous=args.asynchronous)
    except (BackfillError, BotoCoreError, ClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        target = report.target
        print(f"{target.computation} ({target.function_name}, {target.timezone}, {target.schedule}): "
              f"{len(report.checked)} dates, {len(report.already_done)} already SUCCESS, {len(report.runs)} to run")
        for run in report.runs:
            detail = run.error or run.outcome
            print(f"  {run.date}  {run.scheduled_time}  {run.status:<8} {detail}")
    return 1 if any(run.status == "FAILED" for run in report.runs) else 0
