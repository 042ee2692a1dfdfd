"""One EtlPipeline with every tunable set away from its default, exporting every output (tests/components)."""

import pulumi

from components.etl_pipeline import EtlPipeline, EtlPipelineArgs, EtlRetryArgs

LAYER = "arn:aws:lambda:ap-south-1:123456789012:layer:scientific:1"

etl = EtlPipeline("sensor-etl", EtlPipelineArgs(
    dataset="sensor_readings", input_prefix="incoming/", input_suffix=".csv", layers=[LAYER],
    memory_mb=1024, timeout_s=120, step_memory_mb={"output": 3008}, step_timeout_s={"output": 600},
    partition_rows=100000, max_concurrency=4, distributed_map_threshold=40,
    retry=EtlRetryArgs(max_attempts=4, max_event_age_s=7200), log_retention_days=90,
    tags={"project": "sciflow", "stack": "test"}))
pulumi.export("outputs", {k: getattr(etl, k) for k in (
    "state_machine_arn", "state_machine_name", "raw_bucket_name", "processed_bucket_name",
    "quarantine_bucket_name", "table_name", "dlq_url", "dlq_arn", "rule_arn", "ingest_function_arn",
    "validate_function_arn", "transform_function_arn", "output_function_arn", "on_failure_function_arn")})
