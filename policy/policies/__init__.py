"""The registry of every sciflow policy, in documentation order.

Imports inside ``policies`` are relative, so the package works both as ``policies`` (the Pulumi CLI runs the
pack with ``python -m pulumi.policy <engine> <pack dir>``, which puts the pack directory first on ``sys.path``)
and as ``policy.policies`` (``python -m policy.check`` and the tests, from the repository root).
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    cost,
    encryption,
    iam,
    observability,
    packaging,
    public_access,
    reliability,
    services,
    snapstart,
    stepfunctions,
    tagging,
)
from ._core import SciflowResourcePolicy, SciflowStackPolicy

PACK_NAME = "sciflow"

ALL_POLICIES: list[SciflowResourcePolicy | SciflowStackPolicy] = [
    *iam.POLICIES,
    *public_access.POLICIES,
    *encryption.POLICIES,
    *packaging.POLICIES,
    *snapstart.POLICIES,
    *stepfunctions.POLICIES,
    *reliability.POLICIES,
    *observability.POLICIES,
    *services.POLICIES,
    *tagging.POLICIES,
    *cost.POLICIES,
]

BY_NAME: dict[str, SciflowResourcePolicy | SciflowStackPolicy] = {p.name: p for p in ALL_POLICIES}
if len(BY_NAME) != len(ALL_POLICIES):  # pragma: no cover - a programming error caught at import
    raise RuntimeError("duplicate policy names in the sciflow pack")


def policies() -> list[Policy]:
    """A fresh list for ``PolicyPack`` / the analyzer (the list type ``pulumi_policy`` expects)."""
    return list(ALL_POLICIES)


__all__ = ["ALL_POLICIES", "BY_NAME", "PACK_NAME", "SciflowResourcePolicy", "SciflowStackPolicy", "policies"]
