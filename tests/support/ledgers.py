"""Reading a deployed program's run ledgers in e2e tests."""

from __future__ import annotations

from typing import Any

from sandbox.demo import scan_table
from sandbox.deploy import Deployment


def pipeline_ledger(stack: Deployment, pipeline: str) -> dict[str, dict[str, Any]]:
    """``pipeline``'s run items (its ``<pipeline>-runs-table``) by input key, decoded."""
    table = str(stack.get(f"{pipeline}-runs-table").physical_name)
    return {str(item["key"]): item for item in scan_table(stack.client("dynamodb"), table)}
