"""The sciflow CrossGuard pack. Only builds the PolicyPack: ``PolicyPack(...)`` serves gRPC and blocks.

The Pulumi CLI starts it as ``python -u -m pulumi.policy <engine> <pack dir>`` in the pack directory (see
``pulumi-analyzer-policy-python``), which runs this file with the pack directory first on ``sys.path``: hence
``from policies import ...``. Run from the repository root instead (``python policy/__main__.py``, tests), the
package is ``policy.policies``. Tools and tests use ``policy.policies`` / ``policy.check``, never this module.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

try:
    from policies import PACK_NAME, policies  # the CLI: the pack directory is on sys.path
except ImportError:  # the repository root is on sys.path
    from policy.policies import PACK_NAME, policies

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.ADVISORY,
    description="sciflow: least privilege, encryption, public access, Lambda package size and reliability for "
                "Lambda, Step Functions, SQS, DynamoDB, S3, EventBridge and Scheduler.",
)
