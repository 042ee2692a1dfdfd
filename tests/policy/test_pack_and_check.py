"""The pack as a whole: registry, launch by the Pulumi CLI's command, docs, and ``python -m policy.check``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policy import docs
from policy.policies import ALL_POLICIES, BY_NAME, SciflowResourcePolicy
from tests.policy.helpers import _struct, urn
from tests.support import programs

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "insecure_program.py"
MANDATORY_AREAS = {"least-privilege", "encryption", "public-access", "package-size", "stepfunctions"}
ADVISORY_AREAS = {"reliability", "observability", "hygiene", "cost"}
#: Advisory policies in a mandatory area, and why.
ADVISORY_EXCEPTIONS = {
    "sfn-statemachine-task-retry-catch": "a reliability check, filed with the other definition checks",
    "s3-bucket-ownership-enforced": "AWS disables ACLs on new buckets by default; public ACLs are mandatory-checked",
    "lambda-function-external-layers": "sizes of layers outside the stack are estimates: advice, never mandatory",
}


def run_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policy.check", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})


# --------------------------------------------------------------------------- registry
@pytest.mark.parametrize("policy", ALL_POLICIES, ids=[p.name for p in ALL_POLICIES])
def test_policy_metadata(policy: SciflowResourcePolicy) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+){2,}", policy.name)
    assert policy.description.endswith(".") and policy.severity is not None and policy.remediation_steps
    assert policy.doc.why and policy.doc.fix and policy.doc.unknown and policy.doc.references
    level = policy.enforcement_level.value if policy.enforcement_level else "advisory"
    assert policy.area in MANDATORY_AREAS | ADVISORY_AREAS
    if policy.area in ADVISORY_AREAS:
        assert level == "advisory"
    else:
        assert level == ("advisory" if policy.name in ADVISORY_EXCEPTIONS else "mandatory")
    if policy.config_schema is not None:
        for key, spec in policy.config_schema.properties.items():
            assert "default" in spec and "description" in spec, key


def test_analyzer_info_lists_every_policy_with_config_schema() -> None:
    info = _PolicyAnalyzerServicer("sciflow", "0.1.0", list(ALL_POLICIES), _level()).GetAnalyzerInfo(None, None)
    assert [p.name for p in info.policies] == [p.name for p in ALL_POLICIES]
    tags = next(p for p in info.policies if p.name == "aws-resource-required-tags")
    assert "requiredTags" in tags.configSchema.properties


def _level():
    from pulumi_policy import EnforcementLevel

    return EnforcementLevel.ADVISORY


def test_cli_launch_serves_the_pack() -> None:
    """The CLI runs ``python -u -m pulumi.policy <engine> <pack dir>`` in the pack directory."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=ROOT / "policy",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "sciflow" and len(info.policies) == len(ALL_POLICIES)
            typ = "aws:lambda/permission:Permission"
            response = stub.Analyze(proto.AnalyzeRequest(
                type=typ, urn=urn(typ, "p"), name="p",
                properties=_struct({"function": "f", "principal": "*", "action": "lambda:InvokeFunction"})), timeout=30)
            names = {d.policyName for d in response.diagnostics if d.enforcementLevel == proto.MANDATORY}
            assert names == {"lambda-permission-no-public"}
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_docs_are_generated_from_the_pack() -> None:
    text = (ROOT / "docs" / "policies.md").read_text()
    assert text == docs.render(), "docs/policies.md is stale: run python -m policy.docs"
    for policy in ALL_POLICIES:
        assert f"### {policy.name}\n" in text


def test_workflow_runs_the_pack_on_pull_requests() -> None:
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for needed in ("pull_request", "make test", "python -m policy.check __main__.py --stack dev",
                   "pulumi/actions", "policyPacks: policy", "command: preview", "command: up"):
        assert needed in workflow, needed


# --------------------------------------------------------------------------- python -m policy.check
@pytest.fixture(scope="module")
def insecure() -> tuple[int, dict[str, object], str]:
    result = run_check(str(FIXTURE), "--json")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout[-2000:] + result.stderr[-2000:]
    return result.returncode, json.loads(lines[0]), result.stderr


def test_insecure_program_is_flagged_by_every_policy(insecure: tuple[int, dict[str, object], str]) -> None:
    code, report, _ = insecure
    assert code == 1
    violations = report["violations"]
    assert isinstance(violations, list) and isinstance(report["resources"], int) and report["resources"] > 20
    flagged = {v["policy"] for v in violations}
    assert flagged == set(BY_NAME), f"not flagged: {sorted(set(BY_NAME) - flagged)}"
    for v in violations:
        assert set(v) == {"policy", "enforcement", "urn", "message"}
        assert v["enforcement"] in ("mandatory", "advisory")
        assert v["urn"].startswith("urn:pulumi:")
        assert "can't run policy" not in v["message"]  # nothing unknown in a synthesized program


@pytest.mark.parametrize(("policy", "resource"), [
    ("lambda-function-unzipped-size", "oversized-fn"),
    ("lambda-function-layer-count", "oversized-fn"),
    ("lambda-function-zip-size", "oversized-fn"),
    ("lambda-function-snapstart-prerequisites", "oversized-fn"),
    ("lambda-layerversion-zip-size", "fat-layer"),
    ("s3-bucket-no-public-acl", "public-bucket"),
    ("sqs-queue-encryption", "plain-queue"),
    ("iam-policy-no-wildcard-actions", "wide-policy"),
    ("lambda-function-dlq", "oversized-fn"),
    ("sfn-statemachine-definition-valid", "broken-sm"),
    ("stack-cost-budget", "pricey-dashboard"),
])
def test_insecure_program_flags_the_resource(insecure: tuple[int, dict[str, object], str], policy: str,
                                             resource: str) -> None:
    violations = insecure[1]["violations"]
    assert isinstance(violations, list)
    urns = {v["urn"].rsplit("::", 1)[-1] for v in violations if v["policy"] == policy}
    assert resource in urns


def test_unzipped_size_is_computed_from_the_archives(insecure: tuple[int, dict[str, object], str]) -> None:
    violations = insecure[1]["violations"]
    assert isinstance(violations, list)
    (message,) = [v["message"] for v in violations if v["policy"] == "lambda-function-unzipped-size"]
    assert "huge-layer 220.0 MiB" in message and "code 51.0 MiB" in message


def test_table_output_and_exit_code(tmp_path: Path) -> None:
    program = tmp_path / "clean.py"
    program.write_text(textwrap.dedent("""\
        import pulumi_aws as aws
        aws.kms.Key("key", enable_key_rotation=True, tags={"project": "sciflow", "stack": "dev"})
    """))
    result = run_check(str(program))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 resources checked by" in result.stdout and "0 mandatory" in result.stdout
    program.write_text(textwrap.dedent("""\
        import pulumi_aws as aws
        aws.kms.Key("key", tags={"project": "sciflow", "stack": "dev"})
    """))
    result = run_check(str(program))
    assert result.returncode == 1
    assert "MANDATORY  kms-key-rotation" in result.stdout


def test_failing_program_exits_2_with_the_error_on_stderr(tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("raise ValueError('sciflow:layers[0].name: bad')\n")
    result = run_check(str(program), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "sciflow:layers[0].name: bad" in result.stderr


def test_missing_program_exits_2(tmp_path: Path) -> None:
    result = run_check(str(tmp_path / "nope.py"), "--json")
    assert result.returncode == 2 and "no such program" in result.stderr


def test_policy_config_file_changes_levels(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("import pulumi_aws as aws\naws.kms.Key('key', tags={'project': 'x', 'stack': 'y'})\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"kms-key-rotation": "advisory"}))
    result = run_check(str(program), "--json", "--policy-config", str(config))
    assert result.returncode == 0, result.stderr
    (violation,) = json.loads(result.stdout)["violations"]
    assert violation["policy"] == "kms-key-rotation" and violation["enforcement"] == "advisory"


def test_dev_stack_has_no_mandatory_violations() -> None:
    """The integration check CI runs: ``python -m policy.check __main__.py --stack dev`` exits 0."""
    result = run_check("__main__.py", "--stack", "dev", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    mandatory = [v for v in report["violations"] if v["enforcement"] == "mandatory"]
    assert mandatory == []
    assert report["resources"] > 0


def test_stack_policies_see_every_type_they_read() -> None:
    """``Analyzer`` gives each stack policy only the types it declares: same result as the whole stack."""
    from pulumi_policy import EnforcementLevel

    from policy.check import Analyzer, Violation, _violation, analyze_requests, synthesize

    _, stack_request = analyze_requests(synthesize(FIXTURE, None))
    filtered = Analyzer().analyze_stack(stack_request)
    full: list[Violation] = []
    for policy in Analyzer().stack_policies:
        servicer = _PolicyAnalyzerServicer("sciflow", "0.1.0", [policy], EnforcementLevel.ADVISORY)
        full.extend(_violation(d, "") for d in servicer.AnalyzeStack(stack_request, None).diagnostics)
    assert sorted(map(repr, filtered)) == sorted(map(repr, full))
    assert len(full) > 10


def test_components_have_no_mandatory_violations() -> None:
    """LayerBundle (zip staged in S3), EtlPipeline and ScheduledComputation as the dev stack wires them."""
    result = run_check(str(programs.program("all_components")), "--stack", "test", "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert [v for v in report["violations"] if v["enforcement"] == "mandatory"] == []
    assert report["resources"] > 50


def test_bench_prints_one_json_line() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.policy", "--units", "2", "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["resources"] == 2 * 17 + 3
    assert {"synth_seconds", "seconds", "cpu_seconds"} <= set(figures) and figures["mandatory"] == 0


def test_main_builds_the_pack_from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """``policy/__main__.py`` run from the repo root (not the CLI's pack dir) builds the same pack."""
    import runpy

    import pulumi_policy

    built: dict[str, object] = {}

    def fake_pack(**kwargs: object) -> None:  # PolicyPack itself would serve gRPC forever
        built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", fake_pack)
    monkeypatch.syspath_prepend(str(ROOT))
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert built["name"] == "sciflow"
    assert [p.name for p in built["policies"]] == [p.name for p in ALL_POLICIES]  # type: ignore[attr-defined]


def test_readme_states_the_number_of_policies() -> None:
    counts = set(re.findall(r"CrossGuard pack \((\d+) policies\)", (ROOT / "README.md").read_text()))
    assert counts == {str(len(ALL_POLICIES))}, counts
