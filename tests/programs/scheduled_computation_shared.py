"""A ScheduledComputation on a key, bucket and ledger table it does not own, with an alarm topic."""

import pulumi_aws as aws

from components.scheduled_computation import ScheduledComputation, ScheduledComputationArgs

key = aws.kms.Key("shared-key", enable_key_rotation=True)
bucket = aws.s3.Bucket("shared-bucket")
table = aws.dynamodb.Table("shared-ledger", hash_key="date", range_key="computation", billing_mode="PAY_PER_REQUEST",
                           attributes=[aws.dynamodb.TableAttributeArgs(name="date", type="S"),
                                       aws.dynamodb.TableAttributeArgs(name="computation", type="S")])
ScheduledComputation("hourly", ScheduledComputationArgs(
    handler="computations.daily_stats.handler", schedule="rate(1 hour)", kms_key=key, artifact_bucket=bucket,
    ledger_table=table, reserved_concurrency=2, alarm_topic_arn="arn:aws:sns:ap-south-1:123456789012:alerts"))
