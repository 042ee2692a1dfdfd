"""Edge cases of the package-size, Step Functions, observability and SnapStart policies that change a verdict,
found by mutation testing (``make mutation``): each test pins a rule a surviving mutant had broken unseen."""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from policy.policies._archives import PROGRAM_DIR_ENV, ArchiveError, Size, measure, resolve
from policy.policies.stepfunctions import asl_errors
from tests.policy.helpers import UNKNOWN_STRING_VALUE, Res, messages, run_resource, run_stack
from tests.policy.props import function, state_machine
from tests.policy.test_packaging_sfn_hygiene import FUNCTION, LAYER, MIB, OBJECT, SMALL_LIMIT, fn, layer, layer_zip

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SFN = "aws:sfn/stateMachine:StateMachine"


def _text(found: list[Any]) -> list[str]:
    """The reported part of each message (after the policy description)."""
    return [v.message.split("\n", 1)[1] for v in found]


# --------------------------------------------------------------------------- archives
def test_measure_every_archive_kind(tmp_path: Path) -> None:
    zipped = tmp_path / "code.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.py", b"x" * 300)
        zf.writestr("b/c.py", b"y" * 200)
    assert measure(pulumi.FileArchive(str(zipped))) == Size(zipped.stat().st_size, 500)
    assert measure(pulumi.FileAsset(str(zipped))) == Size(zipped.stat().st_size, 500)  # a zip given as an asset
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "m.py").write_bytes(b"z" * 70)
    (tree / "top.py").write_bytes(b"z" * 30)
    assert measure(pulumi.FileArchive(str(tree))) == Size(None, 100)
    tarred = tmp_path / "code.tar"
    with tarfile.open(tarred, "w") as tf:
        tf.add(tree / "top.py", arcname="top.py")
        tf.add(tree / "pkg", arcname="pkg")
    assert measure(pulumi.FileArchive(str(tarred))) == Size(None, 100)
    plain = tmp_path / "handler.py"
    plain.write_bytes(b"p" * 42)
    assert measure(pulumi.FileAsset(str(plain))) == Size(42, 42)
    assert measure(pulumi.StringAsset("héllo")) == Size(None, 6)
    bundle = pulumi.AssetArchive({"a.py": pulumi.StringAsset("abc"), "lib": pulumi.FileArchive(str(tree))})
    assert measure(bundle) == Size(None, 103)


def test_measure_errors_name_the_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 10)
    with pytest.raises(ArchiveError, match=r"junk\.bin is neither a zip, a tar nor a directory"):
        measure(pulumi.FileArchive(str(junk)))
    with pytest.raises(ArchiveError, match=r"asset .*gone\.py does not exist"):
        measure(pulumi.FileAsset(str(tmp_path / "gone.py")))
    with pytest.raises(ArchiveError, match=re.escape("remote archive https://example.com/a.zip cannot be measured")):
        measure(pulumi.RemoteArchive("https://example.com/a.zip"))
    with pytest.raises(ArchiveError, match="str is not an archive"):
        measure("code.zip")


def test_measure_sees_a_rewritten_archive(tmp_path: Path) -> None:
    """Sizes are memoized per path, modification time and size: a rebuilt zip is measured again."""
    path = tmp_path / "layer.zip"
    for size in (10, 25):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("python/m.py", b"m" * size)
        assert measure(pulumi.FileArchive(str(path))).unzipped == size


def test_relative_archive_paths_resolve_against_the_base_dirs(tmp_path: Path) -> None:
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "x.py").write_bytes(b"1" * 9)
    assert resolve("layer", (str(tmp_path),)) == tmp_path / "layer"
    assert measure(pulumi.FileArchive("layer"), (str(tmp_path),)) == Size(None, 9)
    assert measure(pulumi.FileAsset("layer/x.py"), (str(tmp_path),)) == Size(9, 9)
    assert resolve("nowhere/else", (str(tmp_path),)) == Path("nowhere/else")


def test_relative_archive_paths_then_the_working_directory_then_its_parent(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROGRAM_DIR_ENV, str(tmp_path / "elsewhere"))  # a program directory without these files
    (tmp_path / "policy").mkdir()  # the analyzer runs in the pack's directory, the program is its parent
    for rel in ("code.zip", "both.zip", "policy/both.zip"):
        (tmp_path / rel).write_bytes(b"x")
    monkeypatch.chdir(tmp_path / "policy")
    assert resolve("code.zip") == Path("..") / "code.zip"
    assert resolve("both.zip") == Path("both.zip")  # the working directory first


# --------------------------------------------------------------------------- unzipped size and layers
def test_functions_without_a_zip_package() -> None:
    image = Res(FUNCTION, "image", {"name": "image", "packageType": "Image", "imageUri": "1.dkr.ecr/x:1"})
    image_uri_only = Res(FUNCTION, "uri", {"name": "uri", "imageUri": "1.dkr.ecr/x:1"})
    package_type_only = Res(FUNCTION, "typed", {"name": "typed", "packageType": "Image"})  # the URI not known yet
    assert run_stack("lambda-function-unzipped-size", [image, image_uri_only, package_type_only]) == []
    empty = Res(FUNCTION, "empty", {"name": "empty"})
    found = run_stack("lambda-function-unzipped-size", [empty])
    assert _text(found) == ["The function package cannot be measured: it has no code, s3Key or imageUri."]
    assert found[0].urn == empty.urn


def test_function_code_staged_in_s3() -> None:
    staged = Res(OBJECT, "code-zip", {"bucket": "artifacts", "key": "code/f.zip",
                                      "source": pulumi.FileAsset(layer_zip("code-s3", 25))})
    other = Res(OBJECT, "other-zip", {"bucket": "artifacts", "key": "code/other.zip",
                                      "source": pulumi.FileAsset(layer_zip("other-s3", 1))})
    by_key = Res(FUNCTION, "f", {"name": "f", "s3Bucket": "artifacts", "s3Key": "code/f.zip"})
    found = run_stack("lambda-function-unzipped-size", [other, staged, by_key], config=SMALL_LIMIT)
    assert len(found) == 1 and "code 25.0 MiB" in found[0].message, messages(found)
    by_bucket = Res(FUNCTION, "g", {"name": "g", "s3Bucket": "artifacts", "s3Key": "code/f.zip"},
                    deps={"s3Bucket": ["code-zip"]})
    found = run_stack("lambda-function-unzipped-size", [staged, by_bucket], config=SMALL_LIMIT)
    assert len(found) == 1 and "code 25.0 MiB" in found[0].message, messages(found)
    absent = Res(FUNCTION, "h", {"name": "h", "s3Bucket": "elsewhere", "s3Key": "code/h.zip"})
    found = run_stack("lambda-function-unzipped-size", [absent])
    assert _text(found) == ["The function package cannot be measured: its S3 package s3://elsewhere/code/h.zip is "
                            "not a BucketObjectv2 with a file source in this stack."]


def test_every_function_and_layer_is_judged_after_an_unmeasurable_one() -> None:
    broken = Res(LAYER, "broken", {"arn": "arn:aws:lambda:eu-west-1:123456789012:layer:broken:1",
                                   "code": pulumi.FileArchive("/nonexistent/layer.zip")})
    sci = layer("sci", 12)
    first = fn("first", [broken, sci], mib=9)
    empty = Res(FUNCTION, "empty", {"name": "empty"})
    over = fn("over", [sci], mib=9)
    found = run_stack("lambda-function-unzipped-size", [broken, sci, empty, first, over], config=SMALL_LIMIT)
    by_urn = {v.urn: v.message for v in found}
    assert set(by_urn) == {first.urn, empty.urn, over.urn}, messages(found)
    assert len([v for v in found if v.urn == first.urn]) == 2  # the broken layer, and code + sci over the limit
    lonely_broken = Res(LAYER, "lb", {"code": pulumi.FileArchive("/nonexistent/other.zip")})
    lonely_big = layer("big", 21)
    found = run_stack("lambda-function-unzipped-size", [lonely_broken, lonely_big], config=SMALL_LIMIT)
    assert sorted(v.urn for v in found) == sorted([lonely_broken.urn, lonely_big.urn]), messages(found)
    assert "Layer cannot be measured: " in messages(found) and "on its own" in messages(found)


def test_the_limit_itself_is_allowed() -> None:
    sci = layer("sci", 12)
    exact = fn("exact", [sci], mib=8)
    assert run_stack("lambda-function-unzipped-size", [sci, exact], config={"limitBytes": 20 * MIB}) == []
    assert len(run_stack("lambda-function-unzipped-size", [sci, exact], config={"limitBytes": 20 * MIB - 1})) == 1
    assert run_stack("lambda-function-unzipped-size", [layer("alone", 20)], config={"limitBytes": 20 * MIB}) == []


def test_layers_are_listed_in_the_functions_attach_order() -> None:
    """The message lists layers in the order of the function's ``layers``, whatever the order of the
    dependencies the engine recorded; layers with unknown ARNs take the unknown places, in the stack's order."""
    a, b, c = layer("alpha", 5), layer("beta", 6), layer("gamma", 7)
    arns = [str(x.props["arn"]) for x in (c, a, b)]
    over = Res(FUNCTION, "over", function(name="over", layers=arns, code=pulumi.FileArchive(layer_zip("over", 3))),
               deps={"layers": ["beta", "alpha", "gamma"]})
    found = run_stack("lambda-function-unzipped-size", [a, b, c, over], config=SMALL_LIMIT)
    assert len(found) == 1 and "; gamma 7.0 MiB (7,340,032 bytes); alpha 5.0 MiB (5,242,880 bytes); beta 6.0 MiB" \
        in found[0].message, found[0].message
    a.props["arn"] = b.props["arn"] = UNKNOWN_STRING_VALUE
    mixed = Res(FUNCTION, "mixed", function(name="mixed", layers=[UNKNOWN_STRING_VALUE, arns[0], UNKNOWN_STRING_VALUE],
                                            code=pulumi.FileArchive(layer_zip("mixed", 3))),
                deps={"layers": ["gamma", "beta", "alpha"]})
    found = run_stack("lambda-function-unzipped-size", [a, b, c, mixed], config=SMALL_LIMIT)
    assert len(found) == 1 and "; alpha 5.0 MiB (5,242,880 bytes); gamma 7.0 MiB (7,340,032 bytes); beta 6.0 MiB" \
        in found[0].message, found[0].message


def test_external_layers_count_unknown_arns_and_configured_sizes() -> None:
    pandas = "arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312:16"  # about 154 MiB
    sci = layer("sci", 5)
    sci.props["arn"] = UNKNOWN_STRING_VALUE
    two_unknown = Res(FUNCTION, "two", function(name="two", layers=[UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE],
                                                code=pulumi.FileArchive(layer_zip("two", 1))),
                      deps={"layers": ["sci"]})
    clean = fn("clean", [])
    found = run_stack("lambda-function-external-layers", [clean, sci, two_unknown])
    assert _text(found) == ["Layers from outside the stack cannot be measured: 1 layer ARN(s) unknown at preview and "
                            "not linked to a layer in the stack (size unknown). Give their exact unzipped sizes in the "
                            "externalLayerSizes config of lambda-function-unzipped-size."]
    assert found[0].urn == two_unknown.urn
    configured = "arn:aws:lambda:eu-west-1:111122223333:layer:team:3"
    both = fn("both", [], arns=[configured, pandas])
    limit = 161_480_704 + 1 * MIB + 1000  # the pandas estimate, the function's code, the configured layer
    config = {"externalLayerSizes": {configured: 1000}, "limitBytes": limit}
    found = run_stack("lambda-function-external-layers", [both], config=config)
    assert len(found) == 1 and "over the" not in found[0].message, found[0].message  # exactly at the limit
    config["limitBytes"] = limit - 1
    found = run_stack("lambda-function-external-layers", [both], config=config)
    assert len(found) == 1 and f"about {limit / MIB:.1f} MiB ({limit:,} bytes), over the" in found[0].message, \
        found[0].message


# --------------------------------------------------------------------------- Amazon States Language
def _machine(states: dict[str, Any], start: str = "A") -> dict[str, Any]:
    return {"StartAt": start, "States": states}


TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}


@pytest.mark.parametrize(("machine", "errors"), [
    (5, ["definition is not a JSON object"]),
    ({"StartAt": "A", "States": {}}, ["States is missing or empty"]),
    ({"StartAt": "A"}, ["States is missing or empty"]),
    (_machine({"B": TASK}), ["StartAt 'A' is not a state"]),
    (_machine({"A": 5, "B": {"Type": "Bogus"}, "C": {"Type": "Task", "End": True}}),
     ["state 'A' is not an object", "state 'B' has unknown Type 'Bogus'", "state 'C' is a Task without Resource"]),
    (_machine({"A": {"Type": "Choice"}}), ["state 'A' is a Choice without Choices"]),
    (_machine({"A": {"Type": "Pass"}, "B": {"Type": "Pass", "Next": "A", "End": True}}),
     ["state 'A' needs exactly one of Next and End: true", "state 'B' needs exactly one of Next and End: true"]),
    (_machine({"A": {**TASK, "Retry": [{}], "Catch": ["x", {"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}}),
     ["state 'A' goes to 'Gone', which is not a state", "state 'A' Retry[0] has no ErrorEquals",
      "state 'A' Catch[0] has no ErrorEquals"]),
    (_machine({"A": {"Type": "Choice", "Choices": ["junk", {"Next": "X"}], "Default": "Y"}}),
     ["state 'A' goes to 'Y', which is not a state", "state 'A' goes to 'X', which is not a state"]),
    (_machine({"A": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "T", "States": {}}},
               "B": {"Type": "Parallel", "End": True, "Branches": [_machine({"A": TASK}), "junk"]},
               "C": {"Type": "Map", "End": True, "Iterator": _machine({"T": TASK})}}),
     ["state 'A' ItemProcessor: States is missing or empty",
      "state 'B' Branches[1] is not a JSON object", "state 'C' Iterator: StartAt 'A' is not a state"]),
])
def test_asl_errors(machine: Any, errors: list[str]) -> None:
    assert asl_errors(machine) == errors


def test_asl_errors_valid_machines() -> None:
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "A"}], "Default": "A"}
    assert asl_errors(_machine({"C": choice, "A": TASK}, start="C")) == []


def test_definition_validity_messages() -> None:
    many = _machine({f"S{i:02d}": {"Type": "Bogus"} for i in range(12)}, start="S00")
    found = run_resource("sfn-statemachine-definition-valid", SFN, state_machine(many))
    shown = "; ".join(f"state 'S{i:02d}' has unknown Type 'Bogus'" for i in range(10))
    assert _text(found) == [f"The definition is not valid ASL: {shown}; and 2 more. Build it with the typed ASL "
                            "builder."]
    ten = _machine({f"S{i:02d}": {"Type": "Bogus"} for i in range(10)}, start="S00")
    found = run_resource("sfn-statemachine-definition-valid", SFN, state_machine(ten))
    assert len(found) == 1 and "more" not in found[0].message
    missing = {k: v for k, v in state_machine().items() if k != "definition"}
    assert _text(run_resource("sfn-statemachine-definition-valid", SFN, missing)) == [
        "The state machine has no definition."]


# --------------------------------------------------------------------------- observability, SnapStart
def test_function_log_group_linked_by_dependency_or_by_configured_name() -> None:
    forever = Res(LOG_GROUP, "forever", {"name": UNKNOWN_STRING_VALUE})
    by_dep = Res(FUNCTION, "f", {"name": "f", "loggingConfig": {"logGroup": UNKNOWN_STRING_VALUE}},
                 deps={"loggingConfig": ["forever"]})
    found = run_stack("lambda-function-log-retention", [forever, by_dep])
    assert [v.urn for v in found] == [by_dep.urn] and "never expires" in found[0].message, messages(found)
    kept = Res(LOG_GROUP, "kept", {"name": "/sciflow/g", "retentionInDays": 30})
    by_name = Res(FUNCTION, "g", {"name": "g", "loggingConfig": {"logGroup": "/sciflow/g"}})
    assert run_stack("lambda-function-log-retention", [kept, by_name]) == []


def test_snapstart_off_is_not_judged() -> None:
    props = function(runtime="python3.11", snapStart={"applyOn": "None"}, publish=False)
    assert run_resource("lambda-function-snapstart-prerequisites", FUNCTION, props) == []
    props = function(runtime="python3.11", snapStart={"applyOn": "PublishedVersions"}, publish=False,
                     packageType="Image", fileSystemConfig={"arn": "arn:efs", "localMountPath": "/mnt/x"})
    found = run_resource("lambda-function-snapstart-prerequisites", FUNCTION, props)
    assert len(found) == 4, messages(found)

    props = function(runtime="python3.11", snapStart={"applyOn": UNKNOWN_STRING_VALUE}, publish=False)
    found = run_resource("lambda-function-snapstart-prerequisites", FUNCTION, props)  # off or on: undecided
    assert len(found) == 1 and "can't be known during preview" in found[0].message, messages(found)

# --------------------------------------------------------------------------- limits: the limit itself is allowed
def _stored_zip(path: Path, payload: int) -> str:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("blob.bin", b"\0" * payload)
    return str(path)


def test_direct_upload_limit_boundaries(tmp_path: Path) -> None:
    from policy.policies.packaging import DIRECT_UPLOAD_LIMIT

    overhead = Path(_stored_zip(tmp_path / "probe.zip", 0)).stat().st_size
    exact = _stored_zip(tmp_path / "exact.zip", DIRECT_UPLOAD_LIMIT - overhead)
    assert Path(exact).stat().st_size == DIRECT_UPLOAD_LIMIT
    over = _stored_zip(tmp_path / "over.zip", DIRECT_UPLOAD_LIMIT - overhead + 1)
    assert run_resource("lambda-function-zip-size", FUNCTION, function(code=pulumi.FileArchive(exact))) == []
    assert len(run_resource("lambda-function-zip-size", FUNCTION, function(code=pulumi.FileArchive(over)))) == 1
    tree = tmp_path / "tree"
    tree.mkdir()
    with open(tree / "blob.bin", "wb") as f:
        f.truncate(DIRECT_UPLOAD_LIMIT)
    assert run_resource("lambda-function-zip-size", FUNCTION, function(code=pulumi.FileArchive(str(tree)))) == []
    with open(tree / "one-more.bin", "wb") as f:
        f.write(b"x")
    found = run_resource("lambda-function-zip-size", FUNCTION, function(code=pulumi.FileArchive(str(tree))))
    assert len(found) == 1 and "built by Pulumi" in found[0].message


@pytest.mark.parametrize(("count", "flagged"), [(5, False), (6, True)])
def test_layer_count_boundary(count: int, flagged: bool) -> None:
    props = function(layers=[f"arn:aws:lambda:eu-west-1:123456789012:layer:l{i}:1" for i in range(count)])
    assert bool(run_resource("lambda-function-layer-count", FUNCTION, props)) is flagged


@pytest.mark.parametrize(("memory", "timeout", "flagged"), [
    (128, 1, False), (10240, 900, False), (127, 1, True), (128, 0, True), (10241, 900, True), (10240, 901, True),
])
def test_memory_and_timeout_bounds(memory: int, timeout: int, flagged: bool) -> None:
    found = run_resource("lambda-function-limits", FUNCTION, function(memorySize=memory, timeout=timeout))
    assert bool(found) is flagged, messages(found)


def test_environment_size_boundaries() -> None:
    from policy.policies.packaging import ENV_LIMIT, ENV_UNKNOWN_ESTIMATE

    def env(**variables: Any) -> dict[str, Any]:
        return function(environment={"variables": variables})

    exact = env(BIG="x" * (ENV_LIMIT - 3))
    assert run_resource("lambda-function-env-size", FUNCTION, exact) == []
    assert len(run_resource("lambda-function-env-size", FUNCTION, env(BIG="x" * (ENV_LIMIT - 2)))) == 1
    # an unknown value counts its name: with names alone over the limit it is a violation, not a note
    names = {f"V{i:04d}": UNKNOWN_STRING_VALUE for i in range(ENV_LIMIT // 5 + 1)}
    found = [v for v in run_resource("lambda-function-env-size", FUNCTION, env(**names))
             if "can't run" not in v.message]
    assert len(found) == 1 and "Environment variables take 4,100 bytes" in found[0].message, messages(found)
    fits = env(BIG="x" * (ENV_LIMIT - 3 - 1 - ENV_UNKNOWN_ESTIMATE), U=UNKNOWN_STRING_VALUE)
    assert run_resource("lambda-function-env-size", FUNCTION, fits) == []  # exactly fits with the estimate
    could_not = env(BIG="x" * (ENV_LIMIT - 3 - 1 - ENV_UNKNOWN_ESTIMATE + 1), U=UNKNOWN_STRING_VALUE)
    found = run_resource("lambda-function-env-size", FUNCTION, could_not)
    assert len(found) == 1 and "can't run policy" in found[0].message, messages(found)


def test_images_skip_the_runtime_and_signing_checks() -> None:
    image = function(packageType="Image", runtime="python3.7", codeSigningConfigArn=None)
    assert run_resource("lambda-function-runtime-supported", FUNCTION, image) == []
    assert run_resource("lambda-function-code-signing", FUNCTION, image) == []
    assert len(run_resource("lambda-function-runtime-supported", FUNCTION, function(runtime="python3.7"))) == 1


def test_definition_size_boundary() -> None:
    from policy.policies.stepfunctions import DEFINITION_LIMIT

    base = json.dumps(_machine({"A": {"Type": "Pass", "End": True, "Comment": ""}}))
    pad = DEFINITION_LIMIT - len(base)
    exact = base.replace('"Comment": ""', '"Comment": "' + "x" * pad + '"')
    assert len(exact.encode()) == DEFINITION_LIMIT
    assert run_resource("sfn-statemachine-definition-size", SFN, {**state_machine(), "definition": exact}) == []
    over = exact.replace('"Comment": "', '"Comment": "y')
    assert len(run_resource("sfn-statemachine-definition-size", SFN, {**state_machine(), "definition": over})) == 1


def test_function_staged_by_bucket_dependency_picks_its_key(tmp_path: Path) -> None:
    small = Res(OBJECT, "small", {"bucket": "artifacts", "key": "code/other.zip",
                                  "source": pulumi.FileAsset(layer_zip("small-s3", 1))})
    mine = Res(OBJECT, "mine", {"bucket": "artifacts", "key": UNKNOWN_STRING_VALUE,
                                "source": pulumi.FileAsset(layer_zip("mine-s3", 25))})
    f = Res(FUNCTION, "f", {"name": "f", "s3Bucket": UNKNOWN_STRING_VALUE, "s3Key": "code/f.zip"},
            deps={"s3Bucket": ["small", "mine"]})
    found = run_stack("lambda-function-unzipped-size", [small, mine, f], config=SMALL_LIMIT)
    assert len(found) == 1 and "code 25.0 MiB" in found[0].message, messages(found)
