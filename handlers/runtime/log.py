"""Structured JSON logging with Powertools' ``Logger`` (one JSON object per line).

``get_logger(service)`` returns a cached Logger per service, so repeated handler invocations in one
container do not stack handlers. ``peak_memory_mb()`` reads the process's maximum resident set size, the
figure logged at the end of every run.

Example
-------
>>> logger = get_logger("daily-stats")
>>> logger.info("run started", extra={"date": "2026-03-01"})  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import resource
import sys

from aws_lambda_powertools import Logger

from handlers.runtime import env

_LOGGERS: dict[str, Logger] = {}


class CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at emit time, not at creation: a runtime (or a test harness) that
    swaps stdout per invocation still receives every line of a logger created in an earlier one."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stdout)
        super().emit(record)


def get_logger(service: str | None = None) -> Logger:
    """Return the JSON logger for ``service`` (default: ``POWERTOOLS_SERVICE_NAME`` or ``sciflow``).

    Example
    -------
    >>> get_logger("etl").service
    'etl'
    """
    name = service or os.environ.get(env.SERVICE_NAME) or "sciflow"
    if name not in _LOGGERS:
        _LOGGERS[name] = Logger(service=name, level=os.environ.get(env.LOG_LEVEL, "INFO"), utc=True,
                                use_rfc3339=True, logger_handler=CurrentStdoutHandler(sys.stdout))
    return _LOGGERS[name]


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS).

    Example
    -------
    >>> peak_memory_mb() > 0
    True
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(rss / divisor, 1)
