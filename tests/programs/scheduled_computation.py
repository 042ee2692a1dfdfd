"""One ScheduledComputation with every tunable set away from its default, exporting every output."""

import pulumi

from components.functions import RetryArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

comp = ScheduledComputation("daily-stats", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
    flexible_window_minutes=15, memory_mb=1024, timeout_s=120, retry=RetryArgs(max_attempts=4, max_event_age_s=7200),
    layers=["arn:aws:lambda:ap-south-1:123456789012:layer:scientific:1"], artifact_prefix="daily-stats/",
    environment={"EXTRA": "1"}, log_retention_days=90, tags={"owner": "science"}))
pulumi.export("outputs", {k: getattr(comp, k) for k in (
    "function_name", "function_arn", "schedule_name", "schedule_arn", "bucket_name", "bucket_arn",
    "table_name", "table_arn", "dlq_url", "dlq_arn")})
