"""The stack dashboard body: one widget set per metric family, every watched resource in it."""

from __future__ import annotations

from components.cost import Estimate
from components.dashboard import Watched, cost_markdown, dashboard_body


def watched() -> Watched:
    est = Estimate("daily-stats", {"kms key": 1.0, "lambda": 0.5})
    return Watched(functions=[("daily-stats", "fn-a"), ("sensor-etl ingest", "fn-b")],
                   state_machines=[("sensor-etl", "arn:aws:states:ap-south-1:123456789012:stateMachine:m")],
                   queues=[("daily-stats", "dlq-a")], estimates=[est])


def titles(body: dict) -> list[str]:
    return [w["properties"].get("title", "text") for w in body["widgets"]]


def test_widgets_cover_functions_machines_and_queues() -> None:
    body = dashboard_body("ap-south-1", watched())
    assert titles(body) == ["text", "Invocations", "Errors", "Duration p95 (ms)", "Throttles",
                            "Step Functions executions", "Dead-letter queue depth"]
    duration = body["widgets"][3]["properties"]
    assert duration["stat"] == "p95"
    assert [m[3] for m in duration["metrics"]] == ["fn-a", "fn-b"]
    sfn = body["widgets"][5]["properties"]["metrics"]
    assert {m[1] for m in sfn} == {"ExecutionsStarted", "ExecutionsFailed", "ExecutionsTimedOut"}


def test_empty_sections_are_left_out() -> None:
    assert titles(dashboard_body("ap-south-1", Watched(functions=[("a", "fn")]))) == [
        "text", "Invocations", "Errors", "Duration p95 (ms)", "Throttles"]


def test_cost_markdown_totals() -> None:
    text = cost_markdown([Estimate("a", {"x": 1.25}), Estimate("b", {"y": 2.0})])
    assert text.startswith("## Estimated monthly cost: $3.25")
    assert "| a | 1.25 |" in text and "| b | 2.00 |" in text


def test_watched_adds_up() -> None:
    total = watched() + Watched(queues=[("sensor-etl", "dlq-b")])
    assert [q[1] for q in total.queues] == ["dlq-a", "dlq-b"]
