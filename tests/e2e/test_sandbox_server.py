"""The embedded AWS in server mode: any boto3 client with an endpoint URL runs our Lambda code and ASL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from sandbox import events
from sandbox.deploy import Deployment, deploy
from sandbox.server import ServerHandle, start_server
from synth.graph import Graph


@pytest.fixture(scope="module")
def server(sample_graph: Graph) -> Iterator[tuple[ServerHandle, Deployment]]:
    handle = start_server(0, sample_graph.region)
    try:
        yield handle, deploy(sample_graph, handle.aws)
    finally:
        handle.stop()


def test_plain_client_invokes_the_function_over_http(server: tuple[ServerHandle, Deployment]) -> None:
    handle, deployment = server
    client = boto3.client("lambda", region_name="ap-south-1", endpoint_url=handle.endpoint_url,
                          aws_access_key_id="x", aws_secret_access_key="x")
    name = deployment.function("sample-fn").physical_name
    response = client.invoke(FunctionName=name, Payload=b'{"mode": "ok", "id": "over-http"}')
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["key"] == "results/over-http.json"
    # the handler's own boto3 calls reached the server, not AWS
    s3 = boto3.client("s3", region_name="ap-south-1", endpoint_url=handle.endpoint_url,
                      aws_access_key_id="x", aws_secret_access_key="x")
    body = s3.get_object(Bucket=deployment.output("bucket"), Key="results/over-http.json")["Body"].read()
    assert json.loads(body)["id"] == "over-http"


def test_state_machine_paths_run_in_server_mode(server: tuple[ServerHandle, Deployment]) -> None:
    handle, deployment = server
    ok = events.start_execution(deployment, "sample-machine", {"mode": "ok", "key": "k"}, name="srv-ok")
    bad = events.start_execution(deployment, "sample-machine", {"mode": "bad", "key": "k"}, name="srv-bad")
    assert events.wait_execution(ok, timeout_s=120, aws=handle.aws)["status"] == "SUCCEEDED"
    assert events.wait_execution(bad, timeout_s=120, aws=handle.aws)["status"] == "SUCCEEDED"
    assert events.executed_states(bad, aws=handle.aws) == ["Compute", "RecordFailure", "Failed"]


def test_function_error_surfaces_over_http(server: tuple[ServerHandle, Deployment]) -> None:
    _handle, deployment = server
    response = deployment.client("lambda").invoke(FunctionName=deployment.function("sample-fn").physical_name,
                                                  Payload=b'{"mode": "bad", "reason": "x"}')
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "BadInput"

