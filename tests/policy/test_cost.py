"""stack-cost-budget, awsguard style: the dashboard body sciflow writes, one change per failing case."""

from __future__ import annotations

import json
from typing import Any

from components.cost import Estimate
from components.dashboard import Watched, dashboard_body
from tests.policy.helpers import UNKNOWN_STRING_VALUE, messages, run_resource

POLICY = "stack-cost-budget"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def props(total: float = 9.32, budget: float | None = 25.0) -> dict[str, Any]:
    body = dashboard_body("ap-south-1", Watched(estimates=[Estimate("daily-stats", {"lambda": total})]), budget)
    return {"dashboardName": "sciflow-dev", "dashboardBody": json.dumps(body)}


def test_within_budget_passes() -> None:
    assert run_resource(POLICY, DASHBOARD, props()) == []


def test_over_budget_is_flagged_with_both_figures() -> None:
    assert messages(run_resource(POLICY, DASHBOARD, props(total=30.0))) == (
        "The stack's estimated monthly cost must stay within its budget.\n"
        "The stack's estimated cost is $30.00/month, over its budget of $25.00/month. Lower memory, schedules or "
        "retention, or raise sciflow:budgetUsdMonth if this is expected.")


def test_no_budget_stated_is_not_checked() -> None:
    assert run_resource(POLICY, DASHBOARD, props(total=1e6, budget=None)) == []


def test_a_dashboard_without_an_estimate_is_not_ours() -> None:
    assert run_resource(POLICY, DASHBOARD, {"dashboardBody": json.dumps({"widgets": []})}) == []


def test_missing_body() -> None:
    assert run_resource(POLICY, DASHBOARD, {"dashboardName": "x"}) == []


def test_unknown_body_is_noted_not_passed() -> None:
    found = run_resource(POLICY, DASHBOARD, {"dashboardBody": UNKNOWN_STRING_VALUE})
    assert len(found) == 1 and "can't run policy" in found[0].message


def test_config_override_wins_over_the_stated_budget() -> None:
    assert len(run_resource(POLICY, DASHBOARD, props(total=9.32), config={"budgetUsdMonth": 5})) == 1
    assert run_resource(POLICY, DASHBOARD, props(total=30.0), config={"budgetUsdMonth": 50}) == []
