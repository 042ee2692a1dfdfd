"""Errors with a stable machine-readable ``code`` and a human message naming the bad field or object.

Every handler family raises these so logs, ledger rows and tests can match on ``code``; ``str(err)`` is
``"<code>: <message>"``.

Example
-------
>>> err = EventError("scheduledTime", "is required")
>>> (err.code, err.message)
('InvalidEvent', "field 'scheduledTime' is required")
"""

from __future__ import annotations


class SciflowError(Exception):
    """Base class: ``code`` is stable (tests and ledgers match on it), ``message`` is for people."""

    code = "SciflowError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class EventError(SciflowError):
    """The incoming event is malformed; ``field`` names the offending key."""

    code = "InvalidEvent"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r} {problem}")
        self.field = field


class SettingsError(SciflowError):
    """A required setting (environment variable or argument) is missing or invalid."""

    code = "InvalidSettings"


class ArtifactConflictError(SciflowError):
    """An artifact already exists with different content; write-once storage never overwrites."""

    code = "ArtifactConflict"


class ArtifactNameError(SciflowError):
    """An artifact name or value cannot be stored (bad name, reserved name, unsupported type)."""

    code = "InvalidArtifact"


class LedgerError(SciflowError):
    """A ledger transition was refused (e.g. the run lost its claim to another run)."""

    code = "LedgerConflict"


class TimeBudgetExceeded(SciflowError):
    """The work would run past the Lambda timeout minus the safety margin."""

    code = "timeout"


class ComputationFailed(SciflowError):
    """A computation raised; ``code`` is the original exception's class name."""

    code = "ComputationFailed"
