"""Dataset ``region_services``: which AWS service is offered in which region (one pair a row).

Rows are what :mod:`handlers.computations.region_services` writes (JSON Lines): ``region, region_name, service,
service_name``. Rules: a region code looks like AWS's (``eu-west-1``, ``us-gov-east-1``, ``eusc-de-east-1``), a
service code is one parameter-name level, names are optional but never blank when given (a service missing from
AWS's service list has no name: it is kept and counted as *uncatalogued* in the report), and a ``(region,
service)`` pair appears once (an exact repeat is dropped, the same pair with other names is quarantined).

Derived: ``available`` (1 per row). Aggregates: per ``(region, service)`` with their names, the pair's ``count``
(bounded by regions x services, never by rows). The report files (:func:`report_files`) are built from those
aggregates: a service x region matrix, coverage per region (share of all services seen) and per service (share of
all regions seen), as an Excel workbook with color scales and matrix fills, structured and compact JSON, and
detailed / summary / matrix CSVs.

Example
-------
>>> agg = pd.DataFrame({"region": ["a-b-1", "a-b-1", "c-d-2"], "region_name": ["A", "A", "C"],
...                     "service": ["s3", "ec2", "s3"], "service_name": ["S3", "EC2", "S3"], "count": [1, 1, 1]})
>>> coverage(agg).regions[["region", "services", "coverage_pct"]].values.tolist()
[['a-b-1', 2, 100.0], ['c-d-2', 1, 50.0]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from handlers.etl.aggregates import Aggregates
from handlers.etl.datasets import Dataset
from handlers.etl.report import Sheet, json_bytes, styled_workbook
from handlers.etl.schema import Column, Schema
from handlers.runtime.cells import csv_bytes

REGION_CODE = r"[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}"
SERVICE_CODE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
NOT_BLANK = r".*\S.*"
SCHEMA = Schema(
    name="region_services",
    columns=(
        Column("region", pattern=REGION_CODE),
        Column("region_name", required=False, pattern=NOT_BLANK),
        Column("service", pattern=SERVICE_CODE),
        Column("service_name", required=False, pattern=NOT_BLANK),
    ),
    unique=("region", "service"),
)
PRESENT, ABSENT = "C6EFCE", "FFC7CE"
"""Matrix fills: Excel's green (offered) and red (not offered)."""


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``available`` (1: the row says the service is offered in the region).

    Example
    -------
    >>> derive(pd.DataFrame({"region": ["eu-west-1"]}))["available"].tolist()
    [1]
    """
    out = frame.copy()
    out["available"] = np.ones(len(frame), dtype="int64")
    return out


AGGREGATES = Aggregates(by=("region", "service", "region_name", "service_name"), value="available",
                        columns={"count": "count"})


@dataclass(frozen=True)
class Coverage:
    """The report's tables: per region, per service, the presence matrix and the headline figures."""

    regions: pd.DataFrame
    services: pd.DataFrame
    matrix: pd.DataFrame
    figures: dict[str, Any]


def _names(pairs: pd.DataFrame, code: str, name: str) -> pd.Series:
    named = pairs.loc[pairs[name].astype(str) != "", [code, name]].drop_duplicates(code)
    return named.set_index(code)[name]


def coverage(aggregates: pd.DataFrame) -> Coverage:
    """Coverage statistics and the service x region matrix of the finished aggregates.

    A region's coverage is the share of all services seen that it offers; a service's, the share of all
    regions seen that offer it (percent, 2 decimals).
    """
    pairs = aggregates.loc[aggregates["count"] > 0, ["region", "service", "region_name", "service_name"]]
    pairs = pairs.astype({c: object for c in pairs.columns}).fillna("")
    region_codes = sorted(pairs["region"].unique().tolist())
    service_codes = sorted(pairs["service"].unique().tolist())
    n_regions, n_services = len(region_codes), len(service_codes)
    region_names, service_names = _names(pairs, "region", "region_name"), _names(pairs, "service", "service_name")
    per_region = pairs.groupby("region")["service"].nunique().reindex(region_codes, fill_value=0)
    per_service = pairs.groupby("service")["region"].nunique().reindex(service_codes, fill_value=0)
    regions = pd.DataFrame({"region": region_codes,
                            "region_name": region_names.reindex(region_codes).fillna("").tolist(),
                            "services": per_region.to_numpy(dtype="int64"),
                            "coverage_pct": np.round(100.0 * per_region.to_numpy() / max(n_services, 1), 2)})
    services = pd.DataFrame({"service": service_codes,
                             "service_name": service_names.reindex(service_codes).fillna("").tolist(),
                             "regions": per_service.to_numpy(dtype="int64"),
                             "coverage_pct": np.round(100.0 * per_service.to_numpy() / max(n_regions, 1), 2)})
    present = pd.crosstab(pairs["service"], pairs["region"]).reindex(index=service_codes, columns=region_codes,
                                                                     fill_value=0)
    matrix = pd.DataFrame((present.to_numpy() > 0).astype("int64"), columns=region_codes)
    matrix.insert(0, "service_name", services["service_name"].to_numpy())
    matrix.insert(0, "service", service_codes)
    counts = per_region.to_numpy()
    figures: dict[str, Any] = {
        "regions": n_regions, "services": n_services, "pairs": len(pairs),
        "matrix_density_pct": round(100.0 * len(pairs) / max(n_regions * n_services, 1), 2),
        "services_per_region_mean": round(float(counts.mean()), 2) if n_regions else 0.0,
        "services_per_region_median": float(np.median(counts)) if n_regions else 0.0,
        "services_per_region_min": int(counts.min()) if n_regions else 0,
        "services_per_region_max": int(counts.max()) if n_regions else 0,
        "services_in_every_region": int((per_service == n_regions).sum()) if n_regions else 0,
        "services_in_one_region": int((per_service == 1).sum()),
        "uncatalogued_services": sorted(set(service_codes) - set(service_names.index)),
    }
    return Coverage(regions=regions, services=services, matrix=matrix, figures=figures)


def report_files(aggregates: pd.DataFrame, summary: Mapping[str, Any]) -> dict[str, bytes]:
    """``coverage.xlsx`` (Summary, Regions, Services, Matrix), ``coverage.json`` (structured),
    ``coverage.min.json`` (compact: the matrix as region indexes per service) and ``coverage-detailed.csv``,
    ``coverage-summary.csv``, ``coverage-matrix.csv``.

    Example
    -------
    >>> agg = pd.DataFrame({"region": ["a-b-1"], "region_name": ["A"], "service": ["s3"], "service_name": ["S3"],
    ...                     "count": [1]})
    >>> sorted(report_files(agg, {"status": "COMPLETED"}))
    ['coverage-detailed.csv', 'coverage-matrix.csv', 'coverage-summary.csv', 'coverage.json', 'coverage.min.json', \
'coverage.xlsx']
    """
    cov = coverage(aggregates)
    headline = {**{k: v for k, v in summary.items()}, **cov.figures}
    shown = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in headline.items()}
    book = styled_workbook([
        Sheet("Summary", pd.DataFrame({"field": list(shown), "value": list(shown.values())}), freeze=None,
              widths={"field": 32, "value": 40}),
        Sheet("Regions", cov.regions, color_scale=("services", "coverage_pct"), widths={"region_name": 32}),
        Sheet("Services", cov.services, color_scale=("regions", "coverage_pct"), widths={"service_name": 48}),
        Sheet("Matrix", cov.matrix, fill_from=2, value_fills=((1, PRESENT), (0, ABSENT)), freeze="C2",
              widths={"service_name": 40}),
    ])
    region_list = cov.regions["region"].tolist()
    position = {code: i for i, code in enumerate(region_list)}
    pairs = aggregates.loc[aggregates["count"] > 0, ["service", "region"]].astype(object)
    offered = pairs.groupby("service")["region"].agg(lambda s: sorted(position[r] for r in s))
    structured = {"summary": headline, "regions": cov.regions.to_dict("records"),
                  "services": cov.services.to_dict("records"),
                  "availability": {s: [region_list[i] for i in offered[s]] for s in cov.services["service"]}}
    compact = {"summary": headline, "regions": region_list, "services": cov.services["service"].tolist(),
               "offered": [offered[s] for s in cov.services["service"]]}
    summary_rows = pd.concat([
        pd.DataFrame({"scope": "region", "code": cov.regions["region"], "name": cov.regions["region_name"],
                      "count": cov.regions["services"], "coverage_pct": cov.regions["coverage_pct"]}),
        pd.DataFrame({"scope": "service", "code": cov.services["service"], "name": cov.services["service_name"],
                      "count": cov.services["regions"], "coverage_pct": cov.services["coverage_pct"]}),
    ], ignore_index=True)
    detailed = aggregates.loc[aggregates["count"] > 0, ["region", "region_name", "service", "service_name"]]
    return {
        "coverage.xlsx": book,
        "coverage.json": json_bytes(structured),
        "coverage.min.json": json_bytes(compact, compact=True),
        "coverage-detailed.csv": csv_bytes(detailed.sort_values(["region", "service"], ignore_index=True)),
        "coverage-summary.csv": csv_bytes(summary_rows),
        "coverage-matrix.csv": csv_bytes(cov.matrix),
    }


DATASET = Dataset(
    name="region_services",
    schema=SCHEMA,
    derive=derive,
    aggregate=AGGREGATES,
    group_column="region",
    output_columns=("region", "region_name", "service", "service_name"),
    reports=(report_files,),
)


SAMPLE_OUTCOMES = {
    "regions-sample.jsonl": "COMPLETED",
    "regions-with-rejects.jsonl": "COMPLETED_WITH_REJECTS",
    "regions-broken.jsonl": "FAILED",
}
"""Expected ledger status per sample file (what ``make demo`` drops into the inbox besides the fetcher's file)."""


def sample_files(seed: int = 0) -> dict[str, bytes]:
    """Three small inventories in the fetcher's format: a clean one; one with a bad region code, a blank service
    name and a pair repeated with another name (quarantined) besides an exact repeat (dropped); and a broken one
    (no ``service`` field: the run fails and goes to the DLQ).

    Example
    -------
    >>> json.loads(sample_files()["regions-sample.jsonl"].splitlines()[0])["region"]
    'ap-south-1'
    """
    rng = np.random.default_rng(seed)
    regions = {"ap-south-1": "Asia Pacific (Mumbai)", "eu-west-1": "Europe (Ireland)", "us-east-1": "US East "
               "(N. Virginia)", "us-gov-west-1": "AWS GovCloud (US-West)"}
    services = {"ec2": "Amazon EC2", "lambda": "AWS Lambda", "s3": "Amazon S3", "sagemaker": "Amazon SageMaker",
                "states": "AWS Step Functions"}
    records = [{"region": r, "region_name": rn, "service": s, "service_name": sn}
               for r, rn in regions.items() for s, sn in services.items() if s in ("ec2", "s3") or rng.random() < 0.7]

    def lines(items: list[dict[str, str]]) -> bytes:
        return "".join(json.dumps(item) + "\n" for item in items).encode()

    bad = [{**records[0], "region": "Mumbai"}, {**records[1], "service_name": " "}, records[2],
           {**records[3], "region_name": "elsewhere"}]
    broken = [{k: v for k, v in record.items() if k != "service"} for record in records]
    return {"regions-sample.jsonl": lines(records), "regions-with-rejects.jsonl": lines([*records, *bad]),
            "regions-broken.jsonl": lines(broken)}
