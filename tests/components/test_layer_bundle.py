"""LayerBundle under the mocks: the LayerVersion's inputs, S3 staging over 50 MiB, outputs, preview builds."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from components.bundling import LayerBuild
from components.bundling.archive import source_code_hash, write_deterministic_zip
from components.layer_bundle import (
    describe,
    layer_name_for,
    staging_key,
)
from synth.graph import Graph
from tests.components.bundling.wheels import standard_index
from tests.support.programs import synth_program

LAYER = "aws:lambda/layerVersion:LayerVersion"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
BUCKET = "aws:s3/bucket:Bucket"
@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, str]:
    """The ``layer_bundle`` program on a one-module zip; returns the graph and the zip's sha256."""
    work = tmp_path_factory.mktemp("layer")
    (work / "mod.py").write_text("x = 1\n")
    zip_path = work / "layer.zip"
    sha = write_deterministic_zip([("python/mod.py", work / "mod.py")], zip_path)
    return synth_program("layer_bundle", config={"test:layerZip": str(zip_path)}), sha


def _children(graph: Graph, component: str) -> dict[str, tuple[str, dict]]:
    comp = graph.find(component, "sciflow:index:LayerBundle")
    return {r.name: (r.type, r.inputs) for r in graph.descendants(comp.urn)}


def test_small_zip_is_published_directly(result: tuple[Graph, str]) -> None:
    graph, sha = result
    children = _children(graph, "scientific")
    assert list(children) == ["scientific-layer"]
    kind, inputs = children["scientific-layer"]
    assert kind == LAYER
    assert inputs["layerName"] == "sciflow-test-scientific"
    assert inputs["compatibleRuntimes"] == ["python3.11"]
    assert inputs["compatibleArchitectures"] == ["x86_64"]
    assert inputs["sourceCodeHash"] == source_code_hash(sha)
    assert isinstance(inputs["code"], pulumi.FileArchive) and inputs["code"].path.endswith("layer.zip")
    assert inputs["description"] == "sciflow: numpy==2.2.6, scipy==1.16.3"
    assert "s3Bucket" not in inputs and "s3Key" not in inputs


def test_zip_over_50_mib_is_staged_in_an_encrypted_bucket(result: tuple[Graph, str]) -> None:
    graph, sha = result
    children = _children(graph, "big")
    types = sorted(kind for kind, _ in children.values())
    assert types.count(BUCKET) == 1 and types.count(OBJECT) == 1 and "aws:kms/key:Key" in types
    assert "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" in types
    assert "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" in types
    _, obj = children["big-zip"]
    assert obj["key"] == f"layers/sciflow-test-big/python3.11-x86_64-{sha}.zip"
    assert isinstance(obj["source"], pulumi.FileAsset) and obj["source"].path.endswith("layer.zip")
    assert obj["serverSideEncryption"] == "aws:kms" and obj["kmsKeyId"]
    assert obj["tags"] == {"owner": "science"}
    _, layer = children["big-layer"]
    bucket = graph.find("big-staging-bucket", BUCKET)
    assert layer["s3Bucket"] == bucket.outputs["bucket"]
    assert layer["s3Key"] == obj["key"]
    assert "code" not in layer
    assert layer["sourceCodeHash"] == source_code_hash(sha)
    # the key names the zip's hash: no version pin (a new version id of the same bytes would replace the layer)
    assert "s3ObjectVersion" not in layer


def test_staged_upload_waits_for_the_bucket_configuration(result: tuple[Graph, str]) -> None:
    graph, _sha = result
    obj = graph.find("big-zip", OBJECT)
    for name in ("big-staging-versioning", "big-staging-encryption", "big-staging-bucket-policy"):
        assert graph.find(name).urn in obj.dependencies, name


def test_given_staging_bucket_is_used_and_no_bucket_is_created(result: tuple[Graph, str]) -> None:
    graph, _sha = result
    children = _children(graph, "shared")
    assert sorted(kind for kind, _ in children.values()) == [LAYER, OBJECT]
    _, obj = children["shared-zip"]
    assert obj["bucket"] == "artifacts-bucket"
    assert obj["kmsKeyId"] == "arn:aws:kms:ap-south-1:123456789012:key/abc"
    _, layer = children["shared-layer"]
    assert layer["s3Bucket"] == "artifacts-bucket" and layer["s3Key"] == obj["key"]
    assert "s3ObjectVersion" not in layer


def test_children_are_parented_and_outputs_registered(result: tuple[Graph, str]) -> None:
    graph, sha = result
    comp = graph.find("scientific", "sciflow:index:LayerBundle")
    assert graph.find("scientific-layer", LAYER).parent == comp.urn
    assert comp.component_outputs["sha256"] == sha
    assert comp.component_outputs["packages"] == {"numpy": "2.2.6", "scipy": "1.16.3"}
    assert comp.component_outputs["unzipped_bytes"] == 123456
    small = graph.outputs["small"]
    assert small["arn"].startswith("arn:aws:lambda:") and small["sha256"] == sha
    assert set(small) == {"arn", "unzipped_bytes", "zipped_bytes", "sha256", "packages"}


def test_program_builds_the_layer_during_preview(tmp_path: Path) -> None:
    index = standard_index(tmp_path / "index")
    graph = synth_program("layer_bundle_build", config={
        "test:requirements": ["tinydep==2.0"], "test:findLinks": str(index), "test:cacheDir": str(tmp_path / "cache")})
    layer = graph.find("real-layer", LAYER)
    code = layer.inputs["code"]
    assert Path(code.path).is_file() and Path(code.path).parent.parent == tmp_path / "cache"
    comp = graph.find("real", "sciflow:index:LayerBundle")
    assert comp.component_outputs["packages"] == {"tinydep": "2.0"}


def test_build_failure_fails_the_program(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="numpy: conflicting pins 'numpy==1' and 'numpy==2'"):
        synth_program("layer_bundle_build", config={"test:requirements": ["numpy==1", "numpy==2"],
                                                    "test:cacheDir": str(tmp_path / "cache")})


def test_pure_helpers() -> None:
    assert layer_name_for("plotting", "prod.eu") == "sciflow-prod-eu-plotting"
    assert len(layer_name_for("x" * 200, "dev")) == 140
    build = LayerBuild(zip_path=Path("z"), sha256="ab" * 32, source_code_hash="", unzipped_bytes=1, zipped_bytes=1,
                       packages={f"pkg{i:02d}": "1.0.0" for i in range(30)}, glibc_max="2.17", report={},
                       site_dir=Path("s"), cache_key="k", runtime="python3.12", architecture="arm64")
    assert len(describe(build)) == 256 and describe(build).endswith("...")
    assert staging_key("sci", build, "proj", "prod") == f"layers/proj-prod-sci/python3.12-arm64-{'ab' * 32}.zip"
    assert json.dumps(build.packages)


def test_args_from_stack_config() -> None:
    from dataclasses import replace

    from components.config import parse_stack_config

    cfg = parse_stack_config({"layers": [{
        "name": "plotting", "requirements": ["matplotlib==3.11.2"], "runtime": "python3.12", "architecture": "arm64",
        "exclude": ["numpy"], "includeRuntimePackages": True, "sizeBudgetBytes": 100_000_000,
        "smokeImports": ["matplotlib.pyplot"]}]}, region="ap-south-1")
    args = replace(cfg.layer("plotting").args, provided_by=[Path("/layers/scientific/python")], tags={"a": "b"})
    spec = args.spec()
    assert (spec.requirements, spec.runtime, spec.architecture, spec.exclude) == (
        ("matplotlib==3.11.2",), "python3.12", "arm64", ("numpy",))
    assert spec.include_runtime_packages and spec.size_budget_bytes == 100_000_000
    assert spec.smoke_imports == ("matplotlib.pyplot",)
    assert spec.provided_by == (Path("/layers/scientific/python"),)
    assert args.tags == {"a": "b"} and args.staging_bucket is None
