"""The environment a component sets is exactly what its handlers read (names from handlers.runtime.env)."""

from __future__ import annotations

from components import etl_pipeline, scheduled_computation
from components.etl_pipeline import EtlPipelineArgs
from components.scheduled_computation import ScheduledComputationArgs
from handlers.etl.contract import STEPS
from handlers.etl.settings import EtlSettings
from handlers.runtime import env
from handlers.runtime.scheduled import Settings


def test_every_name_is_spelled_once() -> None:
    assert len(env.ALL) == len(set(env.ALL))
    assert all(name.startswith(("SCIFLOW_", "POWERTOOLS_")) for name in env.ALL)
    assert set(env.USER_SETTABLE) <= set(env.ALL)


def test_a_computation_handler_reads_what_the_component_sets() -> None:
    args = ScheduledComputationArgs(handler="computations.daily_stats.handler", schedule="cron(0 16 * * ? *)",
                                    timezone="Asia/Kolkata", timeout_s=120, artifact_prefix="ds/",
                                    environment={env.INPUT_URI: "s3://{bucket}/{prefix}in/{date}.csv"})
    variables = scheduled_computation.function_environment("daily-stats", args, bucket="b", table="t",
                                                           code_hash="h")
    assert set(variables) <= set(env.ALL)
    settings = Settings.from_env({k: str(v) for k, v in variables.items()})
    assert (settings.computation, settings.bucket, settings.table, settings.prefix) == ("daily-stats", "b", "t", "ds/")
    assert (settings.timezone, settings.code_hash, settings.lease_s) == ("Asia/Kolkata", "h", 180)
    assert settings.input_uri == "s3://{bucket}/{prefix}in/{date}.csv"


def test_every_etl_step_reads_what_the_component_sets() -> None:
    args = EtlPipelineArgs(dataset="sensor_readings", partition_rows=1234, distributed_map_threshold=7)
    for step in STEPS:
        variables = etl_pipeline.function_environment("sensor-etl", args, step, processed="p", quarantine="q",
                                                      table="t", code_hash="h")
        assert set(variables) <= set(env.ALL)
        settings = EtlSettings.from_env({k: str(v) for k, v in variables.items()})
        assert settings == EtlSettings("sensor-etl", "sensor_readings", "p", "q", "t", partition_rows=1234,
                                       distributed_threshold=7, worker_memory_mb=args.memory_mb)
