"""The AWS services the sandbox deploys, one module per service; each type's mock answer sits beside its
deploy handler and is registered once (:func:`sandbox.services._base.resource`).

``ANSWERS`` plugs the exact answers into :func:`synth.synth` (:func:`synth_for_sandbox` does it), ``handler``
finds a type's deploy handler, ``SUPPORTED_TYPES`` lists what ``sandbox.deploy`` creates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.services import (  # noqa: F401  (each module registers its types on import)
    cloudwatch,
    dynamodb,
    eventbridge,
    iam,
    kms,
    lambda_,
    s3,
    scheduler,
    sfn,
    sns,
    sqs,
)
from sandbox.services._base import REGISTRY, Deployer, DeployError, DeployHandler, ResourceType
from synth import Graph, ResourceAnswer, synth

ANSWERS: dict[str, ResourceAnswer] = {t: e.answer for t, e in REGISTRY.items() if e.answer is not None}
SUPPORTED_TYPES: tuple[str, ...] = tuple(sorted(t for t, e in REGISTRY.items() if e.deploy is not None))


def handler(type_token: str) -> DeployHandler | None:
    entry = REGISTRY.get(type_token)
    return entry.deploy if entry is not None else None


def synth_for_sandbox(program: Path | str = "__main__.py", **kwargs: Any) -> Graph:
    """:func:`synth.synth` with the sandbox's exact answers, so the graph names what the deploy creates."""
    return synth(program, answers=ANSWERS, **kwargs)


__all__ = ["ANSWERS", "REGISTRY", "SUPPORTED_TYPES", "DeployError", "Deployer", "ResourceType", "handler",
           "synth_for_sandbox"]
