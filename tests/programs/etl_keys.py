"""One EtlPipeline for tests/e2e/test_real_s3_semantics.py: object keys with spaces, +, =, % and non-ASCII, missing
partitions and deleted inputs under IAM enforcement (S3 answers a missing key with 403 without s3:ListBucket)."""

from components.etl_pipeline import EtlPipeline, EtlPipelineArgs, EtlRetryArgs

EtlPipeline("keys-etl", EtlPipelineArgs(dataset="sensor_readings", retry=EtlRetryArgs(interval_s=1), timeout_s=120))
