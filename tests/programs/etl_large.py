"""One dev-sized ETL pipeline (1,024 MB, default 250,000-row partitions) for tests/e2e/test_etl_large.py."""

from components.etl_pipeline import EtlPipeline, EtlPipelineArgs, EtlRetryArgs

EtlPipeline("big-etl", EtlPipelineArgs(dataset="sensor_readings", memory_mb=1024, timeout_s=900,
                                       retry=EtlRetryArgs(interval_s=1)))
