"""ETL step 3, transform one partition: typing, exact de-duplication, derived columns (vectorized).

Input :class:`~handlers.etl.contract.TransformInput` (the validate step's output). Writes
``part-NNNNN.transformed.npz`` and a small ``part-NNNNN.result.json``
(:class:`~handlers.etl.contract.PartitionResult`) to staging; the output step reads the result files, so the
Map's own result can be discarded (or written by ``ResultWriter``) and the state payload stays small.

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
from handlers.etl.datasets import Dataset, load_dataset
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
    transformed_key = put(s3, settings.processed_bucket, settings.staging_key(rid, part_name(index, "transformed.npz")),
                          staged_bytes(frame), "application/octet-stream")
    result: PartitionResult = {"index": index, "rows": event["rows"], "valid": event["valid"],
                               "rejected": event["rejected"], "duplicates": dropped,
                               "transformed_key": transformed_key, "rejects_key": event["rejects_key"]}
    result_key = put(s3, settings.processed_bucket, settings.staging_key(rid, part_name(index, "result.json")),
                     json.dumps(result, sort_keys=True).encode(), "application/json")
    get_logger().info("transformed", extra={"run_id": rid, "partition": index, "duplicates": dropped})
    return {"index": index, "result_key": result_key}


def handler(event: TransformInput, context: Any) -> TransformOutput:
    """Lambda entry point (``handlers.etl.transform.handler``)."""
    return transform_partition(event, settings=EtlSettings.from_env())
