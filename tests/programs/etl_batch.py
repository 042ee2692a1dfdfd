"""An EtlPipeline with a nightly batch run (Berlin time, 15-minute window) over its inbox, for tests/e2e."""

from components.etl_batch import BatchArgs
from components.etl_pipeline import EtlPipeline, EtlPipelineArgs, EtlRetryArgs

EtlPipeline("batch-etl", EtlPipelineArgs(
    dataset="sensor_readings", retry=EtlRetryArgs(interval_s=1), timeout_s=120,
    batch=BatchArgs(schedule="cron(0 2 * * ? *)", timezone="Europe/Berlin", flexible_window_minutes=15,
                    max_concurrency=2)))
