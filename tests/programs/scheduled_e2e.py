"""Three ScheduledComputations for tests/e2e: the plain one, one that reads an input file, one whose timeout
leaves no time budget."""

from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

ScheduledComputation("daily-stats", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
    flexible_window_minutes=15, timeout_s=120, artifact_prefix="daily-stats/"))
# reads s3://<its bucket>/readings/<date>.csv: fails until the input exists
ScheduledComputation("from-input", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
    timeout_s=120, environment={"SCIFLOW_INPUT_URI": "s3://{bucket}/{prefix}readings/{date}.csv"}))
# a 3 s timeout is inside the 3 s safety margin: the budget is spent before the computation starts
ScheduledComputation("tight", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata",
    timeout_s=3))
