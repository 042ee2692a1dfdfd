"""Two stacks of one project in one account: no explicit physical name may be asked for twice.

AWS names (KMS aliases, layer names, dashboards, roles, log groups, buckets ...) are unique per account (and
region); a second stack that asks for a name the first one holds fails to deploy. Pulumi auto-names most
resources with a random suffix; the names a program *chooses* are found generically here, for every resource
type, not from a list of today's types:

* a top-level string input whose key names something (``name``, ``bucket``, ``<anything>Name``),
* that the program wrote literally (no property dependency: a value computed from another resource is a
  reference to that resource, not a new name), and
* that the resource is known by (it appears in the resource's id or ARN, which excludes inputs such as an
  alarm's ``metricName`` that name something else).

``*Prefix`` inputs are not names: AWS or Pulumi appends a unique suffix to them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from synth import synth
from synth.graph import Graph, Resource

REPO = Path(__file__).resolve().parents[2]
_NAME_KEY = re.compile(r"^(name|bucket|[a-z][A-Za-z0-9]*Name)$")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-layers")]


def explicit_names(resources: list[Resource] | Graph) -> list[tuple[str, str, str]]:
    """``(type, input key, name)`` of every physical name the program chose itself."""
    found = []
    for res in resources:
        if not res.custom:
            continue
        identity = " ".join(str(v) for k, v in [("id", res.id), *res.outputs.items()]
                            if k == "id" or k.lower().endswith("arn"))
        for key, value in res.inputs.items():
            if not (_NAME_KEY.match(key) and isinstance(value, str) and value):
                continue
            if res.property_dependencies.get(key):
                continue
            if value in identity:
                found.append((res.type, key, value))
    return found


@pytest.fixture(scope="module")
def stacks() -> dict[str, Graph]:
    return {stack: synth(REPO / "__main__.py", stack=stack) for stack in ("dev", "prod")}


def test_dev_and_prod_ask_for_no_common_name(stacks: dict[str, Graph]) -> None:
    names = {stack: {(t, v) for t, _k, v in explicit_names(graph)} for stack, graph in stacks.items()}
    assert names["dev"] and names["prod"]
    assert names["dev"] & names["prod"] == set()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_explicit_name_is_scoped_by_project_and_stack(stacks: dict[str, Graph], stack: str) -> None:
    graph = stacks[stack]
    found = explicit_names(graph)
    for typ, key, value in found:
        assert graph.project in value and stack in value, f"{typ}.{key} = {value!r} is not scoped by project/stack"
    duplicates = [item for item, n in Counter((t, v) for t, _k, v in found).items() if n > 1]
    assert duplicates == []


def _res(typ: str, inputs: dict, *, id: str, outputs: dict | None = None,
         deps: dict[str, list[str]] | None = None) -> Resource:
    return Resource(urn=f"urn:{typ}:{id}", type=typ, name="x", parent=None, custom=True, id=id, inputs=inputs,
                    outputs=outputs or {}, property_dependencies=deps or {})


def test_explicit_names_rule() -> None:
    alarm = _res("aws:cloudwatch/metricAlarm:MetricAlarm", {"metricName": "Errors", "namespace": "AWS/Lambda"},
                 id="daily-stats-errors-alarm-1a2b3c4")
    layer = _res("aws:lambda/layerVersion:LayerVersion", {"layerName": "p-dev-sci"},
                 id="arn:aws:lambda:r:1:layer:p-dev-sci:1", outputs={"arn": "arn:aws:lambda:r:1:layer:p-dev-sci:1"})
    invoke = _res("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", {"functionName": "fn-1a2b3c4"},
                  id="fn-1a2b3c4", deps={"functionName": ["urn:fn"]})
    bucket = _res("aws:s3/bucket:Bucket", {"bucket": "p-dev-data", "bucketPrefix": "p-"}, id="p-dev-data")
    component = Resource(urn="urn:c", type="sciflow:index:X", name="c", parent=None, custom=False, id=None,
                         inputs={"name": "c"}, outputs={})
    assert explicit_names([alarm, layer, invoke, bucket, component]) == [
        ("aws:lambda/layerVersion:LayerVersion", "layerName", "p-dev-sci"),
        ("aws:s3/bucket:Bucket", "bucket", "p-dev-data"),
    ]
