"""Two EtlPipelines on the same dataset for tests/e2e: small partitions (more than 4 use the Distributed Map)
and one partition (the reference for "several partitions give the same result")."""

from components.etl_pipeline import EtlPipeline, EtlPipelineArgs, EtlRetryArgs

EtlPipeline("sensor-etl", EtlPipelineArgs(dataset="sensor_readings", partition_rows=100, max_concurrency=2,
                                          distributed_map_threshold=4, retry=EtlRetryArgs(interval_s=1),
                                          timeout_s=120))
EtlPipeline("single-etl", EtlPipelineArgs(dataset="sensor_readings", partition_rows=1_000_000,
                                          retry=EtlRetryArgs(interval_s=1), timeout_s=120))
