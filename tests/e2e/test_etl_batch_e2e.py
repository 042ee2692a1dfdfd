"""A scheduled batch run end to end in the embedded AWS with IAM enforced: Scheduler starts the batch machine,
its Distributed Map lists the inbox and runs the per-file machine on each input once; the ledger keeps it
exactly-once with the per-file trigger and records each run's source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.etl.datasets.sensor_readings import sample_files
from sandbox.deploy import Deployment
from sandbox.events import executed_states, invoke_schedule, put_object_created, wait_execution
from synth.graph import Graph
from tests.support.ledgers import pipeline_ledger
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("etl-e2e")

PIPELINE, SCHEDULE = "batch-etl", "batch-etl-batch"
TIMEOUT_S = 180


@pytest.fixture(scope="module")
def graph() -> Graph:
    return synth_program("etl_batch", stack=None, sandbox=True)


@pytest.fixture(scope="module")
def stack(graph: Graph) -> Iterator[Deployment]:
    with deployed(graph) as deployment:
        yield deployment


def put_without_event(stack: Deployment, key: str, body: bytes) -> None:
    """An object whose event never arrived (written while the rule was disabled, or an EventBridge outage)."""
    raw = str(stack.get(f"{PIPELINE}-raw-bucket").physical_name)
    before = len(stack.aws.s3_notices)
    stack.client("s3").put_object(Bucket=raw, Key=key, Body=body)
    del stack.aws.s3_notices[before:]


def fire(stack: Deployment, when: datetime) -> dict[str, Any]:
    result = invoke_schedule(stack, f"{PIPELINE}-batch-schedule", when)
    assert result.execution_arn is not None
    return wait_execution(result.execution_arn, TIMEOUT_S, aws=stack.aws)


def file_runs(stack: Deployment) -> list[str]:
    machine = str(stack.get(f"{PIPELINE}-sfn").outputs["arn"])
    sfn = stack.client("stepfunctions")
    return [e["executionArn"] for e in sfn.list_executions(stateMachineArn=stack.rewrite(machine))["executions"]]


def test_batch_runs_each_input_once_and_records_the_schedule(stack: Deployment) -> None:
    clean = sample_files()["sensors-clean.csv"]
    raw = f"{PIPELINE}-raw-bucket"
    [uploaded] = put_object_created(stack, raw, "incoming/uploaded.csv", clean)
    assert wait_execution(uploaded, TIMEOUT_S, aws=stack.aws)["status"] == "SUCCEEDED"
    put_without_event(stack, "incoming/missed.csv", clean)
    put_without_event(stack, "incoming/readme.txt", b"not an input")

    batch = fire(stack, datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    assert batch["status"] == "SUCCEEDED", batch
    items = pipeline_ledger(stack, PIPELINE)
    assert sorted(items) == ["incoming/missed.csv", "incoming/uploaded.csv"]
    assert (items["incoming/uploaded.csv"]["source"], items["incoming/uploaded.csv"]["attempts"]) == ("upload", 1)
    assert (items["incoming/missed.csv"]["source"], items["incoming/missed.csv"]["status"]) == (
        f"schedule:{SCHEDULE}", "COMPLETED")
    runs = file_runs(stack)
    assert len(runs) == 3  # the upload's, and one per listed input (readme.txt is not an input)
    paths = sorted(tuple(executed_states(arn, aws=stack.aws)) for arn in runs)
    assert sum("AlreadyProcessed" in path for path in paths) == 1

    again = fire(stack, datetime(2026, 3, 3, 1, 0, tzinfo=UTC))
    assert again["status"] == "SUCCEEDED"
    assert pipeline_ledger(stack, PIPELINE) == items
    later = [arn for arn in file_runs(stack) if arn not in runs]
    assert len(later) == 2 and all("AlreadyProcessed" in executed_states(arn, aws=stack.aws) for arn in later)
    assert_batch_roles_used_their_grants(stack)


def assert_batch_roles_used_their_grants(stack: Deployment) -> None:
    """The schedule's role started the batch machine; the batch role listed the prefix and ran the children."""
    assert stack.aws.enforcer is not None
    used: dict[str, set[str]] = {}
    for principal in stack.aws.enforcer.report()["principals"]:
        used.setdefault(principal["name"], set()).update(u["sid"] for u in principal["used"])
    batch = set().union(*(sids for name, sids in used.items() if "batch-sfn" in name))
    scheduler = set().union(*(sids for name, sids in used.items() if "batch-scheduler" in name))
    assert {"ListBatchPrefix", "StartFileRuns", "ManageFileRuns"} <= batch, used
    assert "StartBatchRun" in scheduler, used


def test_the_batch_used_only_granted_access(stack: Deployment) -> None:
    assert stack.aws.enforcer is not None
    assert [d.message for d in stack.aws.enforcer.denied()] == []

