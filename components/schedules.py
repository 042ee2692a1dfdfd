"""The scheduled time of a business date (pure, no Pulumi imports).

``scheduled_time_for`` gives the UTC instant a daily schedule fires on a given local date, which is what a
backfill sends so the handler derives the same business date as the real schedule would. Expressions are
checked by :func:`handlers.runtime.validators.schedule` (the one schedule validator).

Example
-------
>>> scheduled_time_for("cron(0 16 * * ? *)", "Asia/Kolkata", date(2026, 3, 1)).isoformat()
'2026-03-01T10:30:00+00:00'
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time

from handlers.runtime import validators as v

_CRON = re.compile(r"^cron\((?P<body>[^)]+)\)$")


def daily_fire_time(expression: str) -> time:
    """Local time of day a schedule fires: the first listed minute and hour of a cron, else midnight.

    Example
    -------
    >>> daily_fire_time("cron(30 6,18 * * ? *)")
    datetime.time(6, 30)
    """
    cron = _CRON.match(v.schedule(expression))
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
    local = datetime.combine(day, daily_fire_time(expression), tzinfo=zoneinfo.ZoneInfo(v.timezone(timezone)))
    return local.astimezone(UTC)
