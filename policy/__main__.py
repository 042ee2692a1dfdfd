"""The sciflow CrossGuard pack. Only builds the PolicyPack: ``PolicyPack(...)`` serves gRPC and blocks.

The Pulumi CLI starts it as ``python -u -m pulumi.policy <engine> <pack dir>`` in the pack directory (see
``pulumi-analyzer-policy-python``), which runs this file with the pack directory on ``sys.path``: hence
``from policies import ...``. Never import this module from tests or tools; use ``policy.policies``.
"""

from __future__ import annotations

from policies import PACK_NAME, policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="sciflow: least privilege, encryption, public access, Lambda package size and reliability for "
                "Lambda, Step Functions, SQS, DynamoDB, S3, EventBridge and Scheduler.",
)
