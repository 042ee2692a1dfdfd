"""A chain: a computation writing into a pipeline's inbox (narrowed) and into an external bucket, and a second
pipeline ingesting the computation's artifacts and an external bucket as extra sources."""

from components.connections import InputArgs, Location
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

pipe = EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings"))
writer = ScheduledComputation("writer", ScheduledComputationArgs(
    handler="a.b", schedule="rate(1 day)",
    outputs=[pipe.inbox.under("incoming/fetched/"),
             Location.external("drop-zone", "in/", "arn:aws:kms:ap-south-1:123456789012:key/ext")]))
EtlPipeline("second-etl", EtlPipelineArgs(dataset="sensor_readings", sources=[
    writer.artifacts.under("writer/exports/"),
    Location.external("partner-data", "feed/"),
    InputArgs(bucket="partner-two", prefix="x/", list_objects=False)]))
