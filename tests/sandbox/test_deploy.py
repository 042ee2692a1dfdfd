"""sandbox.deploy on hand-made graphs: unsupported types, ordering, archives, errors."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest

from sandbox.archives import ArchiveError, archive_bytes
from sandbox.aws import EmbeddedAws, embedded_aws
from sandbox.deploy import DeployError, creation_order, deploy
from tests.support.graphs import REGION, graph, res


@pytest.fixture
def aws() -> Iterator[EmbeddedAws]:
    with embedded_aws(REGION) as embedded:
        yield embedded


def test_unsupported_types_are_listed_and_components_and_providers_passed_over(aws: EmbeddedAws) -> None:
    vpc = res("aws:ec2/vpc:Vpc", "net", {"cidrBlock": "10.0.0.0/16"})
    component = res("sciflow:index:Thing", "thing", custom=False)
    provider = res("pulumi:providers:aws", "default")
    bucket = res("aws:s3/bucket:Bucket", "data", outputs={"bucket": "data-bucket-1234567"}, id_="data-bucket-1234567")
    deployment = deploy(graph(vpc, component, provider, bucket), aws)
    assert deployment.skipped == [vpc]
    assert "aws:ec2/vpc:Vpc  net" in deployment.summary()
    assert [d.name for d in deployment.resources.values()] == ["data"]
    assert deployment.bucket("data").physical_name == "data-bucket-1234567"
    assert deployment.bucket("data-bucket-1234567").name == "data"  # physical names work too
    aws.client("s3").head_bucket(Bucket="data-bucket-1234567")


def test_v2_side_resource_tokens_are_deployed_like_the_current_ones(aws: EmbeddedAws) -> None:
    bucket = res("aws:s3/bucket:Bucket", "data", outputs={"bucket": "data-bucket-1234567"})
    versioning = res("aws:s3/bucketVersioningV2:BucketVersioningV2", "data-versioning", {
        "bucket": "data-bucket-1234567", "versioningConfiguration": {"status": "Enabled"}})
    deployment = deploy(graph(bucket, versioning), aws)
    assert deployment.skipped == []
    assert aws.client("s3").get_bucket_versioning(Bucket="data-bucket-1234567")["Status"] == "Enabled"


def test_creation_order_puts_dependencies_first_and_rejects_cycles() -> None:
    a = res("aws:s3/bucket:Bucket", "a")
    b = res("aws:s3/bucketPolicy:BucketPolicy", "b", deps=[a.urn])
    assert [r.name for r in creation_order([b, a])] == ["a", "b"]
    a.dependencies.append(b.urn)
    with pytest.raises(DeployError, match="dependency cycle"):
        creation_order([a, b])


def test_aws_errors_name_the_resource(aws: EmbeddedAws) -> None:
    policy = res("aws:iam/rolePolicy:RolePolicy", "orphan-policy", {
        "role": "no-such-role", "policy": '{"Version": "2012-10-17", "Statement": []}'},
        outputs={"name": "orphan-policy"})
    with pytest.raises(DeployError, match=r"RolePolicy::orphan-policy.*NoSuchEntity"):
        deploy(graph(policy), aws)


def test_directory_archives_are_zipped_deterministically(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    first = archive_bytes(pulumi.FileArchive(str(tmp_path)), what="t")
    assert first == archive_bytes(pulumi.FileArchive(str(tmp_path)), what="t")
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == ["pkg/__init__.py"]


def test_asset_archives_and_missing_paths() -> None:
    data = archive_bytes(pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(e, c):\n    return 1\n")}),
                         what="t")
    assert zipfile.ZipFile(io.BytesIO(data)).read("app.py").startswith(b"def handler")
    with pytest.raises(ArchiveError, match="does not exist"):
        archive_bytes(pulumi.FileArchive("/nonexistent/code.zip"), what="t")


def test_source_code_hash_mismatch_is_a_warning(aws: EmbeddedAws, tmp_path: Path) -> None:
    code = tmp_path / "code.zip"
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    good = base64.b64encode(hashlib.sha256(code.read_bytes()).digest()).decode()
    role = res("aws:iam/role:Role", "fn-role", {"assumeRolePolicy": "{}"},
               outputs={"name": "fn-role-1", "arn": "arn:aws:iam::123456789012:role/fn-role-1"})
    functions = [res("aws:lambda/function:Function", name, {
        "role": "arn:aws:iam::123456789012:role/fn-role-1", "runtime": "python3.11", "handler": "app.handler",
        "code": pulumi.FileArchive(str(code)), "sourceCodeHash": digest, "timeout": 3.0, "memorySize": 128.0},
        outputs={"name": name, "arn": f"arn:aws:lambda:{REGION}:123456789012:function:{name}"})
        for name, digest in (("good-fn", good), ("stale-fn", "c3RhbGU="))]
    deployment = deploy(graph(role, *functions), aws)
    assert len(deployment.warnings) == 1
    assert "stale-fn" in deployment.warnings[0] and good in deployment.warnings[0]
    response = aws.client("lambda").invoke(FunctionName="good-fn", Payload=b'{"x": 1}')
    assert response["Payload"].read() == b'{"x": 1}'
