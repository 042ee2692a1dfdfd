"""Names of the environment variables the handlers read: the one place they are spelled.

Components set these on the Lambda function (``components/scheduled_computation.py``,
``components/etl_pipeline.py``); handlers read them through :class:`~handlers.runtime.scheduled.Settings` or
:class:`~handlers.etl.settings.EtlSettings`, so an explicit argument always beats the environment. Generic
names (table, code hash, log level) are shared by every handler family (computations, ETL); the ``SCIFLOW_``
prefix keeps them apart from AWS's reserved variables. This module is pure (it ships in the handlers zip).

Example
-------
>>> from handlers.runtime import env
>>> env.ARTIFACT_BUCKET
'SCIFLOW_ARTIFACT_BUCKET'
"""

from __future__ import annotations

ARTIFACT_BUCKET = "SCIFLOW_ARTIFACT_BUCKET"
"""S3 bucket that receives write-once artifacts."""
ARTIFACT_PREFIX = "SCIFLOW_ARTIFACT_PREFIX"
"""Key prefix inside the bucket (``""`` or ending in ``/``); the function's IAM grant covers only this."""
LEDGER_TABLE = "SCIFLOW_LEDGER_TABLE"
"""DynamoDB table holding the run ledger."""
TIMEZONE = "SCIFLOW_TIMEZONE"
"""IANA time zone in which scheduled times become business dates (default ``UTC``)."""
SCHEDULE = "SCIFLOW_SCHEDULE"
"""The schedule expression (``cron(...)``/``rate(...)``), so backfill can rebuild scheduled times."""
CODE_HASH = "SCIFLOW_CODE_HASH"
"""base64 SHA-256 of the deployed ``handlers/`` zip; stamped on every artifact and ledger row."""
COMPUTATION_NAME = "SCIFLOW_COMPUTATION"
"""Name of the computation (the ledger's sort key and the logs' service name)."""
LEASE_SECONDS = "SCIFLOW_LEASE_SECONDS"
"""How long a RUNNING claim blocks other runs of the same date (default: function timeout + 60 s)."""
SAFETY_MARGIN_MS = "SCIFLOW_SAFETY_MARGIN_MS"
"""Time kept back before the Lambda timeout to record FAILED("timeout") (default 3000 ms)."""
INPUT_URI = "SCIFLOW_INPUT_URI"
"""Optional ``s3://bucket/key`` input object a computation reads instead of synthetic data; ``{date}``,
``{bucket}`` and ``{prefix}`` are filled in per run (e.g. ``s3://{bucket}/{prefix}input/{date}.csv``). Users may
set it; the others above are managed by the component."""
INPUTS = "SCIFLOW_INPUTS"
"""The locations a computation reads (``ScheduledComputationArgs.inputs``): a JSON list of
``{"bucket": ..., "prefix": ...}``; its role may read (and list) exactly these prefixes."""
OUTPUTS = "SCIFLOW_OUTPUTS"
"""The locations a computation writes into (``ScheduledComputationArgs.outputs``, e.g. a pipeline's inbox), same
shape as :data:`INPUTS`; its role may only ``PutObject`` under these prefixes (:mod:`handlers.runtime.outputs`)."""

ETL_PIPELINE = "SCIFLOW_ETL_PIPELINE"
"""ETL: the pipeline name, the root of every key the pipeline writes."""
ETL_DATASET = "SCIFLOW_ETL_DATASET"
"""ETL: the dataset module in ``handlers/etl/datasets/``."""
ETL_PROCESSED_BUCKET = "SCIFLOW_ETL_PROCESSED_BUCKET"
"""ETL: the bucket for staging and published objects."""
ETL_QUARANTINE_BUCKET = "SCIFLOW_ETL_QUARANTINE_BUCKET"
"""ETL: the bucket for rejected rows."""
ETL_PARTITION_ROWS = "SCIFLOW_ETL_PARTITION_ROWS"
"""ETL: rows per partition (``EtlPipelineArgs.partition_rows``)."""
ETL_DISTRIBUTED_THRESHOLD = "SCIFLOW_ETL_DISTRIBUTED_THRESHOLD"
"""ETL: partition count above which a run uses the Distributed Map (``EtlPipelineArgs.distributed_map_threshold``)."""
ETL_WORKER_MEMORY_MB = "SCIFLOW_ETL_WORKER_MEMORY_MB"
"""ETL: memory (MB) of the smallest partition worker (validate, transform, output); ingest refuses a plan whose
partitions would not fit (unset: the function's own :data:`LAMBDA_MEMORY_SIZE`)."""
LAMBDA_MEMORY_SIZE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""Set by Lambda itself (not by sciflow): the function's memory in MB."""

USER_SETTABLE = (INPUT_URI,)
LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
"""Powertools' own variable for the log level."""
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
"""Powertools' own variable for the ``service`` key of every log line."""

SCHEDULER_INPUT = {
    "scheduledTime": "<aws.scheduler.scheduled-time>",
    "executionId": "<aws.scheduler.execution-id>",
    "attemptNumber": "<aws.scheduler.attempt-number>",
    "scheduleArn": "<aws.scheduler.schedule-arn>",
}
"""The schedule target's input template (the component/handler contract): EventBridge Scheduler replaces each
``<aws.scheduler.*>`` keyword when it invokes the target, e.g. ``"2026-03-01T10:30:00Z"`` for the scheduled
time; every value arrives as a string."""

ALL = (ARTIFACT_BUCKET, ARTIFACT_PREFIX, LEDGER_TABLE, TIMEZONE, SCHEDULE, CODE_HASH, COMPUTATION_NAME,
       LEASE_SECONDS, SAFETY_MARGIN_MS, INPUT_URI, INPUTS, OUTPUTS, LOG_LEVEL, SERVICE_NAME, ETL_PIPELINE, ETL_DATASET,
       ETL_PROCESSED_BUCKET, ETL_QUARANTINE_BUCKET, ETL_PARTITION_ROWS, ETL_DISTRIBUTED_THRESHOLD,
       ETL_WORKER_MEMORY_MB)
"""Every name above; a user's ``environment`` may set only :data:`USER_SETTABLE` among them."""
