"""`make demo` end to end: the dev stack on the embedded AWS gives the designed outcomes and out/summary.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real-layers")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = subprocess.run([sys.executable, "-m", "sandbox", "demo", "--out", str(out), "--today", "2026-03-02",
                           "--error-paths"], cwd=REPO, capture_output=True, text=True, timeout=1800)
    return proc, out


def test_demo_exits_0_and_prints_the_summary(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "6. Summary" in proc.stdout
    assert "Policy pack: 0 mandatory" in proc.stdout


def test_summary_json_has_the_designed_outcomes(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = demo
    summary = json.loads((out / "summary.json").read_text())
    daily = [c for c in summary["computations"] if c["name"] == "daily-stats"]
    assert [(c["date"], c["status"]) for c in daily] == [("2026-03-01", "SUCCESS"), ("2026-03-02", "SUCCESS")]
    for comp in daily:
        assert sorted(Path(k).name for k in comp["artifacts"]) == ["data.csv", "plot.png", "result.json",
                                                                     "stats.json"]
    assert all(c["status"] == "SUCCESS" and isinstance(c["inputs"], list) for c in summary["computations"])
    statuses = {Path(p["input"]).name: p for p in summary["pipelines"] if p["name"] == "sensor-etl"}
    assert statuses["sensors-clean.csv"]["status"] == "COMPLETED"
    assert statuses["sensors-with-rejects.csv"]["status"] == "COMPLETED_WITH_REJECTS"
    assert statuses["sensors-with-rejects.csv"]["rows_quarantined"] > 0
    assert statuses["sensors-broken.csv"]["status"] == "FAILED"
    clean = statuses["sensors-clean.csv"]
    assert clean["rows_in"] >= clean["rows_out"] > 0
    assert summary["policy"]["mandatory"] == 0
    assert summary["cost_estimate_usd_month"] > 0


def test_artifacts_are_copied(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = demo
    day = out / "daily-stats" / "date=2026-03-01"
    assert sorted(p.name for p in day.iterdir()) == ["data.csv", "manifest.json", "plot.png", "result.json",
                                                      "stats.json"]
    assert (day / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((out / "sensor-etl" / "published").rglob("report.xlsx"))


def test_least_privilege_is_proven_on_the_dev_stack(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """What ``python -m sandbox access --stack dev`` checks (it runs the same demo with ``--error-paths``): every
    error-path scenario ends as designed, nothing is denied, and every unused grant has a reason."""
    from sandbox.authz.report import problems

    _, out = demo
    report = json.loads((out / "access.json").read_text())
    assert report["enforced"] is True and report["calls"] > 0
    assert {o["scenario"] for o in report["scenarios"]} >= {"replay", "dead-letter", "deleted-input",
                                                            "large-input", "redrive-without-staging", "target-gone",
                                                            "deleted-mid-run"}
    assert problems(report) == []


def test_summary_records_sources_and_the_scheduled_batch(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """Each pipeline run says what started it; the batch schedule ran the file whose event never arrived."""
    _, out = demo
    summary = json.loads((out / "summary.json").read_text())
    for run in summary["pipelines"]:
        kind, _, name = run["source"].partition(":")
        assert run["source"] == "upload" or (kind in ("computation", "schedule") and name), run
    samples = {Path(p["input"]).name: p["source"] for p in summary["pipelines"] if p["name"] == "sensor-etl"}
    assert samples["sensors-clean.csv"] == "upload"
    assert [(b["pipeline"], b["schedule"], b["status"]) for b in summary["batches"]] == [
        ("sensor-etl", "sensor-etl-batch", "SUCCEEDED")]
    assert summary["batches"][0]["files_started"] >= 1
    late = [p for p in summary["pipelines"] if p["source"] == "schedule:sensor-etl-batch"]
    assert [(Path(p["input"]).name, p["status"]) for p in late] == [("late-sensors-clean.csv", "COMPLETED")]
    assert summary["access_denied"] == 0


def test_the_seed_chain_and_a_computation_reading_another_component(
        demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """region-fetch (public SSM parameters) feeds region-services, which publishes its coverage reports;
    sensor-stats reads what sensor-etl published, in that pipeline's bucket."""
    from openpyxl import load_workbook

    _, out = demo
    summary = json.loads((out / "summary.json").read_text())
    chained = [p for p in summary["pipelines"] if p["source"] == "computation:region-fetch"]
    assert chained and {(p["name"], p["status"]) for p in chained} == {("region-services", "COMPLETED")}
    assert all(p["rows_out"] > 5000 for p in chained)
    assert {"coverage.xlsx", "coverage.json", "coverage.min.json", "coverage-detailed.csv", "coverage-summary.csv",
            "coverage-matrix.csv"} <= {Path(k).name for k in chained[0]["outputs"]}
    [book] = list((out / "region-services" / "published").rglob("coverage.xlsx"))[:1]
    assert load_workbook(book, read_only=True).sheetnames == ["Summary", "Regions", "Services", "Matrix"]
    stats = [c for c in summary["computations"] if c["name"] == "sensor-stats"]
    assert stats and all(c["status"] == "SUCCESS" for c in stats)
    assert all(c["inputs"] and all(u.startswith("s3://sensor-etl-processed-bucket") for u in c["inputs"])
               for c in stats)
