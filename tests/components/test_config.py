"""Stack config is read generically from the component Args: every error names the full key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_stack_config
from components.etl_pipeline import EtlPipelineArgs, EtlRetryArgs
from components.functions import RetryArgs
from components.layer_bundle import LayerBundleArgs
from components.scheduled_computation import ScheduledComputationArgs

REPO = Path(__file__).resolve().parents[2]


def computation(**overrides: Any) -> dict[str, Any]:
    base = {"name": "daily-stats", "handler": "computations.daily_stats.handler",
            "schedule": "cron(0 16 * * ? *)", "timezone": "Asia/Kolkata"}
    base.update(overrides)
    return base


def pipeline(**overrides: Any) -> dict[str, Any]:
    return {"name": "sensor-etl", "dataset": "sensor_readings", **overrides}


def layer(**overrides: Any) -> dict[str, Any]:
    return {"name": "scientific", "requirements": ["numpy==2.2.6"], **overrides}


def parse(**raw: Any):
    return parse_stack_config(raw, region="ap-south-1")


def error_of(**raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse(**raw)
    return str(info.value)


def test_defaults_come_from_the_args() -> None:
    comp = parse(computations=[computation()]).computations[0]
    assert comp.name == "daily-stats"
    assert comp.args == ScheduledComputationArgs(handler="computations.daily_stats.handler",
                                                 schedule="cron(0 16 * * ? *)", timezone="Asia/Kolkata")
    assert (comp.args.memory_mb, comp.args.timeout_s, comp.args.reserved_concurrency) == (1024, 30, None)
    assert comp.args.retry == RetryArgs()


def test_every_key_maps_to_its_field() -> None:
    cfg = parse(layers=[layer()], pipelines=[pipeline(
        inputPrefix="in/", inputSuffix=".json", layers=["scientific"], memoryMb="2048", timeoutS=120,
        stepMemoryMb={"validate": 3008}, partitionRows=10, maxConcurrency=8, distributedMapThreshold=20,
        retry={"maxAttempts": 5, "maxEventAgeS": 600, "backoffRate": "1.5", "intervalS": 4},
        stateMachineType="EXPRESS", logLevel="DEBUG", logRetentionDays=365,
        alarmTopicArn="arn:aws:sns:ap-south-1:123456789012:oncall", expectedFilesPerDay=2, expectedRowsPerFile=50)])
    assert cfg.pipelines[0].args == EtlPipelineArgs(
        dataset="sensor_readings", input_prefix="in/", input_suffix=".json", layers=["scientific"], memory_mb=2048,
        timeout_s=120, step_memory_mb={"validate": 3008}, partition_rows=10, max_concurrency=8,
        distributed_map_threshold=20,
        retry=EtlRetryArgs(max_attempts=5, max_event_age_s=600, backoff_rate=1.5, interval_s=4),
        state_machine_type="EXPRESS", log_level="DEBUG", log_retention_days=365,
        alarm_topic_arn="arn:aws:sns:ap-south-1:123456789012:oncall", expected_files_per_day=2.0,
        expected_rows_per_file=50)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_files_parse(stack: str) -> None:
    config = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("sciflow:")}
    cfg = parse_stack_config(raw, region=config["aws:region"])
    assert [entry.name for entry in cfg.layers] == ["scientific", "plotting", "runtime"]
    assert cfg.layer("plotting").args == LayerBundleArgs(requirements=["matplotlib==3.11.2", "numpy==2.2.6",
                                                                       "python-dateutil==2.9.0.post0"],
                                                         exclude=["numpy", "python-dateutil"])
    runtime = cfg.layer("runtime").args
    assert (runtime.include_runtime_packages, list(runtime.sdk_services)) == (
        True, ["s3", "dynamodb", *(["ssm"] if stack == "dev" else [])])  # ssm: dev's region-fetch


def test_the_stack_runtime_is_the_default_of_every_layer_and_function() -> None:
    cfg = parse(runtime="python3.12", layers=[layer(), layer(name="old", runtime="python3.11")],
                computations=[computation(layers=["scientific"])], pipelines=[pipeline(layers=["scientific"])])
    assert cfg.runtime == "python3.12"
    assert [entry.args.runtime for entry in cfg.layers] == ["python3.12", "python3.11"], "an entry's own wins"
    assert cfg.computations[0].args.runtime == cfg.pipelines[0].args.runtime == "python3.12"
    assert parse(layers=[layer()]).layers[0].args.runtime == "python3.11"
    assert "layer 'old' is built for python3.11/x86_64 but the function runs python3.12/x86_64" in error_of(
        runtime="python3.12", layers=[layer(name="old", runtime="python3.11")],
        computations=[computation(layers=["old"])])


def test_a_bad_stack_runtime_names_its_key() -> None:
    assert error_of(runtime="python2.7", layers=[layer()]).startswith("sciflow:runtime: 'python2.7' is not one of")


def test_trim_keys_are_checked_at_config_time() -> None:
    assert parse(layers=[layer(trim=["bench/workloads/full_stack.py"], trimKeep=["scipy.io"])]).layers[0].args.trim \
        == ["bench/workloads/full_stack.py"]
    assert error_of(layers=[layer(trim=["no/such.py"])]).startswith("sciflow:layers[0].trim[0]: 'no/such.py': no such")
    assert "is not a relative path to a .py file inside the project" in error_of(layers=[layer(trim=["../x.py"])])
    assert error_of(layers=[layer(trimKeep=["scipy.io"])]) == ("sciflow:layers[0].trimKeep: needs `trim` (the "
                                                              "workloads that decide what is removed)")


# --------------------------------------------------------------------------- errors name the full key path
def test_bad_timezone_names_the_key_path_and_value() -> None:
    assert error_of(computations=[computation(timezone="Asia/Kolkatta")]) == (
        "sciflow:computations[0].timezone: 'Asia/Kolkatta' is not an IANA time zone; did you mean 'Asia/Kolkata'?")


def test_cron_field_out_of_range_is_a_config_error_with_the_key_path() -> None:
    """Config used to accept this and the Args rejected it without the key path."""
    assert error_of(computations=[computation(), computation(name="second", schedule="cron(99 16 * * ? *)")]) == (
        "sciflow:computations[1].schedule: 'cron(99 16 * * ? *)': minutes 99 is outside 0..59")


def test_unknown_key_suggests_the_closest() -> None:
    message = error_of(computations=[computation(memoryMB=512)])
    assert message.startswith("sciflow:computations[0].memoryMB: unknown key; did you mean 'memoryMb'? (known: ")


def test_unknown_key_without_a_close_match() -> None:
    assert error_of(computations=[computation(zzz=1)]).startswith("sciflow:computations[0].zzz: unknown key (known:")


def test_unknown_top_level_key_is_an_error() -> None:
    assert error_of(computation=[]).startswith(
        "sciflow:computation: unknown key; did you mean 'computations'?")


def test_unknown_nested_key() -> None:
    assert error_of(computations=[computation(retry={"maxAttempt": 2})]).startswith(
        "sciflow:computations[0].retry.maxAttempt: unknown key; did you mean 'maxAttempts'?")


def test_a_computation_retry_has_no_task_backoff() -> None:
    assert error_of(computations=[computation(retry={"backoffRate": 2})]).startswith(
        "sciflow:computations[0].retry.backoffRate: unknown key")


def test_nested_value_error_names_the_nested_key() -> None:
    assert error_of(pipelines=[pipeline(retry={"maxAttempts": 500})]) == (
        "sciflow:pipelines[0].retry.maxAttempts: 500 is outside 0..185")


def test_mapping_value_error_names_the_map_key() -> None:
    assert error_of(pipelines=[pipeline(stepMemoryMb={"validate": 64})]) == (
        "sciflow:pipelines[0].stepMemoryMb.validate: 64 is outside 128..10240")
    assert error_of(pipelines=[pipeline(stepTimeoutS={"validat": 60})]).startswith(
        "sciflow:pipelines[0].stepTimeoutS.validat: key 'validat' is not one of ingest")


def test_list_item_error_names_the_index() -> None:
    assert error_of(layers=[layer(requirements=["numpy==2.2.6", "not a requirement!"])]).startswith(
        "sciflow:layers[0].requirements[1]: 'not a requirement!' is not a PEP 508 requirement")


def test_required_key() -> None:
    assert error_of(computations=[{"name": "c", "handler": "a.b"}]) == "sciflow:computations[0].schedule: is required"
    assert error_of(layers=[{"requirements": ["numpy"]}]) == "sciflow:layers[0].name: is required"


def test_type_errors() -> None:
    assert error_of(computations=[computation(memoryMb="lots")]) == (
        "sciflow:computations[0].memoryMb: 'lots' is not an integer")
    assert error_of(computations=[computation(memoryMb=True)]) == (
        "sciflow:computations[0].memoryMb: True (bool) is not an integer")
    assert error_of(computations=[computation(layers="scientific")]) == (
        "sciflow:computations[0].layers: expected a list, got 'scientific'")
    assert error_of(computations=["daily-stats"]) == "sciflow:computations[0]: expected a mapping, got 'daily-stats'"
    assert error_of(budgetUsdMonth="cheap") == "sciflow:budgetUsdMonth: 'cheap' is not a number"
    assert error_of(layers=[layer(includeRuntimePackages="yes")]) == (
        "sciflow:layers[0].includeRuntimePackages: 'yes' is not true or false")


def test_strings_from_pulumi_config_set_are_coerced() -> None:
    cfg = parse(budgetUsdMonth="12.5", layers=[layer(includeRuntimePackages="true", sizeBudgetBytes="1000")])
    assert cfg.budget_usd_month == 12.5
    assert (cfg.layers[0].args.include_runtime_packages, cfg.layers[0].args.size_budget_bytes) == (True, 1000)


def test_null_means_default() -> None:
    assert parse(computations=[computation(memoryMb=None)]).computations[0].args.memory_mb == 1024


def test_range_errors() -> None:
    assert error_of(computations=[computation(timeoutS=901)]) == (
        "sciflow:computations[0].timeoutS: 901 is outside 1..900")
    assert error_of(budgetUsdMonth=-1) == "sciflow:budgetUsdMonth: -1.0 must be at least 0"


def test_environment_cannot_set_managed_or_reserved_names() -> None:
    assert error_of(computations=[computation(environment={"SCIFLOW_ARTIFACT_BUCKET": "x"})]) == (
        "sciflow:computations[0].environment.SCIFLOW_ARTIFACT_BUCKET: key 'SCIFLOW_ARTIFACT_BUCKET' is set by the "
        "component")
    assert error_of(computations=[computation(environment={"AWS_REGION": "x"})]).endswith("is reserved by Lambda")
    env = parse(computations=[computation(environment={"SEED": 42, "DEBUG": True, "SCIFLOW_INPUT_URI": "s3://b/k"})])
    assert env.computations[0].args.environment == {"DEBUG": "true", "SCIFLOW_INPUT_URI": "s3://b/k", "SEED": "42"}


def test_prefix_must_end_with_a_slash() -> None:
    assert error_of(pipelines=[pipeline(inputPrefix="incoming")]) == (
        "sciflow:pipelines[0].inputPrefix: 'incoming' is not a relative S3 prefix ending with '/'")


def test_dataset_must_exist() -> None:
    assert error_of(pipelines=[pipeline(dataset="sensor_reading")]).startswith(
        "sciflow:pipelines[0].dataset: 'sensor_reading': no module handlers/etl/datasets/sensor_reading.py")


def test_layer_reference_must_exist() -> None:
    assert error_of(layers=[layer()], computations=[computation(layers=["scientfic"])]) == (
        "sciflow:computations[0].layers[0]: 'scientfic' is not a layer declared in sciflow:layers; "
        "did you mean 'scientific'?")


def test_at_most_five_layers() -> None:
    assert error_of(computations=[computation(layers=["a1", "a2", "a3", "a4", "a5", "a6"])]) == (
        "sciflow:computations[0].layers: 6 items, at most 5 allowed")


def test_attached_layers_must_match_the_function_runtime() -> None:
    assert error_of(layers=[layer(runtime="python3.12")], pipelines=[pipeline(layers=["scientific"])]) == (
        "sciflow:pipelines[0].layers[0]: layer 'scientific' is built for python3.12/x86_64 but the function runs "
        "python3.11/x86_64 (set runtime/architecture alike)")


def test_duplicate_names() -> None:
    assert error_of(computations=[computation(), computation()]) == (
        "sciflow:computations[1].name: 'daily-stats' is used twice")


def test_bad_name() -> None:
    assert error_of(layers=[layer(name="Scientific")]).startswith("sciflow:layers[0].name: 'Scientific' is not a valid")


def test_retention_must_be_a_cloudwatch_period() -> None:
    assert "31 is not a CloudWatch Logs retention period" in error_of(computations=[computation(logRetentionDays=31)])


def test_region_is_required_and_checked() -> None:
    with pytest.raises(ConfigError, match=r"^aws:region: is required"):
        parse_stack_config({}, region=None)
    with pytest.raises(ConfigError, match=r"^aws:region: 'ap-south1' is not an AWS region code"):
        parse_stack_config({}, region="ap-south1")
    assert parse_stack_config({}, region="us-gov-west-1").region == "us-gov-west-1"


def test_bad_runtime_lists_choices() -> None:
    message = error_of(layers=[layer(runtime="python3.1")])
    assert message.startswith("sciflow:layers[0].runtime: 'python3.1' is not one of python3.11, python3.12")
    assert "did you mean" in message


def test_config_objects_are_frozen() -> None:
    cfg = parse(computations=[computation()])
    with pytest.raises(AttributeError):
        cfg.computations[0].name = "x"


def test_config_error_is_a_value_error_with_the_path() -> None:
    with pytest.raises(ValueError) as info:
        parse(computations=[computation(timeoutS=0)])
    assert isinstance(info.value, ConfigError) and info.value.path == "sciflow:computations[0].timeoutS"


def test_functions_take_runtime_and_architecture_like_layers() -> None:
    cfg = parse(layers=[layer(runtime="python3.12", architecture="arm64")],
                computations=[computation(layers=["scientific"], runtime="python3.12", architecture="arm64")],
                pipelines=[pipeline(runtime="python3.13")])
    assert (cfg.computations[0].args.runtime, cfg.computations[0].args.architecture) == ("python3.12", "arm64")
    assert (cfg.pipelines[0].args.runtime, cfg.pipelines[0].args.architecture) == ("python3.13", "x86_64")
    assert error_of(computations=[computation(architecture="amd64")]).startswith(
        "sciflow:computations[0].architecture: 'amd64' is not one of x86_64, arm64")
    assert error_of(layers=[layer(architecture="arm64")], computations=[computation(layers=["scientific"])]) == (
        "sciflow:computations[0].layers[0]: layer 'scientific' is built for python3.11/arm64 but the function runs "
        "python3.11/x86_64 (set runtime/architecture alike)")
