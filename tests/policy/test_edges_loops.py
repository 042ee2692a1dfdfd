"""Edge cases found by mutation testing (``make mutation``, runs 6 and 7): loops that must judge every item after one
they skip, invalid documents that must be reported rather than crash the policy, layer ARNs without a version, and
the guards in front of a value's type or presence. Each test pins one rule a surviving mutant (``continue`` ->
``break``, ``parse_json(None, ...)``, an off-by-one bound, ``or`` -> ``and`` in a guard) had broken unseen."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from policy.policies._core import UNKNOWN, Ctx
from policy.policies.cost import estimate_and_budget
from policy.policies.packaging import known_public_layer
from policy.policies.reliability import _redrive_target
from policy.policies.stepfunctions import tasks_missing_handlers
from tests.policy.helpers import UNKNOWN_STRING_VALUE, Res, messages, run_resource, run_stack
from tests.policy.props import function, policy_doc, tls_deny
from tests.policy.test_packaging_sfn_hygiene import FUNCTION, MIB, SMALL_LIMIT, fn, layer, layer_zip

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id: a credential by its shape alone


def _text(found: list[Any]) -> list[str]:
    return [v.message.split("\n", 1)[1] for v in found]


# --------------------------------------------------------------------------- every item after a skipped one
@pytest.mark.parametrize(("first", "second"), [("", ACCESS_KEY), (ACCESS_KEY, "")])
def test_env_secrets_are_found_after_an_empty_value(first: str, second: str) -> None:
    """Whichever order the engine's map gives the variables, an empty value does not end the scan (swapping the
    values of the same two names puts the empty one first in one of the two cases)."""
    env = {"environment": {"variables": {"FIRST": first, "SECOND": second}}}
    found = run_resource("lambda-function-env-no-secrets", FUNCTION, function(**env))
    holder = "FIRST" if first else "SECOND"
    assert _text(found) == [f"Environment variable {holder} holds what looks like a credential. Store it in Secrets "
                            "Manager or SSM SecureString and pass its ARN or name."]


def test_tls_deny_found_after_a_deny_without_condition() -> None:
    """A Deny for everyone on every S3 action without a condition (e.g. with NotResource) is not the TLS deny,
    and the statements after it are still read."""
    bucket = Res(BUCKET, "b", {"id": "b-1", "bucket": "b-1"})
    blanket = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::b-1/public/*"}

    def verdict(*statements: dict[str, Any]) -> list[Any]:
        pol = Res(BUCKET_POLICY, "p", {"bucket": "b-1", "policy": policy_doc(*statements)})
        return run_stack("s3-bucket-tls-only", [bucket, pol])

    assert verdict(blanket, tls_deny("s3")) == []
    assert [v.urn for v in verdict(blanket)] == [bucket.urn]


@pytest.mark.parametrize("before", ["unknown-log-group", "unmanaged-log-group"])
def test_function_log_retention_judges_every_function(before: str) -> None:
    """A function whose log group is unknown at preview (skipped) or already reported does not end the check."""
    first = Res(FUNCTION, "a", {"name": "a", "loggingConfig": {"logGroup": UNKNOWN_STRING_VALUE}}
                if before == "unknown-log-group" else {"name": "a"})
    forever = Res(LOG_GROUP, "forever", {"name": "/aws/lambda/c"})
    unmanaged, never = Res(FUNCTION, "b", {"name": "b"}), Res(FUNCTION, "c", {"name": "c"})
    found = run_stack("lambda-function-log-retention", [first, forever, unmanaged, never])
    reported = [v.urn for v in found if "can't run policy" not in v.message]
    expected = ([first.urn] if before == "unmanaged-log-group" else []) + [unmanaged.urn, never.urn]
    assert reported == expected, messages(found)
    assert "never expires" in found[-1].message and "is not managed by the stack" in found[-2].message


def test_unattached_layers_are_judged_after_an_attached_one() -> None:
    """A layer no function uses is still measured on its own when an attached layer comes before it."""
    used, lonely = layer("used", 2), layer("lonely", 21)
    worker = fn("worker", [used])
    found = run_stack("lambda-function-unzipped-size", [used, lonely, worker], config=SMALL_LIMIT)
    assert [v.urn for v in found] == [lonely.urn], messages(found)
    assert "on its own" in found[0].message


# --------------------------------------------------------------------------- invalid documents: reported, not crashed
@pytest.mark.parametrize("type_", ["aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topicPolicy:TopicPolicy",
                                   "aws:kms/key:Key"])
def test_all_actions_reports_an_invalid_resource_policy(type_: str) -> None:
    found = run_resource("aws-resourcepolicy-no-all-actions", type_, {"policy": '{"Statement": ['})
    assert len(found) == 1 and _text(found)[0].startswith("policy is not valid JSON: "), messages(found)


def test_tls_reports_an_invalid_bucket_policy_and_the_missing_deny() -> None:
    """The invalid document is reported on the policy resource that holds it, the missing deny on the bucket."""
    bucket = Res(BUCKET, "b", {"id": "b-1", "bucket": "b-1"})
    broken = Res(BUCKET_POLICY, "p", {"bucket": "b-1", "policy": "{not json"})
    found = run_stack("s3-bucket-tls-only", [bucket, broken])
    texts = _text(found)
    assert len(found) == 2 and texts[0].startswith("p policy is not valid JSON: "), messages(found)
    assert texts[1].startswith("The bucket policy does not deny requests without TLS.")
    assert [v.urn for v in found] == [broken.urn, bucket.urn]


def test_tls_reports_a_policy_of_the_wrong_type_on_its_resource() -> None:
    bucket = Res(BUCKET, "b", {"id": "b-1", "bucket": "b-1"})
    number = Res(BUCKET_POLICY, "p", {"bucket": "b-1", "policy": 5})
    found = run_stack("s3-bucket-tls-only", [bucket, number])
    assert [v.urn for v in found] == [number.urn, bucket.urn], messages(found)
    assert [text.split(".")[0] for text in _text(found)] == [
        "p policy is a float, not a JSON document", "The bucket policy does not deny requests without TLS"]


def test_ctx_reads_past_the_end_or_into_text_give_the_default() -> None:
    ctx = Ctx({"layers": ["a"], "name": "fn", "memory": None}, lambda *_: None, {})
    assert ctx.get("layers", 0) == "a"
    assert ctx.get("layers", 1, default="none") == "none"  # one past the end
    assert ctx.get("name", 0, default="none") == "none"  # text is not a list of characters
    assert ctx.get("memory", default=128) == 128  # an explicit null is absent


# --------------------------------------------------------------------------- layer ARNs
@pytest.mark.parametrize(("arn", "name"), [
    ("arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312", "AWS SDK for pandas (awswrangler)"),
    ("arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312:16", "AWS SDK for pandas (awswrangler)"),
    ("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPython", "Powertools for AWS Lambda (Python) v1"),
    ("arn:aws:lambda:eu-west-1:336392948345:layer", None),
    ("arn:aws:lambda:eu-west-1:336392948345:function:AWSSDKPandas-Python312", None),
    ("arn:aws:lambda:eu-west-1:111122223333:layer:AWSSDKPandas-Python312:16", None),
])
def test_known_public_layer_by_layer_arn_with_or_without_version(arn: str, name: str | None) -> None:
    """A layer ARN (``...:layer:<name>``, 7 fields) and a layer version ARN (8 fields) name the same publisher's
    layer; fewer fields, another resource type or another account are not a known layer."""
    entry = known_public_layer(arn)
    assert (entry["name"] if entry else None) == name


# --------------------------------------------------------------------------- guards
def test_env_secrets_skip_values_that_are_not_text() -> None:
    """A number (the engine sends ints as floats) is not scanned as text; the variables after it still are."""
    env = {"environment": {"variables": {"WORKERS": 4, "RETRIES": 3.0, "KEY": ACCESS_KEY}}}
    found = run_resource("lambda-function-env-no-secrets", FUNCTION, function(**env))
    assert [t.split(" holds")[0] for t in _text(found)] == ["Environment variable KEY"], messages(found)


def test_runtime_absent_is_not_judged_against_the_allowed_list() -> None:
    config = {"allowedRuntimes": ["python3.12"]}
    assert run_resource("lambda-function-runtime-supported", FUNCTION, function(runtime=None), config=config) == []
    found = run_resource("lambda-function-runtime-supported", FUNCTION, function(runtime="python3.13"), config=config)
    assert len(found) == 1 and "Runtime python3.13 is deprecated or not allowed" in found[0].message


def test_layers_linked_by_dependency_when_the_whole_list_is_unknown() -> None:
    """``layers`` computed as a whole (``arn.apply(lambda a: [a])``) is unknown at preview: the layers the function
    depends on are still counted."""
    sci = layer("sci", 12)
    sci.props["arn"] = UNKNOWN_STRING_VALUE
    over = Res(FUNCTION, "over", function(name="over", layers=UNKNOWN_STRING_VALUE,
                                          code=pulumi.FileArchive(layer_zip("over", 9))), deps={"layers": ["sci"]})
    found = run_stack("lambda-function-unzipped-size", [sci, over], config=SMALL_LIMIT)
    assert [v.urn for v in found if "can't run policy" not in v.message] == [over.urn], messages(found)
    assert f"sci {12 * MIB / MIB:.1f} MiB" in found[0].message


def test_an_unknown_layer_arn_takes_an_unnamed_dependency_only() -> None:
    """Two unknown ARNs and one known: the dependency named by its ARN does not fill an unknown place, so one
    unknown stays unresolved and is reported by lambda-function-external-layers."""
    named, unnamed = layer("named", 1), layer("unnamed", 1)
    unnamed.props["arn"] = UNKNOWN_STRING_VALUE
    refs = [UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE, str(named.props["arn"])]
    worker = Res(FUNCTION, "worker", function(name="worker", layers=refs, code=pulumi.FileArchive(layer_zip("w", 1))),
                 deps={"layers": ["named", "unnamed"]})
    found = run_stack("lambda-function-external-layers", [named, unnamed, worker])
    assert [v.urn for v in found] == [worker.urn], messages(found)
    assert "1 layer ARN(s) unknown at preview and not linked to a layer in the stack" in found[0].message


# --------------------------------------------------------------------------- malformed documents
@pytest.mark.parametrize("body", ["{}", '{"widgets": ["text"]}', '{"widgets": [{"properties": {"markdown": 7}}]}',
                                  "[]", "not JSON"])
def test_a_dashboard_body_that_states_no_cost(body: str) -> None:
    assert estimate_and_budget(body) == (None, None)


@pytest.mark.parametrize(("raw", "target"), [
    ({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}, "arn:aws:sqs:eu-west-1:1:dlq"),  # already an object
    ('{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}', "arn:aws:sqs:eu-west-1:1:dlq"),
    ('{"deadLetterTargetArn": 5}', None), ("5", None), ("{", None), (None, None), (UNKNOWN, None),
])
def test_redrive_target_of_any_redrive_policy(raw: Any, target: str | None) -> None:
    assert _redrive_target(raw) == target


@pytest.mark.parametrize(("machine", "missing"), [
    ({"States": {"a": "not a state", "b": {"Type": "Task"}}}, [("b", ["Retry", "Catch"])]),  # judged after a skip
    ({"States": 5}, []), (["not a machine"], []),
])
def test_tasks_missing_handlers_of_any_definition(machine: Any, missing: list[Any]) -> None:
    assert tasks_missing_handlers(machine) == missing
