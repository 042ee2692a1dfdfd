"""Schedule expressions: validation and the scheduled time of a business date (pure, no Pulumi imports).

EventBridge Scheduler accepts ``cron(min hour day-of-month month day-of-week year)`` (one of the two day
fields must be ``?``), ``rate(N unit)`` and ``at(yyyy-mm-ddThh:mm:ss)``. ``scheduled_time_for`` gives the UTC
instant a daily schedule fires on a given local date, which is what a backfill sends so the handler derives
the same business date as the real schedule would.

Example
-------
>>> validate_schedule("cron(0 16 * * ? *)")
'cron(0 16 * * ? *)'
>>> scheduled_time_for("cron(0 16 * * ? *)", "Asia/Kolkata", date(2026, 3, 1)).isoformat()
'2026-03-01T10:30:00+00:00'
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time

_CRON = re.compile(r"^cron\((?P<body>[^)]+)\)$")
_RATE = re.compile(r"^rate\((?P<n>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-#L W]+$")


def validate_schedule(expression: str) -> str:
    """Return ``expression`` when Scheduler would accept its shape; raise ``ValueError`` naming the problem.

    Example
    -------
    >>> validate_schedule("rate(5 minutes)")
    'rate(5 minutes)'
    """
    cron = _CRON.match(expression)
    if cron:
        fields = cron.group("body").split()
        if len(fields) != 6:
            raise ValueError(f"{expression!r}: cron needs 6 fields (minutes hours day-of-month month day-of-week "
                             f"year), got {len(fields)}")
        if "?" not in (fields[2], fields[4]):
            raise ValueError(f"{expression!r}: one of day-of-month and day-of-week must be '?'")
        for position, value in enumerate(fields):
            if not _CRON_FIELD.match(value):
                raise ValueError(f"{expression!r}: cron field {position + 1} {value!r} is not valid")
        for position, limit in ((0, 59), (1, 23)):
            if fields[position].isdigit() and int(fields[position]) > limit:
                raise ValueError(f"{expression!r}: cron field {position + 1} must be 0..{limit}")
        return expression
    rate = _RATE.match(expression)
    if rate:
        n, unit = int(rate.group("n")), rate.group("unit")
        if n < 1 or (n == 1) != (not unit.endswith("s")):
            raise ValueError(f"{expression!r}: use rate(1 unit) or rate(N units) with N > 1")
        return expression
    if _AT.match(expression):
        return expression
    raise ValueError(f"{expression!r} is not a schedule expression: use cron(...), rate(N unit) or at(...)")


def validate_timezone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone known to this Python; raise ``ValueError`` otherwise.

    Example
    -------
    >>> validate_timezone("Asia/Kolkata")
    'Asia/Kolkata'
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone") from None
    return name


def daily_fire_time(expression: str) -> time:
    """Local time of day a schedule fires: the first listed minute and hour of a cron, else midnight.

    Example
    -------
    >>> daily_fire_time("cron(30 6,18 * * ? *)")
    datetime.time(6, 30)
    """
    cron = _CRON.match(validate_schedule(expression))
    if not cron:
        return time(0, 0)
    minute, hour = cron.group("body").split()[:2]
    return time(_first(hour), _first(minute))


def _first(field: str) -> int:
    head = re.split(r"[,/\-]", field)[0]
    return int(head) if head.isdigit() else 0


def scheduled_time_for(expression: str, timezone: str, day: date) -> datetime:
    """The UTC instant the schedule fires on local ``day`` in ``timezone`` (see :func:`daily_fire_time`).

    Example
    -------
    >>> scheduled_time_for("cron(0 1 * * ? *)", "America/New_York", date(2026, 7, 4)).isoformat()
    '2026-07-04T05:00:00+00:00'
    """
    local = datetime.combine(day, daily_fire_time(expression), tzinfo=zoneinfo.ZoneInfo(validate_timezone(timezone)))
    return local.astimezone(UTC)
