"""Group statistics that merge exactly across partitions: count, mean, std, min, max, sum.

A dataset declares *what* it wants (``Aggregates(by=..., value=..., columns={out_name: stat})``); each
partition computes a small partial table (per group: ``count``, ``mean``, ``m2``, ``min``, ``max``) and the
output step merges the partials with Chan et al.'s parallel formulas, so the report never needs the whole file
in memory: work and memory are bounded by the number of groups, not rows. Calling an :class:`Aggregates` on a
frame gives the finished table directly (what a notebook wants).

Example
-------
>>> import pandas as pd
>>> agg = Aggregates(by=("g",), value="x", columns={"n": "count", "mean_x": "mean", "std_x": "std"})
>>> f = pd.DataFrame({"g": ["a", "a", "b", "a"], "x": [1.0, 2.0, 5.0, 3.0]})
>>> agg.finish(agg.merge([agg.partial(f[:2]), agg.partial(f[2:])])).to_dict("records")
[{'g': 'a', 'n': 3, 'mean_x': 2.0, 'std_x': 1.0}, {'g': 'b', 'n': 1, 'mean_x': 5.0, 'std_x': 0.0}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STATS = ("count", "mean", "std", "min", "max", "sum")
_PARTIAL = ("count", "mean", "m2", "min", "max")


@dataclass(frozen=True)
class Aggregates:
    """Per-group statistics of one numeric column.

    Parameters
    ----------
    by:
        group columns (the output is sorted by their values).
    value:
        the numeric column the statistics describe (missing values are not counted).
    columns:
        output column name -> statistic (``count``, ``mean``, ``std`` (sample; 0 for one value), ``min``,
        ``max``, ``sum``), in output order.
    decimals:
        floats are rounded to this many decimals (``None``: not rounded).
    """

    by: tuple[str, ...]
    value: str
    columns: Mapping[str, str] = field(default_factory=lambda: {s: s for s in ("count", "mean", "std", "min",
                                                                               "max")})
    decimals: int | None = 6

    def __post_init__(self) -> None:
        unknown = [s for s in self.columns.values() if s not in STATS]
        if unknown:
            raise ValueError(f"aggregate statistic {unknown[0]!r} is not one of {', '.join(STATS)}")
        if not self.by:
            raise ValueError("aggregates need at least one group column")

    def partial(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The mergeable partial table of one partition: group columns plus count, mean, m2, min, max."""
        keys = {name: frame[name] for name in self.by}  # a categorical groups by its codes (observed only)
        data = pd.DataFrame({**keys, "_v": pd.to_numeric(frame[self.value], errors="coerce").astype("float64")})
        data = data[data["_v"].notna()]
        if data.empty:
            return pd.DataFrame({**{k: pd.Series(dtype=object) for k in self.by},
                                 **{s: pd.Series(dtype="float64") for s in _PARTIAL}})
        grouped = data.groupby(list(self.by), sort=False, observed=True)["_v"]
        out = grouped.agg(count="count", mean="mean", min="min", max="max", var="var").reset_index()
        for name in self.by:  # keys as values, whatever the column's dtype was (merging compares values)
            out[name] = pd.Series(np.asarray(out[name], dtype=object)).infer_objects()
        out["m2"] = out.pop("var").fillna(0.0) * (out["count"] - 1)
        out["count"] = out["count"].astype("float64")
        return out[[*self.by, *_PARTIAL]]

    def merge(self, partials: Sequence[pd.DataFrame]) -> pd.DataFrame:
        """Combine partial tables exactly (Chan's pairwise update of count, mean and m2; min of min ...)."""
        frames = [p for p in partials if len(p)]
        if not frames:
            return self.partial(pd.DataFrame({**{k: [] for k in self.by}, self.value: []}))
        both = pd.concat(frames, ignore_index=True)
        if len(frames) == 1:
            return both
        n = both["count"].to_numpy()
        grouped = both.assign(_s=both["mean"] * n).groupby(list(self.by), sort=False)
        total = grouped["count"].transform("sum").to_numpy()
        mean = grouped["_s"].transform("sum").to_numpy() / total
        both = both.assign(_m2=both["m2"] + n * (both["mean"].to_numpy() - mean) ** 2, _mean=mean)
        grouped = both.groupby(list(self.by), sort=False)
        out = grouped.agg(count=("count", "sum"), mean=("_mean", "first"), m2=("_m2", "sum"), min=("min", "min"),
                          max=("max", "max")).reset_index()
        return out[[*self.by, *_PARTIAL]]

    def finish(self, merged: pd.DataFrame) -> pd.DataFrame:
        """The published table: group columns then :attr:`columns`, sorted by group values."""
        out = merged.sort_values(list(self.by), kind="stable", ignore_index=True)
        n = out["count"].to_numpy()
        stats = {
            "count": n.astype("int64"),
            "mean": out["mean"].to_numpy(),
            "std": np.sqrt(np.where(n > 1, out["m2"].to_numpy() / np.maximum(n - 1, 1), 0.0)),
            "min": out["min"].to_numpy(),
            "max": out["max"].to_numpy(),
            "sum": out["mean"].to_numpy() * n,
        }
        result = out[list(self.by)].copy()
        for name, stat in self.columns.items():
            values = stats[stat]
            result[name] = values if stat == "count" or self.decimals is None else np.round(values, self.decimals)
        return result

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The finished table of one whole frame (``finish(partial(frame))``)."""
        return self.finish(self.partial(frame))
