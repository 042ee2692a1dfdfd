"""Dataset specs: each module here defines ``DATASET``, a :class:`Dataset` (schema + derive + aggregates).

A pipeline names its dataset by module name (``sensor_readings``); the handlers load it with
:func:`load_dataset`, so adding a dataset is adding one module.

Example
-------
>>> load_dataset("sensor_readings").schema.names
('timestamp', 'sensor_id', 'value', 'unit')
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from handlers.etl.aggregates import Aggregates
from handlers.etl.schema import Schema

if TYPE_CHECKING:
    from handlers.etl.report import ReportHook


@dataclass(frozen=True)
class Dataset:
    """What a pipeline knows about one dataset.

    Parameters
    ----------
    schema:
        validation rules (its ``unique`` key also drives de-duplication).
    derive:
        vectorized typed-frame -> frame function adding derived columns: plain pandas, run on one partition
        at a time (the escape hatch for anything the schema cannot say).
    aggregate:
        the group statistics of the report (:class:`~handlers.etl.aggregates.Aggregates`): computed per
        partition and merged exactly, so no step holds the whole file; ``aggregate(frame)`` gives the finished
        table of any frame.
    group_column:
        column whose values get one sheet each in the report workbook.
    output_columns:
        column order of the published rows.
    reports:
        extra report files (:data:`handlers.etl.report.ReportHook`): each gets the finished aggregates and the
        run summary and returns ``{file name: bytes}``; the output step writes them write-once beside
        ``report.xlsx`` and lists them in the manifest (build them with :mod:`handlers.etl.report`).
    """

    name: str
    schema: Schema
    derive: Callable[[pd.DataFrame], pd.DataFrame]
    aggregate: Aggregates
    group_column: str
    output_columns: tuple[str, ...]
    reports: tuple[ReportHook, ...] = ()


def load_dataset(name: str) -> Dataset:
    """Import ``handlers.etl.datasets.<name>`` and return its ``DATASET``.

    Example
    -------
    >>> load_dataset("sensor_readings").group_column
    'sensor_id'
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"dataset {name!r} is not a module name in handlers/etl/datasets/")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise ValueError(f"dataset {name!r}: no module handlers/etl/datasets/{name}.py") from None
    dataset = getattr(module, "DATASET", None)
    if not isinstance(dataset, Dataset):
        raise ValueError(f"dataset {name!r}: handlers/etl/datasets/{name}.py defines no DATASET")
    return dataset
