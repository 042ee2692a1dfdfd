"""Cost: the stack's monthly estimate against its budget.

sciflow writes the estimate and the budget (``sciflow:budgetUsdMonth``) into the first lines of the stack
dashboard's text widget (``components/dashboard.py: cost_markdown``); this policy reads them from the
``aws:cloudwatch/dashboard:Dashboard`` inputs, so the pack needs no pricing code of its own.
"""

from __future__ import annotations

import json
import re

from pulumi_policy import ResourceValidationArgs, Severity

from ._core import ADVISORY, UNKNOWN, AnyPolicy, Ctx, Doc, SciflowResourcePolicy, schema

AREA = "cost"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
_ESTIMATE = re.compile(r"Estimated monthly cost: \$([\d,]+(?:\.\d+)?)")
_BUDGET = re.compile(r"Budget: \$([\d,]+(?:\.\d+)?) / month")


def _number(match: re.Match[str] | None) -> float | None:
    return float(match.group(1).replace(",", "")) if match else None


def estimate_and_budget(dashboard_body: str) -> tuple[float | None, float | None]:
    """The ``(estimate, budget)`` a sciflow dashboard body states, ``None`` where it states none.

    >>> estimate_and_budget('{"widgets": [{"type": "text", "properties": {"markdown": '
    ...                     '"## Estimated monthly cost: $9.32\\\\n\\\\nBudget: $25.00 / month"}}]}')
    (9.32, 25.0)
    """
    try:
        widgets = json.loads(dashboard_body).get("widgets", [])
    except (ValueError, AttributeError):
        return None, None
    for widget in widgets:
        text = (widget.get("properties") or {}).get("markdown") if isinstance(widget, dict) else None
        if isinstance(text, str) and _ESTIMATE.search(text):
            return _number(_ESTIMATE.search(text)), _number(_BUDGET.search(text))
    return None, None


def _budget(ctx: Ctx, args: ResourceValidationArgs) -> None:
    body = ctx.get("dashboardBody")
    if body is UNKNOWN or not isinstance(body, str):
        return
    estimate, stated = estimate_and_budget(body)
    if estimate is None:
        return  # not a sciflow cost dashboard
    configured = ctx.config.get("budgetUsdMonth")
    budget = float(configured) if configured is not None else stated
    if budget is None:
        return
    if estimate > budget:
        ctx.report(f"The stack's estimated cost is ${estimate:,.2f}/month, over its budget of ${budget:,.2f}/month. "
                   "Lower memory, schedules or retention, or raise sciflow:budgetUsdMonth if this is expected.")


STACK_COST_BUDGET = SciflowResourcePolicy(
    name="stack-cost-budget",
    description="The stack's estimated monthly cost must stay within its budget.",
    resource_types=(DASHBOARD,), check=_budget, enforcement_level=ADVISORY, severity=Severity.LOW, area=AREA,
    config_schema=schema(budgetUsdMonth={"type": ["number", "null"], "minimum": 0, "default": None,
                                         "description": "Budget in USD per month; overrides the stack's "
                                                        "sciflow:budgetUsdMonth."}),
    doc=Doc(why="A schedule or memory change can multiply the bill; the review should show it before the invoice.",
            fix="Reduce memory/frequency/retention, or raise sciflow:budgetUsdMonth (or the policy's budgetUsdMonth).",
            unknown="The dashboard body is unknown at preview when it names new resources: the engine notes that "
                    "the policy could not run, and it runs at `pulumi up`.",
            references=("sciflow",)),
    unknown="report")

POLICIES: list[AnyPolicy] = [STACK_COST_BUDGET]
