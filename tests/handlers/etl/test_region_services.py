"""Dataset region_services: its rules, the coverage statistics and matrix, and its report files read back through
csv, pandas, json and openpyxl, with hostile text in values and in keys (region codes become column names)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from handlers.etl import output
from handlers.etl.datasets import load_dataset
from handlers.etl.datasets.region_services import coverage, report_files
from handlers.etl.errors import FileRejected
from handlers.etl.formats import JSON_LINES, parse_partition
from handlers.etl.schema import REASON, resolve_duplicates, validate
from tests.handlers.etl.test_steps import PROCESSED, Env, do_ingest, env_fixture, run_partitions  # noqa: F401

DATASET = load_dataset("region_services")
HOSTILE = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]


def rows(*records: tuple[str, str, str, str]) -> bytes:
    return "".join(json.dumps(dict(zip(("region", "region_name", "service", "service_name"), r, strict=True))) + "\n"
                   for r in records).encode()


def checked(body: bytes) -> Any:
    return validate(parse_partition(body, fmt=JSON_LINES, header=b"", source="t", first_row=1), DATASET.schema)


def aggregates(pairs: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(pairs, columns=["region", "region_name", "service", "service_name"])
    return DATASET.aggregate(DATASET.derive(frame))


PAIRS = [("eu-west-1", "Europe (Ireland)", "s3", "Amazon S3"), ("eu-west-1", "Europe (Ireland)", "ec2", "EC2"),
         ("us-gov-east-1", "GovCloud (US-East)", "s3", "Amazon S3"), ("eusc-de-east-1", "", "s3", "Amazon S3"),
         ("eusc-de-east-1", "", "bcm-data-exports", "")]


# --------------------------------------------------------------------------- rules
def test_real_region_code_shapes_are_valid() -> None:
    result = checked(rows(*PAIRS))
    assert result.rejects.empty and len(result.valid) == len(PAIRS)


@pytest.mark.parametrize(("record", "reason"), [
    (("EU-WEST-1", "x", "s3", "S3"), "region: 'EU-WEST-1' does not match"),
    (("eu-west", "x", "s3", "S3"), "region: 'eu-west' does not match"),
    (("=cmd|'/C calc'!A0", "x", "s3", "S3"), "region: \"=cmd|'/C calc'!A0\" does not match"),
    (("eu-west-1", "x", "", "S3"), "service: is required"),
    (("eu-west-1", "x", "a/b", "S3"), "service: 'a/b' does not match"),
    (("eu-west-1", "x", "s3", "   "), "service_name: '   ' does not match"),
    (("eu-west-1", "\t", "s3", "S3"), "region_name: '\\t' does not match"),
])
def test_bad_rows_are_rejected_with_a_reason_naming_the_column(record: tuple[str, str, str, str],
                                                               reason: str) -> None:
    result = checked(rows(record))
    assert result.rejects[REASON].tolist()[0].startswith(reason)


def test_a_repeated_pair_is_dropped_and_a_conflicting_one_quarantined() -> None:
    result = checked(rows(PAIRS[0], PAIRS[0], ("eu-west-1", "Ireland", "s3", "Amazon S3")))
    kept, rejects, dropped = resolve_duplicates(result.valid, DATASET.schema)
    assert (len(kept), dropped) == (1, 1)
    assert rejects[REASON].tolist() == ["region, service: duplicate of row 1 with different values"]


# --------------------------------------------------------------------------- statistics
def test_coverage_per_region_and_service_and_the_matrix() -> None:
    cov = coverage(aggregates(PAIRS))
    assert cov.regions.to_dict("records") == [
        {"region": "eu-west-1", "region_name": "Europe (Ireland)", "services": 2, "coverage_pct": 66.67},
        {"region": "eusc-de-east-1", "region_name": "", "services": 2, "coverage_pct": 66.67},
        {"region": "us-gov-east-1", "region_name": "GovCloud (US-East)", "services": 1, "coverage_pct": 33.33}]
    assert cov.services[["service", "regions", "coverage_pct"]].values.tolist() == [
        ["bcm-data-exports", 1, 33.33], ["ec2", 1, 33.33], ["s3", 3, 100.0]]
    assert cov.matrix.columns.tolist() == ["service", "service_name", "eu-west-1", "eusc-de-east-1", "us-gov-east-1"]
    assert cov.matrix[["eu-west-1", "eusc-de-east-1", "us-gov-east-1"]].values.tolist() == [[0, 1, 0], [1, 0, 0],
                                                                                           [1, 1, 1]]
    assert cov.figures["pairs"] == 5 and cov.figures["services_in_every_region"] == 1
    assert cov.figures["matrix_density_pct"] == 55.56
    assert cov.figures["uncatalogued_services"] == ["bcm-data-exports"]


def test_aggregates_merged_across_partitions_give_the_same_report() -> None:
    agg = DATASET.aggregate
    frame = DATASET.derive(pd.DataFrame(PAIRS, columns=list(DATASET.output_columns)))
    merged = agg.finish(agg.merge([agg.partial(frame[:2]), agg.partial(frame[2:])]))
    assert report_files(merged, {}) == report_files(agg(frame), {})


# --------------------------------------------------------------------------- report files
def hostile_aggregates() -> pd.DataFrame:
    """Hostile text in every text position: names, service codes and region codes (matrix column names)."""
    records = [(f"{h}region", f"{h}name", f"{h}svc", f"{h}service") for h in HOSTILE]
    return aggregates([*records, ("eu-west-1", "Europe", "s3", "S3")])


def test_report_files_are_listed_and_deterministic() -> None:
    files = report_files(aggregates(PAIRS), {"status": "COMPLETED"})
    assert sorted(files) == ["coverage-detailed.csv", "coverage-matrix.csv", "coverage-summary.csv",
                             "coverage.json", "coverage.min.json", "coverage.xlsx"]
    assert files == report_files(aggregates(PAIRS), {"status": "COMPLETED"})


def test_workbook_sheets_and_conditional_formatting() -> None:
    book = load_workbook(io.BytesIO(report_files(aggregates(PAIRS), {"status": "COMPLETED"})["coverage.xlsx"]))
    assert book.sheetnames == ["Summary", "Regions", "Services", "Matrix"]
    summary = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    assert (summary["status"], summary["pairs"], summary["uncatalogued_services"]) == ("COMPLETED", 5,
                                                                                      "bcm-data-exports")
    regions = book["Regions"]
    rules_by_range = regions.conditional_formatting._cf_rules.items()
    scales = {str(rng.sqref): [r.type for r in rules] for rng, rules in rules_by_range}
    assert scales == {"C2:C4": ["colorScale"], "D2:D4": ["colorScale"]}
    matrix = book["Matrix"]
    assert matrix.freeze_panes == "C2"
    fills = [(str(rng.sqref), rule.operator, rule.formula, rule.dxf.fill.fgColor.rgb)
             for rng, rules in matrix.conditional_formatting._cf_rules.items() for rule in rules]
    assert fills == [("C2:E4", "equal", ["1"], "00C6EFCE"), ("C2:E4", "equal", ["0"], "00FFC7CE")]
    assert [c.value for c in matrix[4]] == ["s3", "Amazon S3", 1, 1, 1]


def test_json_outputs_agree() -> None:
    files = report_files(aggregates(PAIRS), {"status": "COMPLETED"})
    full, small = json.loads(files["coverage.json"]), json.loads(files["coverage.min.json"])
    assert b"\n" not in files["coverage.min.json"] and b": " not in files["coverage.min.json"]
    assert len(files["coverage.min.json"]) < len(files["coverage.json"])
    assert full["availability"]["s3"] == ["eu-west-1", "eusc-de-east-1", "us-gov-east-1"]
    assert {s: [small["regions"][i] for i in idx] for s, idx in zip(small["services"], small["offered"],
                                                                     strict=True)} == full["availability"]
    assert full["summary"]["services"] == small["summary"]["services"] == 3


def test_csv_outputs_read_back() -> None:
    files = report_files(aggregates(PAIRS), {})
    detailed = pd.read_csv(io.BytesIO(files["coverage-detailed.csv"]), keep_default_na=False)
    assert len(detailed) == 5 and detailed.columns.tolist() == ["region", "region_name", "service", "service_name"]
    summary = pd.read_csv(io.BytesIO(files["coverage-summary.csv"]))
    assert summary.groupby("scope").size().to_dict() == {"region": 3, "service": 3}
    matrix = pd.read_csv(io.BytesIO(files["coverage-matrix.csv"]), keep_default_na=False)
    assert matrix.set_index("service").loc["s3", "us-gov-east-1"] == 1


def _dangerous(text: Any) -> bool:
    return isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_hostile_values_and_keys_are_neutralized_in_every_csv() -> None:
    files = report_files(hostile_aggregates(), {"source": "s3://b/=evil.jsonl"})
    for name in ("coverage-detailed.csv", "coverage-summary.csv", "coverage-matrix.csv"):
        cells = [c for row in csv.reader(io.StringIO(files[name].decode(), newline="")) for c in row]
        assert not [c for c in cells if _dangerous(c)], name
        frame = pd.read_csv(io.BytesIO(files[name]), keep_default_na=False, dtype=str)
        assert not [c for c in [*frame.columns, *frame.to_numpy().ravel()] if _dangerous(c)], name
    matrix = pd.read_csv(io.BytesIO(files["coverage-matrix.csv"]), keep_default_na=False, dtype=str)
    assert "'=1+2region" in matrix.columns and len(matrix) == len(HOSTILE) + 1  # the CR stayed inside its field


def test_hostile_values_and_keys_are_text_in_the_workbook() -> None:
    book = load_workbook(io.BytesIO(report_files(hostile_aggregates(), {"source": "=evil"})["coverage.xlsx"]))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert not _dangerous(cell.value), (sheet.title, cell.coordinate, cell.value)
    header = [c.value for c in book["Matrix"][1]]
    assert "'=1+2region" in header
    assert [h for h in header if h.endswith("CRregion")] == ["'\nCRregion"]  # xlsx stores a CR as a line break


def test_json_keeps_the_original_text() -> None:
    full = json.loads(report_files(hostile_aggregates(), {})["coverage.json"])
    assert "=1+2svc" in full["availability"] and full["availability"]["=1+2svc"] == ["=1+2region"]


# --------------------------------------------------------------------------- through the output step
def test_the_output_step_publishes_the_report_files_in_the_manifest(env: Env) -> None:
    env.settings = replace(env.settings, pipeline="region-services", dataset="region_services")
    body = rows(*PAIRS, PAIRS[0])
    plan = do_ingest(env, env.put("incoming/fetch/date=2026-03-01/region-services.jsonl", body))
    run_partitions(env, plan)
    result = output.publish({"run": plan["run"]}, settings=env.settings, s3=env.s3, ledger=env.ledger)
    assert result["status"] == "COMPLETED" and result["counts"]["duplicates"] == 1
    manifest = json.loads(env.read(PROCESSED, result["manifest_key"]))
    names = sorted(a["name"] for a in manifest["artifacts"])
    assert names == ["aggregates.csv", "coverage-detailed.csv", "coverage-matrix.csv", "coverage-summary.csv",
                     "coverage.json", "coverage.min.json", "coverage.xlsx", "report.xlsx", "rows.csv",
                     "summary.json"]
    folder = result["manifest_key"].rsplit("/", 1)[0]
    published = json.loads(env.read(PROCESSED, f"{folder}/coverage.json"))
    assert published["summary"]["pairs"] == 5 and published["summary"]["duplicates"] == 1


# --------------------------------------------------------------------------- the generic hook
@pytest.mark.parametrize(("files", "message"), [
    ({"../x.csv": b""}, "use letters, digits"),
    ({"x.exe": b""}, "end with one of .xlsx, .json, .csv, .txt"),
    ({"manifest.json": b""}, "written by the output step itself"),
    ({"x.csv": "text"}, "expected bytes, got str"),
])
def test_report_file_names_and_bodies_are_checked(files: dict[str, Any], message: str) -> None:
    from handlers.etl.report import extra_outputs

    with pytest.raises(ValueError, match=message):
        extra_outputs([lambda agg, summary: files], pd.DataFrame(), {})


def test_two_hooks_may_not_write_the_same_file() -> None:
    from handlers.etl.report import extra_outputs

    with pytest.raises(ValueError, match=r"'a\.csv' is produced twice"):
        extra_outputs([lambda agg, s: {"a.csv": b""}, lambda agg, s: {"a.csv": b""}], pd.DataFrame(), {})


def test_sample_files_have_their_expected_outcomes() -> None:
    from handlers.etl.datasets.region_services import SAMPLE_OUTCOMES, sample_files

    files = sample_files()
    assert sorted(files) == sorted(SAMPLE_OUTCOMES)
    clean, dirty = checked(files["regions-sample.jsonl"]), checked(files["regions-with-rejects.jsonl"])
    assert clean.rejects.empty and resolve_duplicates(clean.valid, DATASET.schema)[1].empty
    _kept, conflicts, dropped = resolve_duplicates(dirty.valid, DATASET.schema)
    assert (len(dirty.rejects), len(conflicts), dropped) == (2, 1, 1)
    with pytest.raises(FileRejected, match=r"MISSING_COLUMNS: region_services: missing column\(s\) 'service'"):
        checked(files["regions-broken.jsonl"])
