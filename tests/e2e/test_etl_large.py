"""A large file through the dev-sized pipeline (1,024 MB, 250,000-row partitions, Distributed Map above 40
partitions) in the embedded AWS: every row is accounted for and nothing is lost between partitions.

In ``make test`` the file has 300,000 rows (two partitions, about a minute on a busy 2-core machine);
``make test-etl-large`` runs the same test on 2,000,000 rows (``SCIFLOW_ETL_LARGE_ROWS``). The deployment is
isolated (worker processes on the dev stack's layers), so each step runs within the function's 1,024 MB or is
killed as ``Runtime.OutOfMemory``; memory per step is measured by ``python -m bench.etl``."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bench.etl import write_input
from sandbox.deploy import Deployment
from sandbox.events import put_object, wait_execution
from synth.graph import Graph
from tests.support.programs import deployed, synth_program

pytestmark = pytest.mark.xdist_group("etl-large")

ROWS = int(os.environ.get("SCIFLOW_ETL_LARGE_ROWS", "300000"))
@pytest.fixture(scope="module")
def stack() -> Iterator[Deployment]:
    graph: Graph = synth_program("etl_large", stack=None, sandbox=True)
    with deployed(graph, isolated=True) as deployment:
        yield deployment


def test_large_file_every_row_is_published_quarantined_or_a_duplicate(stack: Deployment,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    write_input(path, ROWS, seed=5)
    deliveries = put_object(stack, "big-etl-raw-bucket", "incoming/large.csv", path.read_bytes())
    [arn] = [d.execution_arn for d in deliveries if d.execution_arn]
    assert wait_execution(arn, 1800, aws=stack.aws)["status"] == "SUCCEEDED"
    s3 = stack.client("s3")
    processed = str(stack.get("big-etl-processed-bucket").physical_name)
    manifests = [o["Key"] for o in s3.list_objects_v2(Bucket=processed, Prefix="big-etl/published/")["Contents"]
                 if o["Key"].endswith("manifest.json")]
    assert len(manifests) == 1
    manifest = json.loads(s3.get_object(Bucket=processed, Key=manifests[0])["Body"].read())
    counts = manifest["counts"]
    assert counts["rows"] == ROWS
    assert counts["published"] + counts["rejected"] + counts["duplicates"] == ROWS
    assert counts["rejected"] == ROWS // 200 and counts["duplicates"] > 0
    rows_key = manifests[0].rsplit("/", 1)[0] + "/rows.csv"
    body = s3.get_object(Bucket=processed, Key=rows_key)["Body"]
    lines = sum(chunk.count(b"\n") for chunk in body.iter_chunks(8 << 20))
    assert lines == counts["published"] + 1  # the header
    sizes = {a["name"]: a["size"] for a in manifest["artifacts"]}
    assert sizes["rows.csv"] == s3.head_object(Bucket=processed, Key=rows_key)["ContentLength"]
    head = pd.read_csv(io.BytesIO(s3.get_object(Bucket=processed, Key=rows_key, Range="bytes=0-4095")["Body"]
                                  .read().rsplit(b"\n", 1)[0]))
    assert list(head.columns) == ["timestamp", "sensor_id", "value", "unit", "value_c", "date"]
