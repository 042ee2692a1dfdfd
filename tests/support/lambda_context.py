"""A Lambda context object for handler tests."""

from __future__ import annotations

import uuid

REGION = "ap-south-1"
ACCOUNT = "123456789012"


class LambdaContext:
    """The attributes of the Lambda context the runtime reads; the clock is fixed (no wall time)."""

    def __init__(self, remaining_ms: int = 120_000, request_id: str | None = None,
                 function_name: str = "daily-stats-fn") -> None:
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.function_name = function_name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms
