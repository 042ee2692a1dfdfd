"""The seed chain: a fetcher computation reading AWS's public SSM parameters into the region-services pipeline's
inbox, and a computation reading another pipeline's published output."""

from components.connections import GrantArgs
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs
from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs
from handlers.computations.region_services import grant_resources

regions = EtlPipeline("region-services", EtlPipelineArgs(dataset="region_services", input_suffix=".jsonl",
                                                         timeout_s=300))
sensors = EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings"))
ScheduledComputation("region-fetch", ScheduledComputationArgs(
    handler="computations.region_services.handler", schedule="cron(0 3 ? * MON *)", timeout_s=300,
    outputs=[regions.inbox],
    grants=[GrantArgs(actions=(action,), resources=tuple(arns))
            for action, arns in grant_resources("ap-south-1").items()]))
ScheduledComputation("sensor-stats", ScheduledComputationArgs(
    handler="computations.sensor_stats.handler", schedule="cron(0 18 * * ? *)", timeout_s=300,
    inputs=[sensors.processed]))
