"""Typed connections and user grants: exact statements, validation with key paths, wiring under the mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.connections import (
    GrantArgs,
    InputArgs,
    Location,
    build_order,
    check_grant,
    read_statements,
    resolve_inputs,
)
from components.scheduled_computation import ScheduledComputationArgs
from handlers.runtime import env
from handlers.runtime.errors import SettingsError
from handlers.runtime.scheduled import InputLocation, Settings, parse_inputs
from handlers.runtime.validators import Invalid
from policy.check import evaluate
from synth.graph import Graph
from tests.support.programs import synth_program

SSM_PATH = "arn:aws:ssm:ap-south-1::parameter/aws/service/global-infrastructure"


# --------------------------------------------------------------------------- statements (pure)
def test_read_statements_are_exact() -> None:
    location = Location("data", "arn:aws:s3:::data", "raw/2026/", "arn:aws:kms:ap-south-1:1:key/k")
    assert [s.to_dict() for s in read_statements(location, index=3)] == [
        {"Sid": "ReadInput3", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/raw/2026/*"},
        {"Sid": "ListInput3", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data",
         "Condition": {"StringLike": {"s3:prefix": "raw/2026/*"}}},
        {"Sid": "DecryptInput3", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:ap-south-1:1:key/k"},
    ]


def test_no_listing_and_no_key_when_not_needed() -> None:
    statements = read_statements(Location.external("data", "raw/"), index=0, list_objects=False)
    assert [s.to_dict() for s in statements] == [
        {"Sid": "ReadInput0", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/raw/*"}]


def test_under_keeps_the_producer_and_refuses_outside_prefixes() -> None:
    out = Location("b", "arn:aws:s3:::b", "p/published/", "k", producer="pipeline:p")
    assert out.under("p/published/daily/") == Location("b", "arn:aws:s3:::b", "p/published/daily/", "k",
                                                      producer="pipeline:p")
    with pytest.raises(Invalid, match="'p/staging/' is outside the output of pipeline p 'p/published/'"):
        out.under("p/staging/")
    with pytest.raises(Invalid, match="relative S3 prefix"):
        out.under("p/published/../")


# --------------------------------------------------------------------------- grants (pure)
@pytest.mark.parametrize(("actions", "resources", "message"), [
    (["ssm:*"], [SSM_PATH], r"actions\[0\]: 'ssm:\*' is a wildcard"),
    (["*"], [SSM_PATH], r"actions\[0\]: '\*' is not an action"),
    (["ssm:GetParameter?"], [SSM_PATH], "is a wildcard"),
    (["ssm:GetParametersByPathX"], [SSM_PATH], "is not an action AWS defines"),
    (["ssm:GetParametersByPath"], ["*"], r"resources\[0\]: '\*' is every resource"),
    (["ssm:GetParametersByPath"], ["arn:aws:ssm:ap-south-1:*:parameter/x"], r"resources\[0\]: .*account"),
    (["ssm:GetParametersByPath"], [SSM_PATH, "arn:aws:ssm:ap-south-1:1:*"], r"resources\[1\]"),
    (["ssm:GetParametersByPath"], ["parameter/x"], "is not an ARN"),
    (["ssm:DescribeParameters"], [SSM_PATH], "granted on '\\*' only"),
    (["ssm:DescribeParameters", "ssm:GetParametersByPath"], ["*"], "split them into two grants"),
])
def test_bad_grants_name_the_field(actions: list[str], resources: list[str], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        check_grant(actions, resources)


def test_exact_grants_pass() -> None:
    check_grant(["ssm:GetParametersByPath", "ssm:GetParameter"], [SSM_PATH, f"{SSM_PATH}/*"])
    check_grant(["ssm:DescribeParameters"], ["*"])
    assert GrantArgs(actions=("ssm:GetParametersByPath",), resources=(SSM_PATH,)).statement(2).to_dict() == {
        "Sid": "Grant2", "Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": SSM_PATH}


def test_grant_errors_carry_the_args_path() -> None:
    with pytest.raises(Invalid, match=r"^grants\[0\]: "):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", grants=["ssm:GetParameter"])  # type: ignore[list-item]


# --------------------------------------------------------------------------- inputs (pure)
def test_input_args_need_exactly_one_source() -> None:
    with pytest.raises(Invalid, match="exactly one of pipeline, computation, bucket"):
        InputArgs()
    with pytest.raises(Invalid, match=r"^computation: give exactly one"):
        InputArgs(pipeline="pipe", computation="comp")
    with pytest.raises(Invalid, match=r"^kms_key_arn: only for an external bucket"):
        InputArgs(pipeline="pipe", kms_key_arn="arn:aws:kms:ap-south-1:123456789012:key/k")
    with pytest.raises(Invalid, match=r"^bucket: 'Bad_Bucket' is not an S3 bucket name"):
        InputArgs(bucket="Bad_Bucket")


def test_resolve_inputs() -> None:
    produced = {"pipeline:pp": Location("pb", "arn:aws:s3:::pb", "p/published/", "k", producer="pipeline:pp")}
    resolved = resolve_inputs([InputArgs(pipeline="pp", prefix="p/published/x/", list_objects=False),
                               InputArgs(bucket="ext", prefix="in/")], produced.__getitem__)
    assert [(loc.bucket_name, loc.prefix, loc.kms_key_arn, listing) for loc, listing in resolved] == [
        ("pb", "p/published/x/", "k", False), ("ext", "in/", None, True)]
    with pytest.raises(Invalid, match=r"^inputs\[0\]\.pipeline: 'qq' is not a pipeline of this stack"):
        resolve_inputs([InputArgs(pipeline="qq")], produced.__getitem__)
    with pytest.raises(Invalid, match=r"^inputs\[0\]\.prefix: 'p/' is outside"):
        resolve_inputs([InputArgs(pipeline="pp", prefix="p/")], produced.__getitem__)


def test_build_order_and_cycles() -> None:
    assert build_order({"c": ["b"], "b": ["a"], "a": []}) == ["a", "b", "c"]
    assert build_order({"a": ["not-a-computation"]}) == ["a"]
    with pytest.raises(Invalid, match=r"^a -> a is a cycle"):
        build_order({"a": ["a"]})
    with pytest.raises(Invalid, match=r"^b -> c -> b is a cycle"):
        build_order({"a": ["b"], "b": ["c"], "c": ["b"]})


def test_runtime_settings_read_the_inputs() -> None:
    environ = {env.COMPUTATION_NAME: "c", env.ARTIFACT_BUCKET: "b", env.LEDGER_TABLE: "t",
               env.INPUTS: json.dumps([{"bucket": "x", "prefix": "p/"}, {"bucket": "y", "prefix": ""}])}
    settings = Settings.from_env(environ)
    assert settings.inputs == (InputLocation("x", "p/"), InputLocation("y", ""))
    assert [i.uri for i in settings.inputs] == ["s3://x/p/", "s3://y/"]
    assert parse_inputs("") == ()
    for bad in ("not json", "[1]", '[{"prefix": "p/"}]'):
        with pytest.raises(SettingsError, match=env.INPUTS):
            parse_inputs(bad)


def test_users_cannot_set_the_inputs_variable() -> None:
    with pytest.raises(Invalid, match="SCIFLOW_INPUTS"):
        ScheduledComputationArgs(handler="a.b", schedule="rate(1 day)", environment={env.INPUTS: "[]"})


# --------------------------------------------------------------------------- stack config
def _config(inputs: Any = None, grants: Any = None, extra: list[dict[str, Any]] | None = None,
            outputs: Any = None, sources: Any = None) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": "stats", "handler": "computations.daily_stats.handler",
                            "schedule": "rate(1 day)"}
    for key, value in (("inputs", inputs), ("grants", grants), ("outputs", outputs)):
        if value is not None:
            comp[key] = value
    pipe: dict[str, Any] = {"name": "sensor-etl", "dataset": "sensor_readings"}
    if sources is not None:
        pipe["sources"] = sources
    return {"computations": [comp, *(extra or [])], "pipelines": [pipe]}


def test_config_inputs_and_grants_parse() -> None:
    cfg = parse_stack_config(_config(
        inputs=[{"pipeline": "sensor-etl"}, {"bucket": "my-data", "prefix": "raw/", "listObjects": False}],
        grants=[{"actions": ["ssm:GetParametersByPath"], "resources": [SSM_PATH]}]), region="ap-south-1")
    args = cfg.computations[0].args
    assert args.inputs == [InputArgs(pipeline="sensor-etl"), InputArgs(bucket="my-data", prefix="raw/",
                                                                       list_objects=False)]
    assert args.grants == [GrantArgs(actions=("ssm:GetParametersByPath",), resources=(SSM_PATH,))]


@pytest.mark.parametrize(("raw", "message"), [
    (_config(inputs=[{"pipeline": "sensor-elt"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]\.pipeline: 'sensor-elt' is not a pipeline of this stack"),
    (_config(inputs=[{"computation": "nope"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]\.computation: 'nope' is not a computation"),
    (_config(inputs=[{"pipeline": "sensor-etl", "prefix": "sensor-etl/staging/"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]\.prefix: 'sensor-etl/staging/' is outside the output of pipeline "
     r"sensor-etl 'sensor-etl/published/'"),
    (_config(inputs=[{"pipeline": "sensor-etl", "bucket": "my-bucket"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]\.bucket: give exactly one"),
    (_config(inputs=[{"pipline": "sensor-etl"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]\.pipline: unknown key; did you mean 'pipeline'"),
    (_config(inputs=[{"computation": "stats"}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]: stats -> stats is a cycle"),
    (_config(inputs=[{"computation": "other"}], extra=[
        {"name": "other", "handler": "a.b", "schedule": "rate(1 day)", "inputs": [{"computation": "stats"}]}]),
     r"^sciflow:computations\[0\]\.inputs\[0\]: stats -> other -> stats is a cycle"),
    (_config(outputs=[{"pipeline": "sensor-elt"}]),
     r"^sciflow:computations\[0\]\.outputs\[0\]\.pipeline: 'sensor-elt' is not a pipeline of this stack"),
    (_config(outputs=[{"pipeline": "sensor-etl", "prefix": "elsewhere/"}]),
     r"^sciflow:computations\[0\]\.outputs\[0\]\.prefix: 'elsewhere/' is outside the inbox of pipeline sensor-etl "
     r"'incoming/'"),
    (_config(outputs=[{"computation": "stats"}]),
     r"^sciflow:computations\[0\]\.outputs\[0\]\.computation: unknown key"),
    (_config(outputs=[{"pipeline": "sensor-etl", "kmsKeyArn": "arn:aws:kms:ap-south-1:123456789012:key/k"}]),
     r"^sciflow:computations\[0\]\.outputs\[0\]\.kmsKeyArn: only for an external bucket"),
    # data-flow cycle through an output: stats reads sensor-etl's output and writes into its inbox
    (_config(inputs=[{"pipeline": "sensor-etl"}], outputs=[{"pipeline": "sensor-etl"}]),
     r"^sciflow:computations\[0\]\.outputs\[0\]: sensor-etl -> stats -> sensor-etl is a cycle"),
    # the pipeline ingests what stats writes, and stats writes into the pipeline: a cycle through sources
    (_config(outputs=[{"pipeline": "sensor-etl"}], sources=[{"computation": "stats"}]),
     r"^sciflow:pipelines\[0\]\.sources\[0\]: sensor-etl -> stats -> sensor-etl is a cycle"),
    (_config(sources=[{"computation": "nope"}]),
     r"^sciflow:pipelines\[0\]\.sources\[0\]\.computation: 'nope' is not a computation of this stack"),
    (_config(sources=[{"pipeline": "sensor-etl"}]),
     r"^sciflow:pipelines\[0\]\.sources\[0\]\.pipeline: a pipeline's output cannot start another pipeline"),
    (_config(sources=[{"computation": "stats", "prefix": "other/"}]),
     r"^sciflow:pipelines\[0\]\.sources\[0\]\.prefix: 'other/' is outside the output of computation stats"),
    (_config(grants=[{"actions": ["ssm:*"], "resources": [SSM_PATH]}]),
     r"^sciflow:computations\[0\]\.grants\[0\]\.actions\[0\]: 'ssm:\*' is a wildcard"),
    (_config(grants=[{"actions": ["ssm:GetParametersByPath"], "resources": ["*"]}]),
     r"^sciflow:computations\[0\]\.grants\[0\]\.resources\[0\]: '\*' is every resource"),
])
def test_bad_config_names_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_stack_config(raw, region="ap-south-1")


# --------------------------------------------------------------------------- under the mocks
@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("connected_computation")


def test_reader_role_gets_exactly_its_inputs_and_grants(graph: Graph) -> None:
    doc = json.loads(graph.find("reader-policy", "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    statements = {s["Sid"]: s for s in doc["Statement"]}
    processed = graph.find("sensor-etl-processed-bucket").outputs
    artifacts = graph.find("first-artifacts-bucket").outputs
    pipe_key = graph.find("sensor-etl-key").outputs["arn"]
    first_key = graph.find("first-key").outputs["arn"]
    expected = {
        "ReadInput0": {"Action": "s3:GetObject", "Resource": f"{processed['arn']}/sensor-etl/published/*"},
        "ListInput0": {"Action": "s3:ListBucket", "Resource": processed["arn"],
                       "Condition": {"StringLike": {"s3:prefix": "sensor-etl/published/*"}}},
        "DecryptInput0": {"Action": "kms:Decrypt", "Resource": pipe_key},
        "ReadInput1": {"Action": "s3:GetObject", "Resource": f"{artifacts['arn']}/first/daily/*"},
        "ListInput1": {"Action": "s3:ListBucket", "Resource": artifacts["arn"],
                       "Condition": {"StringLike": {"s3:prefix": "first/daily/*"}}},
        "DecryptInput1": {"Action": "kms:Decrypt", "Resource": first_key},
        "ReadInput2": {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-data/raw/*"},
        "ListInput2": {"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::my-data",
                       "Condition": {"StringLike": {"s3:prefix": "raw/*"}}},
        "Grant0": {"Action": "ssm:GetParametersByPath", "Resource": SSM_PATH},
    }
    for sid, body in expected.items():
        assert statements[sid] == {"Sid": sid, "Effect": "Allow", **body}
    assert set(statements) - set(expected) == {"WriteArtifactsOnce", "ReadBackArtifacts", "ListArtifacts",
                                               "KeepRunLedger", "UseKey", "SendToDeadLetterQueue", "WriteOwnLogs",
                                               "XRayTracing"}


def test_reader_gets_the_locations_as_settings(graph: Graph) -> None:
    variables = graph.find("reader-fn").inputs["environment"]["variables"]
    processed = graph.find("sensor-etl-processed-bucket").outputs["bucket"]
    artifacts = graph.find("first-artifacts-bucket").outputs["bucket"]
    assert Settings.from_env(variables).inputs == (
        InputLocation(processed, "sensor-etl/published/"), InputLocation(artifacts, "first/daily/"),
        InputLocation("my-data", "raw/"))
    assert env.INPUTS not in graph.find("first-fn").inputs["environment"]["variables"]


def test_connected_program_passes_the_pack(graph: Graph, tmp_path: Path) -> None:
    assert evaluate(graph, program_dir=tmp_path).mandatory == []
