"""synth's generic answers, directly: naming property, IDs, ARNs by rule, data sources, get_policy_document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi_aws  # noqa: F401  (the SDK classes the rules read)
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from synth.arns import EXTRA_OUTPUTS, ID_OUTPUT, arn_for
from synth.mocks import AwsMocks, MockContext, generic_answer, name_key
from synth.policy_document import policy_document
from synth.schema import canonical, sdk_aliases

M = MockContext(stack="dev", region="eu-west-1")


def answer(token: str, logical: str = "thing", **inputs: Any) -> tuple[str, dict[str, Any]]:
    out = dict(inputs)
    return generic_answer(M, MockResourceArgs(typ=token, name=logical, inputs=inputs, provider=None,
                                              resource_id=None), out), out


@pytest.mark.parametrize(("token", "key"), [
    ("aws:s3/bucket:Bucket", "bucket"), ("aws:sqs/queue:Queue", "name"),
    ("aws:lambda/layerVersion:LayerVersion", "layerName"),
    ("aws:cloudwatch/dashboard:Dashboard", "dashboardName"), ("aws:s3/bucketPolicy:BucketPolicy", None),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", None),
])
def test_naming_property_comes_from_the_sdk_class(token: str, key: str | None) -> None:
    assert name_key(token, {}) == key


def test_bucket_id_is_its_name_and_the_arn_is_s3s() -> None:
    ident, out = answer("aws:s3/bucket:Bucket", "Data")
    assert ident == out["bucket"] and ident.startswith("data-") and len(ident) == len("data-") + 7
    assert out["arn"] == f"arn:aws:s3:::{ident}"
    assert answer("aws:s3/bucket:Bucket", "Data") == (ident, out)  # deterministic


def test_given_names_prefixes_and_provider_ids() -> None:
    ident, out = answer("aws:sqs/queue:Queue", "q", name="jobs")
    assert out["url"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs" == ident
    assert out["arn"] == "arn:aws:sqs:eu-west-1:123456789012:jobs"
    _, prefixed = answer("aws:sqs/queue:Queue", "q", namePrefix="jobs-")
    assert prefixed["name"].startswith("jobs-") and len(prefixed["name"]) == len("jobs-") + 26
    ident, out = answer("aws:sfn/stateMachine:StateMachine", "m", name="flow")
    assert ident == out["arn"] == "arn:aws:states:eu-west-1:123456789012:stateMachine:flow"


def test_unlisted_types_get_a_scoped_arn_in_the_common_format() -> None:
    ident, out = answer("aws:appconfig/application:Application", "cfg", name="cfg")
    assert out["arn"] == "arn:aws:appconfig:eu-west-1:123456789012:application/cfg" and ident == "cfg"
    assert "*" not in arn_for("aws:iam/instanceProfile:InstanceProfile", "p", region="r", account="1")


@pytest.mark.parametrize("alias", sorted(sdk_aliases("aws")))
def test_an_alias_type_gets_its_current_types_arn(alias: str) -> None:
    """Every deprecated/older alias the SDK declares (BucketV2, BucketAclV2 ...) is answered by its current type's
    rule: its ARN has the current type's format, its ID and identifiers follow the current type (no per-alias
    table)."""
    current = canonical(alias)
    assert current != alias
    assert arn_for(alias, "x", region="r", account="1") == arn_for(current, "x", region="r", account="1")
    ident, out = answer(alias, "thing", name="data", bucket="data")
    if "arn" in out:
        assert out["arn"] == arn_for(current, ident if not ID_OUTPUT.get(current) else out.get("name", ident),
                                     region=M.region, account=M.account)
    for key in EXTRA_OUTPUTS.get(current, {}):
        assert key in out


def test_the_alias_table_is_the_packs() -> None:
    """The engine reads the SDK's aliases itself; the pack's generated table (aws_types.json) agrees."""
    assert sdk_aliases("aws") == json.loads((Path(__file__).resolve().parents[2] / "policy" / "policies" /
                                             "aws_types.json").read_text())["aliases"]
    assert canonical("aws:s3/bucketV2:BucketV2") == "aws:s3/bucket:Bucket" == canonical("aws:s3/bucket:Bucket")


def test_bucketv2_arn_is_s3s() -> None:
    ident, out = answer("aws:s3/bucketV2:BucketV2", "Data")
    assert out["arn"] == f"arn:aws:s3:::{ident}" and ident == out["bucket"]


def test_other_data_sources_echo_their_arguments_and_are_noted_once() -> None:
    mocks = AwsMocks(stack="dev", region="eu-west-1")
    args = MockCallArgs(token="aws:s3/getBucket:getBucket", args={"bucket": "landing"}, provider="")
    result, _ = mocks.call(args)
    mocks.call(args)
    assert result["bucket"] == result["id"] == "landing" and result["arn"] == "arn:aws:s3:::landing"
    assert len(mocks.notes) == 1 and "aws:s3/getBucket:getBucket" in mocks.notes[0]
    assert "websiteEndpoint" in mocks.notes[0]


def test_policy_document_merges_sources_statements_and_overrides_by_sid() -> None:
    source = json.dumps({"Statement": [{"Sid": "Keep", "Effect": "Allow", "Action": "s3:ListBucket",
                                        "Resource": "*"}, {"Sid": "Mine", "Effect": "Deny", "Action": "*",
                                                           "Resource": "*"}]})
    override = json.dumps({"Statement": [{"Sid": "Mine", "Effect": "Allow", "Action": "sqs:SendMessage",
                                          "Resource": "arn:aws:sqs:r:1:q"}]})
    doc = policy_document({"sourcePolicyDocuments": [source], "overridePolicyDocuments": [override], "statements": [
        {"sid": "Mine", "actions": ["s3:GetObject", "s3:PutObject"], "resources": ["arn:aws:s3:::b/&{aws:userid}"],
         "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::1:root"]}],
         "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}]}]})
    statements = json.loads(doc["json"])["Statement"]
    assert [s.get("Sid") for s in statements] == ["Keep", "Mine"]
    assert statements[1] == {"Sid": "Mine", "Effect": "Allow", "Action": "sqs:SendMessage",
                             "Resource": "arn:aws:sqs:r:1:q"}
    inner = policy_document({"statements": [{"actions": ["s3:GetObject", "s3:PutObject"],
                                             "resources": ["arn:aws:s3:::b/&{aws:userid}"],
                                             "principals": [{"type": "*", "identifiers": ["*"]}]}]})
    rendered = json.loads(inner["minifiedJson"])["Statement"][0]
    assert rendered == {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                        "Resource": "arn:aws:s3:::b/${aws:userid}", "Principal": "*"}
    assert json.loads(inner["json"]) == json.loads(inner["minifiedJson"]) and inner["id"].isdigit()
