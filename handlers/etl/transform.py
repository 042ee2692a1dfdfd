"""ETL step 3, transform one partition: exact de-duplication, derived columns, and everything the output step
needs so that it never holds more than one partition.

Input :class:`~handlers.etl.contract.TransformInput` (the validate step's output). Writes to staging:
``part-NNNNN.rows.csv`` (the published columns rendered, no header), ``part-NNNNN.keys.bin`` (the key index,
:mod:`handlers.etl.dedupe`), ``part-NNNNN.partial.npz`` (the dataset's partial aggregates) and
``part-NNNNN.result.json`` (:class:`~handlers.etl.contract.PartitionResult`);
the output step reads the result files, so the Map's own result stays small.

Example
-------
>>> transform_partition(validated, settings=settings, s3=s3)["result_key"]  # doctest: +SKIP
'sensor-etl/staging/<run>/part-00000.result.json'
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from handlers.etl.contract import PartitionResult, TransformInput, TransformOutput
from handlers.etl.csvout import render
from handlers.etl.datasets import Dataset, load_dataset
from handlers.etl.dedupe import key_index
from handlers.etl.schema import drop_exact_duplicates
from handlers.etl.settings import EtlSettings, part_name
from handlers.etl.staging import put, read_object, read_staged, s3_client, staged_bytes
from handlers.runtime.log import get_logger


def transform_frame(valid: pd.DataFrame, dataset: Dataset) -> tuple[pd.DataFrame, int]:
    """Drop exact duplicates and add the dataset's derived columns; return the frame and the drop count.

    Example
    -------
    >>> transform_frame(frame, load_dataset("sensor_readings"))[1]  # doctest: +SKIP
    0
    """
    kept, dropped = drop_exact_duplicates(valid, dataset.schema.names, dataset.schema.unique)
    return dataset.derive(kept), dropped


def staged_outputs(frame: pd.DataFrame, dataset: Dataset) -> dict[str, bytes]:
    """The staging objects of one transformed partition, by suffix (pure; used by the step and the bench).

    Example
    -------
    >>> sorted(staged_outputs(frame, load_dataset("sensor_readings")))  # doctest: +SKIP
    ['keys.bin', 'partial.npz', 'rows.csv']
    """
    return {
        "rows.csv": render(frame, columns=dataset.output_columns),
        "keys.bin": key_index(frame, key=dataset.schema.unique, columns=dataset.schema.names),
        "partial.npz": staged_bytes(dataset.aggregate.partial(frame)),
    }


def transform_partition(event: TransformInput, *, settings: EtlSettings, s3: Any = None,
                        dataset: Dataset | None = None) -> TransformOutput:
    """Transform one validated partition and record its result in staging.

    Example
    -------
    >>> transform_partition(validated, settings=settings, s3=s3)["index"]  # doctest: +SKIP
    0
    """
    s3 = s3_client(s3)
    dataset = dataset or load_dataset(settings.dataset)
    run, part = event["run"], event["partition"]
    rid, index = run["run_id"], part["index"]
    valid = read_staged(read_object(s3, settings.processed_bucket, event["valid_key"]))
    frame, dropped = transform_frame(valid, dataset)
    del valid
    keys = {suffix: put(s3, settings.processed_bucket, settings.staging_key(rid, part_name(index, suffix)), body,
                        "text/csv" if suffix.endswith(".csv") else "application/octet-stream")
            for suffix, body in staged_outputs(frame, dataset).items()}
    result: PartitionResult = {
        "index": index, "first_row": part["first_row"], "rows": event["rows"], "valid": event["valid"],
        "rejected": event["rejected"], "duplicates": dropped, "published": len(frame),
        "valid_key": event["valid_key"], "rows_key": keys["rows.csv"], "keys_key": keys["keys.bin"],
        "partial_key": keys["partial.npz"], "rejects_key": event["rejects_key"]}
    result_key = put(s3, settings.processed_bucket, settings.staging_key(rid, part_name(index, "result.json")),
                     json.dumps(result, sort_keys=True).encode(), "application/json")
    get_logger().info("transformed", extra={"run_id": rid, "partition": index, "duplicates": dropped})
    return {"index": index, "result_key": result_key}


def handler(event: TransformInput, context: Any) -> TransformOutput:
    """Lambda entry point (``handlers.etl.transform.handler``)."""
    return transform_partition(event, settings=EtlSettings.from_env())
