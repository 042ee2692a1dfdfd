"""One CloudWatch dashboard per stack: every function, state machine and DLQ of the stack, plus the cost estimate.

``dashboard_body`` is pure data (values may be Outputs); ``create_dashboard`` serializes it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.cost import PRICES_AS_OF, Estimate

WIDTH = 24
HALF = 12


@dataclass(frozen=True)
class Watched:
    """What one component asks the dashboard to show (labels are component names)."""

    functions: Sequence[tuple[str, pulumi.Input[str]]] = ()
    state_machines: Sequence[tuple[str, pulumi.Input[str]]] = ()
    queues: Sequence[tuple[str, pulumi.Input[str]]] = ()
    estimates: Sequence[Estimate] = field(default_factory=tuple)

    def __add__(self, other: Watched) -> Watched:
        return Watched(tuple(self.functions) + tuple(other.functions),
                       tuple(self.state_machines) + tuple(other.state_machines),
                       tuple(self.queues) + tuple(other.queues),
                       tuple(self.estimates) + tuple(other.estimates))


def _metric_widget(title: str, region: str, metrics: list[list[Any]], *, stat: str, y: int, x: int = 0,
                   width: int = HALF) -> dict[str, Any]:
    return {"type": "metric", "x": x, "y": y, "width": width, "height": 6,
            "properties": {"title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries",
                           "stacked": False, "metrics": metrics}}


def cost_markdown(estimates: Sequence[Estimate], budget_usd_month: float | None = None) -> str:
    """The cost estimate as a markdown table for a text widget. The first lines (``## Estimated monthly cost:
    $X`` and ``Budget: $Y / month``) are also what the pack's ``stack-cost-budget`` policy reads."""
    total = sum(e.total_usd for e in estimates)
    rows = "\n".join(f"| {e.name} | {e.total_usd:,.2f} |" for e in estimates)
    budget = f"Budget: ${budget_usd_month:,.2f} / month\n\n" if budget_usd_month is not None else ""
    return (f"## Estimated monthly cost: ${total:,.2f}\n\n{budget}| component | USD / month |\n|---|---:|\n{rows}"
            f"\n\nList prices as of {PRICES_AS_OF}, free tier ignored. Recompute with `python -m sandbox preview`.")


def dashboard_body(region: str, watched: Watched, budget_usd_month: float | None = None) -> dict[str, Any]:
    """Widgets: Lambda invocations / errors / p95 duration / throttles per function, executions started / failed /
    timed out per state machine, visible DLQ messages per queue, and the cost table."""
    widgets: list[dict[str, Any]] = [{"type": "text", "x": 0, "y": 0, "width": WIDTH, "height": 6,
                                      "properties": {"markdown": cost_markdown(watched.estimates, budget_usd_month)}}]
    y = 6

    def per_function(metric: str) -> list[list[Any]]:
        return [["AWS/Lambda", metric, "FunctionName", name, {"label": label}] for label, name in watched.functions]

    if watched.functions:
        widgets += [
            _metric_widget("Invocations", region, per_function("Invocations"), stat="Sum", y=y),
            _metric_widget("Errors", region, per_function("Errors"), stat="Sum", y=y, x=HALF),
            _metric_widget("Duration p95 (ms)", region, per_function("Duration"), stat="p95", y=y + 6),
            _metric_widget("Throttles", region, per_function("Throttles"), stat="Sum", y=y + 6, x=HALF),
        ]
        y += 12
    if watched.state_machines:
        metrics = [["AWS/States", metric, "StateMachineArn", arn, {"label": f"{label} {metric}"}]
                   for label, arn in watched.state_machines
                   for metric in ("ExecutionsStarted", "ExecutionsFailed", "ExecutionsTimedOut")]
        widgets.append(_metric_widget("Step Functions executions", region, metrics, stat="Sum", y=y, width=WIDTH))
        y += 6
    if watched.queues:
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name, {"label": label}]
                   for label, name in watched.queues]
        widgets.append(_metric_widget("Dead-letter queue depth", region, metrics, stat="Maximum", y=y, width=WIDTH))
    return {"widgets": widgets}


def create_dashboard(name: str, *, dashboard_name: str, region: str, watched: Watched,
                     budget_usd_month: float | None = None,
                     opts: pulumi.ResourceOptions | None = None) -> aws.cloudwatch.Dashboard:
    """The stack's dashboard (logical ``name``, physical ``dashboard_name``: dashboards take no tags and their
    names are unique per account, so it carries the project and stack)."""
    return aws.cloudwatch.Dashboard(
        name,
        dashboard_name=dashboard_name,
        dashboard_body=pulumi.Output.json_dumps(dashboard_body(region, watched, budget_usd_month)),
        opts=opts,
    )

