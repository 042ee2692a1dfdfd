"""Chains: a computation's outputs (write-only grants into a pipeline's inbox or a bucket) and a pipeline's extra
sources (a rule and read grants per source), exact statements under the mocks, and the runtime settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.config import build_sequence, parse_stack_config
from components.connections import Location, OutputArgs, resolve_location, write_statements
from handlers.runtime import env
from handlers.runtime.scheduled import InputLocation, Settings
from handlers.runtime.validators import Invalid
from policy.check import evaluate
from synth.graph import Graph
from tests.support.programs import synth_program

EXT_KEY = "arn:aws:kms:ap-south-1:123456789012:key/ext"
ACCOUNT = "123456789012"  # the mocks' caller identity
POLICY = "aws:iam/rolePolicy:RolePolicy"


def test_write_statements_are_put_only() -> None:
    location = Location("b", "arn:aws:s3:::b", "incoming/", "arn:aws:kms:ap-south-1:1:key/k")
    assert [s.to_dict() for s in write_statements(location, index=2)] == [
        {"Sid": "WriteOutput2", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/incoming/*"},
        {"Sid": "EncryptOutput2", "Effect": "Allow", "Action": "kms:GenerateDataKey",
         "Resource": "arn:aws:kms:ap-south-1:1:key/k"}]
    assert [s.to_dict() for s in write_statements(Location.external("x", "in/"), index=0)] == [
        {"Sid": "WriteOutput0", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::x/in/*"}]
    inbox = Location("b", "arn:aws:s3:::b", "incoming/", producer="pipeline:sensor-etl", role="inbox")
    assert write_statements(inbox, index=2, account=ACCOUNT)[0].conditions == ()  # a component's bucket


@pytest.mark.parametrize(("location", "account", "owner"), [
    (Location.external("x", "in/"), ACCOUNT, ACCOUNT),  # default: the stack's own account
    (Location.external("x", "in/", account="210987654321"), ACCOUNT, "210987654321"),
    (Location.external("x", "in/").under("in/daily/"), ACCOUNT, ACCOUNT),
])
def test_writes_into_an_external_bucket_are_pinned_to_its_owner(location: Location, account: str, owner: str
                                                                 ) -> None:
    statement = write_statements(location, index=0, account=account)[0].to_dict()
    assert statement["Condition"] == {"StringEquals": {"s3:ResourceAccount": owner}}


def test_output_account_is_for_external_buckets_only() -> None:
    no_components: dict[str, Location] = {}
    assert resolve_location(OutputArgs(bucket="drop-zone", account="210987654321"), no_components.__getitem__,
                            key="outputs", index=0).account == "210987654321"
    with pytest.raises(Invalid, match=r"account: only for an external bucket"):
        OutputArgs(pipeline="sensor-etl", account="210987654321")
    with pytest.raises(Invalid, match=r"account: '12345' is not an AWS account id \(12 digits\)"):
        OutputArgs(bucket="drop-zone", account="12345")


def test_config_outputs_parse() -> None:
    cfg = parse_stack_config({
        "computations": [{"name": "fetcher", "handler": "a.b", "schedule": "rate(1 day)",
                          "outputs": [{"pipeline": "sensor-etl", "prefix": "incoming/fetched/"},
                                      {"bucket": "drop-zone", "prefix": "in/"}]}],
        "pipelines": [{"name": "sensor-etl", "dataset": "sensor_readings"},
                      {"name": "second-etl", "dataset": "sensor_readings", "sources": [{"computation": "fetcher"}]}]},
        region="ap-south-1")
    assert cfg.computations[0].args.outputs == [OutputArgs(pipeline="sensor-etl", prefix="incoming/fetched/"),
                                                OutputArgs(bucket="drop-zone", prefix="in/")]
    assert build_sequence(cfg) == [("pipeline", "sensor-etl"), ("computation", "fetcher"),
                                   ("pipeline", "second-etl")]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("chained_components")


def _statements(graph: Graph, policy: str) -> dict[str, dict[str, Any]]:
    doc = json.loads(graph.find(policy, POLICY).inputs["policy"])
    return {s["Sid"]: s for s in doc["Statement"]}


def test_writer_may_only_put_into_its_outputs(graph: Graph) -> None:
    statements = _statements(graph, "writer-policy")
    raw = graph.find("sensor-etl-raw-bucket").outputs["arn"]
    pipe_key = graph.find("sensor-etl-key").outputs["arn"]
    assert {sid: s for sid, s in statements.items() if "Output" in sid} == {
        "WriteOutput0": {"Sid": "WriteOutput0", "Effect": "Allow", "Action": "s3:PutObject",
                         "Resource": f"{raw}/incoming/fetched/*"},
        "EncryptOutput0": {"Sid": "EncryptOutput0", "Effect": "Allow", "Action": "kms:GenerateDataKey",
                           "Resource": pipe_key},
        "WriteOutput1": {"Sid": "WriteOutput1", "Effect": "Allow", "Action": "s3:PutObject",
                         "Resource": "arn:aws:s3:::drop-zone/in/*",
                         "Condition": {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}},  # the stack's own
        "EncryptOutput1": {"Sid": "EncryptOutput1", "Effect": "Allow", "Action": "kms:GenerateDataKey",
                           "Resource": EXT_KEY},
    }
    assert set(statements) - {"WriteOutput0", "EncryptOutput0", "WriteOutput1", "EncryptOutput1"} == {
        "WriteArtifactsOnce", "ReadBackArtifacts", "ListArtifacts", "KeepRunLedger", "UseKey",
        "SendToDeadLetterQueue", "WriteOwnLogs", "XRayTracing"}


def test_writer_gets_its_outputs_as_settings(graph: Graph) -> None:
    variables = graph.find("writer-fn").inputs["environment"]["variables"]
    raw = graph.find("sensor-etl-raw-bucket").outputs["bucket"]
    settings = Settings.from_env(variables)
    assert settings.outputs == (InputLocation(raw, "incoming/fetched/"), InputLocation("drop-zone", "in/"))
    assert settings.inputs == ()
    assert env.INPUTS not in variables


def test_sources_get_read_grants_in_ingest_and_validate_only(graph: Graph) -> None:
    artifacts = graph.find("writer-artifacts-bucket").outputs["arn"]
    writer_key = graph.find("writer-key").outputs["arn"]
    read = ["s3:GetObject", "s3:GetObjectVersion"]
    ingest = _statements(graph, "second-etl-ingest-policy")
    assert {sid: s for sid, s in ingest.items() if "Source" in sid} == {
        "ReadSource0": {"Sid": "ReadSource0", "Effect": "Allow", "Action": read,
                        "Resource": f"{artifacts}/writer/exports/*"},
        "ListSource0": {"Sid": "ListSource0", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": artifacts,
                        "Condition": {"StringLike": {"s3:prefix": "writer/exports/*"}}},
        "DecryptSource0": {"Sid": "DecryptSource0", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": writer_key},
        "ReadSource1": {"Sid": "ReadSource1", "Effect": "Allow", "Action": read,
                        "Resource": "arn:aws:s3:::partner-data/feed/*"},
        "ListSource1": {"Sid": "ListSource1", "Effect": "Allow", "Action": "s3:ListBucket",
                        "Resource": "arn:aws:s3:::partner-data",
                        "Condition": {"StringLike": {"s3:prefix": "feed/*"}}},
        "ReadSource2": {"Sid": "ReadSource2", "Effect": "Allow", "Action": read,
                        "Resource": "arn:aws:s3:::partner-two/x/*"},
    }
    validate = _statements(graph, "second-etl-validate-policy")
    assert sorted(sid for sid in validate if "Source" in sid) == ["DecryptSource0", "ReadSource0", "ReadSource1",
                                                                  "ReadSource2"]
    for step in ("transform", "output", "on-failure"):
        assert not [sid for sid in _statements(graph, f"second-etl-{step}-policy") if "Source" in sid]


def test_each_source_has_a_rule_and_a_target(graph: Graph) -> None:
    machine = graph.find("second-etl-sfn", "aws:sfn/stateMachine:StateMachine").outputs["arn"]
    artifacts = graph.find("writer-artifacts-bucket").outputs["bucket"]
    for i, (bucket, prefix) in enumerate([(artifacts, "writer/exports/"), ("partner-data", "feed/"),
                                          ("partner-two", "x/")]):
        rule = graph.find(f"second-etl-source{i}-rule", "aws:cloudwatch/eventRule:EventRule")
        assert json.loads(rule.inputs["eventPattern"])["detail"] == {
            "bucket": {"name": [bucket]}, "object": {"key": [{"wildcard": f"{prefix}*.csv"}]}}
        target = graph.find(f"second-etl-source{i}-target", "aws:cloudwatch/eventTarget:EventTarget")
        assert target.inputs["arn"] == machine
        assert target.inputs["rule"] == rule.outputs["name"]
    dlq_policy = json.dumps(graph.find("second-etl-dlq-queue-policy").inputs)
    for i in range(3):
        assert graph.find(f"second-etl-source{i}-rule").outputs["arn"] in dlq_policy


def test_computation_artifacts_send_events(graph: Graph) -> None:
    notification = graph.find("writer-artifacts-notification", "aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["eventbridge"] is True


def test_chained_program_passes_the_pack(graph: Graph, tmp_path: Path) -> None:
    assert evaluate(graph, program_dir=tmp_path).mandatory == []
