"""A computation reading a pipeline's published output, another computation's artifacts (narrowed) and an
external bucket, with one user grant (SSM reads under one path)."""

from components.connections import GrantArgs, Location
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

SSM_PATH = "arn:aws:ssm:ap-south-1::parameter/aws/service/global-infrastructure"

pipe = EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings"))
first = ScheduledComputation("first", ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)"))
ScheduledComputation("reader", ScheduledComputationArgs(
    handler="a.b", schedule="rate(1 day)",
    inputs=[pipe.processed, first.artifacts.under("first/daily/"), Location.external("my-data", "raw/")],
    grants=[GrantArgs(actions=("ssm:GetParametersByPath",), resources=(SSM_PATH,))]))
