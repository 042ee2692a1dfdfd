"""synth.synth on small programs: camelCase inputs, parents, realistic IDs, config errors, duplicate URNs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synth import DuplicateUrnError, SynthError, synth

REPO = Path(__file__).resolve().parents[2]

PROGRAM = """
import pulumi
import pulumi_aws as aws

class Box(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("sciflow:index:Box", name, None, None)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=False,
                                    opts=pulumi.ResourceOptions(parent=self))
        aws.s3.BucketPublicAccessBlock(f"{name}-pab", bucket=self.bucket.id, block_public_acls=True,
                                       opts=pulumi.ResourceOptions(parent=self))
        self.queue = aws.sqs.Queue(f"{name}-queue", message_retention_seconds=1209600,
                                   opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"bucket_name": self.bucket.bucket})

config = pulumi.Config()
box = Box(config.get("boxName") or "box")
pulumi.export("bucket", box.bucket.bucket)
pulumi.export("queue_url", box.queue.url)
"""


def write_program(tmp_path: Path, body: str = PROGRAM, config: str = "config:\n  aws:region: eu-west-1\n") -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: sample\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text(config)
    program = tmp_path / "__main__.py"
    program.write_text(textwrap.dedent(body))
    return program


def test_records_types_parents_and_camel_case_inputs(tmp_path: Path) -> None:
    graph = synth(write_program(tmp_path), stack="test")
    box = graph.find("box", "sciflow:index:Box")
    pab = graph.find("box-pab")
    assert pab.parent == box.urn
    assert pab.inputs["blockPublicAcls"] is True
    assert graph.find("box-queue").inputs["messageRetentionSeconds"] == 1209600.0
    assert box.custom is False and pab.custom is True
    assert box.component_outputs == {"bucket_name": graph.find("box-bucket").outputs["bucket"]}


def test_ids_and_arns_are_realistic_and_stable(tmp_path: Path) -> None:
    program = write_program(tmp_path)
    first, second = synth(program, stack="test"), synth(program, stack="test")
    bucket = first.find("box-bucket")
    assert bucket.id is not None and bucket.id == bucket.outputs["bucket"] and bucket.id.startswith("box-bucket-")
    assert bucket.outputs["arn"] == f"arn:aws:s3:::{bucket.id}"
    queue = first.find("box-queue")
    assert queue.outputs["url"] == f"https://sqs.eu-west-1.amazonaws.com/123456789012/{queue.outputs['name']}"
    assert queue.outputs["arn"] == f"arn:aws:sqs:eu-west-1:123456789012:{queue.outputs['name']}"
    assert sorted((r.urn, r.id) for r in first) == sorted((r.urn, r.id) for r in second)
    assert first.outputs == {"bucket": bucket.id, "queue_url": queue.outputs["url"]}


def test_dependencies_are_recorded(tmp_path: Path) -> None:
    graph = synth(write_program(tmp_path), stack="test")
    pab = graph.find("box-pab")
    bucket_urn = graph.find("box-bucket").urn
    assert bucket_urn in pab.dependencies
    assert pab.property_dependencies["bucket"] == [bucket_urn]


def test_config_from_stack_file_reaches_the_program(tmp_path: Path) -> None:
    program = write_program(tmp_path, config="config:\n  aws:region: eu-west-1\n  sample:boxName: crate\n")
    assert synth(program, stack="test").find("crate", "sciflow:index:Box")


def test_duplicate_urn_is_an_error(tmp_path: Path) -> None:
    program = write_program(tmp_path, PROGRAM + "\nBox('box')\n")
    with pytest.raises(DuplicateUrnError, match=r"Duplicate resource URN .*box"):
        synth(program, stack="test")


def test_program_errors_are_wrapped_with_the_program_name(tmp_path: Path) -> None:
    program = write_program(tmp_path, "raise ValueError('sciflow:layers[0].name: bad')\n")
    with pytest.raises(SynthError, match=r"__main__.py \(stack test\): ValueError: sciflow:layers\[0\].name: bad"):
        synth(program, stack="test")


def test_missing_stack_file(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match=r"Pulumi\.nope\.yaml: no such stack file"):
        synth(write_program(tmp_path), stack="nope")


def test_preview_json_contract(tmp_path: Path) -> None:
    program = write_program(tmp_path)
    out = subprocess.run([sys.executable, "-m", "sandbox", "preview", "--program", str(program), "--stack", "test",
                          "--json"], cwd=REPO, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    resources = {r["name"]: r for r in data["resources"]}
    assert {"urn", "type", "name", "parent", "inputs"} <= set(resources["box-pab"])
    assert resources["box-pab"]["parent"] == resources["box"]["urn"]
    assert resources["box-pab"]["inputs"]["blockPublicAcls"] is True
    assert resources["box-bucket"]["inputs"]["forceDestroy"] is False


def test_preview_tree_text(tmp_path: Path) -> None:
    program = write_program(tmp_path)
    out = subprocess.run([sys.executable, "-m", "sandbox", "preview", "--program", str(program), "--stack", "test"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "└─ sciflow:index:Box" in out
    assert "aws:s3:BucketPublicAccessBlock" in out and "box-pab" in out
    assert "+ 5 to create" in out


def test_preview_reports_program_failure_with_exit_2(tmp_path: Path) -> None:
    program = write_program(tmp_path, "raise ValueError('boom')\n")
    out = subprocess.run([sys.executable, "-m", "sandbox", "preview", "--program", str(program), "--stack", "test"],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2
    assert "ValueError: boom" in out.stderr


@pytest.mark.parametrize(("body", "hint"), [
    ("import pulumi_nonexistent_provider\n", "needs the pulumi-nonexistent-provider SDK"),
    ("import pulumi\npulumi.Config().require('bucketName')\n", "set it in Pulumi.test.yaml beside the program"),
])
def test_offline_failures_say_what_to_do(tmp_path: Path, body: str, hint: str) -> None:
    with pytest.raises(SynthError, match=hint):
        synth(write_program(tmp_path, body), stack="test")
