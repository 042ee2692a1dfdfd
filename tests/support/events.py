"""Event factories in the exact shapes AWS sends (one per event source the handlers accept)."""

from __future__ import annotations

from typing import Any

REGION = "ap-south-1"
ACCOUNT = "123456789012"
#: 16:00 in Asia/Kolkata on 2026-03-01, the dev stack's daily-stats schedule.
KOLKATA_1600_2026_03_01 = "2026-03-01T10:30:00Z"


def scheduled_event(scheduled_time: str = KOLKATA_1600_2026_03_01, execution_id: str = "exec-1",
                    attempt: str = "1", schedule: str = "daily-stats") -> dict[str, Any]:
    """The payload EventBridge Scheduler sends for the ScheduledComputation's input template."""
    return {"scheduledTime": scheduled_time, "executionId": execution_id, "attemptNumber": attempt,
            "scheduleArn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule}"}
