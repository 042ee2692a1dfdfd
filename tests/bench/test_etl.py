"""bench.etl: the peers' pins match the project's, and a small whole-pipeline run accounts for every row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import etl

REPO = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    found = (re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line) for line in path.read_text().splitlines())
    return {m.group(1).lower(): m.group(2) for m in found if m}


def test_bench_peers_use_the_project_pins_of_shared_packages() -> None:
    project, bench = pins(REPO / "requirements.txt"), pins(REPO / "requirements-bench.txt")
    shared = set(project) & set(bench)
    assert {"numpy", "pandas"} <= shared
    assert {name: bench[name] for name in shared} == {name: project[name] for name in shared}


@pytest.mark.xdist_group("bench-etl")
def test_small_run_goes_through_every_step_and_accounts_for_every_row() -> None:
    result = etl.benchmark(3000, partition_rows=1000, sweep=(3000,), peers=())
    assert result["partitions"] == 3 and result["status"] == "COMPLETED_WITH_REJECTS"
    assert result["published"] + result["rejected"] + result["duplicates"] == 3000
    assert result["rejected"] == 15 and result["duplicates"] > 0
    assert set(result["steps"]) == {"ingest", "validate", "transform", "output"}
    assert result["steps"]["validate"]["calls"] == 3
    assert result["peak_rss_bytes"] == max(s["peak_rss_bytes"] for s in result["steps"].values()) > 0
    assert [row["rows"] for row in result["sweep"]] == [3000]


def test_unknown_peer_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        etl.main(["--peers", "spark"])
    assert "unknown peer 'spark'" in capsys.readouterr().err
