"""A ScheduledComputation on python3.12 with SnapStart: the function publishes a version behind an alias."""

from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

ScheduledComputation("fast", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="rate(1 hour)", runtime="python3.12", snap_start=True))
