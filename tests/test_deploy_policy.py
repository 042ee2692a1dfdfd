"""docs/iam: the CI (preview) and deploy roles' policies are real IAM and cover the stacks they deploy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from policy.policies._iamdoc import action_resource_types
from synth import synth
from synth.graph import Graph

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "iam"
READ_VERBS = ("Get", "Describe", "List", "Validate")
# Pulumi module -> IAM service prefix, where they differ (CloudWatch's module holds three services)
SERVICE_OF_MODULE = {"sfn": "states"}
SERVICE_OF_TYPE = {"LogGroup": "logs", "EventRule": "events", "EventTarget": "events"}
CREATE_VERBS = ("Create", "Put", "Publish")


def _policy(name: str) -> dict[str, Any]:
    return json.loads((DOCS / f"{name}-policy.json").read_text())


def _actions(doc: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for statement in doc["Statement"]:
        if statement["Effect"] == "Allow":
            actions = statement["Action"]
            out.update([actions] if isinstance(actions, str) else actions)
    return out


def _allows(doc: dict[str, Any], action: str, resource: str) -> bool:
    def glob(pattern: str, value: str) -> bool:
        regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern.replace("${aws:PrincipalAccount}", "*"))
        return re.fullmatch(regex, value) is not None

    for statement in doc["Statement"]:
        actions = statement.get("Action", [])
        resources = statement["Resource"]
        if statement["Effect"] == "Allow" and action in ([actions] if isinstance(actions, str) else actions) and \
                any(glob(r, resource) for r in ([resources] if isinstance(resources, str) else resources)):
            return True
    return False


@pytest.mark.parametrize("name", ["preview", "deploy"])
def test_every_action_exists_in_the_service_authorization_reference(name: str) -> None:
    doc = _policy(name)
    assert doc["Version"] == "2012-10-17"
    unknown = sorted(a for a in _actions(doc) if action_resource_types(a) is None)
    assert unknown == []
    assert "states:ValidateStateMachineDefinition" in _actions(doc)


def test_preview_only_reads_and_is_part_of_deploy() -> None:
    preview, deploy = _actions(_policy("preview")), _actions(_policy("deploy"))
    assert preview <= deploy
    writes = sorted(a for a in preview if not a.split(":")[1].startswith(READ_VERBS) and a != "sts:GetCallerIdentity")
    assert writes == []


def test_roles_and_keys_are_changed_only_with_the_project_tag() -> None:
    for statement in _policy("deploy")["Statement"]:
        actions = statement.get("Action", [])
        risky = {"iam:PutRolePolicy", "iam:PassRole", "iam:CreateRole", "kms:PutKeyPolicy", "kms:CreateKey"}
        if statement["Effect"] == "Allow" and risky & set([actions] if isinstance(actions, str) else actions):
            tags = {k for block in statement["Condition"].values() for k in block}
            assert tags & {"aws:RequestTag/project", "aws:ResourceTag/project"}, statement["Sid"]


@pytest.fixture(scope="module", params=["dev", "prod"])
def graph(request: pytest.FixtureRequest) -> Graph:
    return synth(REPO / "__main__.py", stack=request.param)


@pytest.mark.slow
def test_deploy_can_create_every_kind_of_resource_the_stack_declares(graph: Graph) -> None:
    deploy = _actions(_policy("deploy"))
    missing = []
    for typ in sorted({r.type for r in graph if r.custom and r.type.startswith("aws:")}):
        module, cls = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[1]
        service = SERVICE_OF_TYPE.get(cls, SERVICE_OF_MODULE.get(module, module))
        if not any(a.startswith(f"{service}:") and a.split(":")[1].startswith(CREATE_VERBS) for a in deploy):
            missing.append(f"{typ} ({service})")
    assert missing == []


# (type, action, ARN template over the resource's inputs) of every resource whose name or key the stack chooses
CHOSEN = [
    ("aws:lambda/layerVersion:LayerVersion", "lambda:PublishLayerVersion",
     "arn:aws:lambda:{region}:{account}:layer:{layerName}"),
    ("aws:kms/alias:Alias", "kms:CreateAlias", "arn:aws:kms:{region}:{account}:{name}"),
    ("aws:cloudwatch/dashboard:Dashboard", "cloudwatch:PutDashboard", "arn:aws:cloudwatch::{account}:dashboard/"
                                                                      "{dashboardName}"),
    ("aws:s3/bucketObjectv2:BucketObjectv2", "s3:PutObject", "arn:aws:s3:::{bucket}/{key}"),
]


@pytest.mark.slow
def test_the_names_the_stack_chooses_fall_inside_the_policy_patterns(graph: Graph) -> None:
    deploy = _policy("deploy")
    for typ, action, template in CHOSEN:
        resources = graph.by_type(typ)
        assert resources, typ
        for res in resources:
            arn = template.format(region=graph.region, account="123456789012", **res.inputs)
            assert _allows(deploy, action, arn), arn
