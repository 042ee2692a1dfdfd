"""An EXPRESS EtlPipeline on a key, buckets and a ledger table it does not own (tests/components)."""

import pulumi_aws as aws

from components.etl_pipeline import EtlPipeline, EtlPipelineArgs

key = aws.kms.Key("shared-key", enable_key_rotation=True)
raw = aws.s3.Bucket("shared-raw")
lake = aws.s3.Bucket("shared-lake")
table = aws.dynamodb.Table("shared-runs", hash_key="object_id", billing_mode="PAY_PER_REQUEST",
                           attributes=[aws.dynamodb.TableAttributeArgs(name="object_id", type="S")])
EtlPipeline("fast-etl", EtlPipelineArgs(
    dataset="sensor_readings", state_machine_type="EXPRESS", kms_key=key, raw_bucket=raw, processed_bucket=lake,
    quarantine_bucket=lake, ledger_table=table, reserved_concurrency=5,
    alarm_topic_arn="arn:aws:sns:ap-south-1:123456789012:alerts"))
