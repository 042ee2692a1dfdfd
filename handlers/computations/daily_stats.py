"""``daily_stats``: the reference scheduled computation (pure functions + a thin handler).

For one business date it takes a dataset (synthetic, seeded by the date, or a CSV input object with a
``value`` column), then computes

* descriptive statistics (count, mean, std, quantiles, skewness, kurtosis);
* a linear trend over the hours of the day (``scipy.stats.linregress``), fitted twice: the second fit
  leaves out the anomalies the first one exposes;
* anomaly flags: robust z-scores of the residuals (median / 1.4826·MAD) beyond ``z_threshold``;
* a normal distribution fitted to the clean residuals (``scipy.stats.norm.fit``) and a Kolmogorov-Smirnov
  goodness-of-fit test against it (parameters estimated from the same data, so the p-value is optimistic:
  read it as a screen, not a proof).

Artifacts: ``stats.json``, ``data.csv``, ``plot.png`` (the framework adds ``result.json``).

Example
-------
>>> import numpy as np
>>> frame = synthetic_dataset(np.random.default_rng(1), date(2026, 3, 1), SyntheticParams(n=500))
>>> round(analyze(frame).trend["slope_per_hour"], 1)
0.2
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from handlers.runtime.errors import SciflowError
from handlers.runtime.objects import get_object_or_none
from handlers.runtime.scheduled import Result, RunContext, scheduled_handler

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class SyntheticParams:
    """Ground truth of the synthetic dataset: ``value = intercept + slope·hour + N(0, sigma)`` + spikes."""

    n: int = 288
    intercept: float = 20.0
    slope_per_hour: float = 0.2
    sigma: float = 1.5
    anomalies: int = 3
    anomaly_sigmas: float = 8.0


@dataclass(frozen=True)
class Analysis:
    """Everything ``analyze`` finds; ``frame`` holds per-row residuals, z-scores and flags."""

    descriptive: dict[str, float]
    trend: dict[str, float]
    fit: dict[str, Any]
    anomalies: dict[str, Any]
    frame: pd.DataFrame

    def stats_document(self) -> dict[str, Any]:
        """The ``stats.json`` document."""
        return {"descriptive": self.descriptive, "trend": self.trend, "fit": self.fit, "anomalies": self.anomalies}


def synthetic_dataset(rng: np.random.Generator, day: date, params: SyntheticParams = SyntheticParams(),
                      timezone: str = "UTC") -> pd.DataFrame:
    """Readings evenly spread over ``day`` with a known trend, noise and ``params.anomalies`` upward spikes.

    Columns: ``timestamp`` (ISO-8601 with offset), ``hour`` (0-24), ``value``, ``injected`` (bool).

    Example
    -------
    >>> synthetic_dataset(np.random.default_rng(0), date(2026, 3, 1), SyntheticParams(n=4)).shape
    (4, 4)
    """
    if params.n < 3:
        raise ValueError(f"n={params.n}: need at least 3 readings")
    hours = np.arange(params.n) * (24.0 / params.n)
    values = params.intercept + params.slope_per_hour * hours + rng.normal(0.0, params.sigma, params.n)
    injected = np.zeros(params.n, dtype=bool)
    spots = rng.choice(params.n, size=min(params.anomalies, params.n), replace=False)
    injected[spots] = True
    values[spots] += params.anomaly_sigmas * params.sigma
    start = pd.Timestamp(day.isoformat(), tz=timezone)
    stamps = [(start + pd.Timedelta(hours=float(h))).isoformat() for h in hours]
    return pd.DataFrame({"timestamp": stamps, "hour": hours, "value": values, "injected": injected})


def analyze(frame: pd.DataFrame, *, z_threshold: float = 4.0) -> Analysis:
    """Descriptive statistics, trend, anomaly flags and a normal fit with a KS test for ``frame``.

    ``frame`` needs a numeric ``value`` column; ``hour`` (position in the day) defaults to an even spread.

    Example
    -------
    >>> analyze(pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 5.0]})).descriptive["mean"]
    3.0
    """
    if "value" not in frame.columns:
        raise SciflowError(f"dataset has no 'value' column (columns: {', '.join(map(str, frame.columns))})",
                           code="InvalidDataset")
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise SciflowError(f"row {int(bad[0])}: 'value' is not a finite number", code="InvalidDataset")
    n = values.size
    if n < 5:
        raise SciflowError(f"dataset has {n} rows; need at least 5", code="InvalidDataset")
    hours = (frame["hour"].to_numpy(dtype=float) if "hour" in frame.columns
             else np.arange(n) * (24.0 / n))

    first = st.linregress(hours, values)
    residuals = values - (first.intercept + first.slope * hours)
    flags = _robust_flags(residuals, z_threshold)
    clean = ~flags
    trend = st.linregress(hours[clean], values[clean])
    residuals = values - (trend.intercept + trend.slope * hours)
    loc, scale = st.norm.fit(residuals[clean])
    ks_statistic: float | None
    ks_p_value: float | None
    if scale > 0:
        ks = st.kstest(residuals[clean], "norm", args=(loc, scale))
        ks_statistic, ks_p_value = float(ks.statistic), float(ks.pvalue)
        z = (residuals - loc) / scale
    else:  # an exact line: no spread to fit, nothing to test
        ks_statistic = ks_p_value = None
        z = np.zeros(n)

    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    descriptive = {
        "count": int(n), "mean": float(values.mean()), "std": float(values.std(ddof=1)),
        "min": float(values.min()), "p05": float(q[0]), "p25": float(q[1]), "median": float(q[2]),
        "p75": float(q[3]), "p95": float(q[4]), "max": float(values.max()),
        "skewness": float(st.skew(values)), "kurtosis": float(st.kurtosis(values)),
    }
    trend_doc = {"slope_per_hour": float(trend.slope), "intercept": float(trend.intercept),
                 "r": float(trend.rvalue), "p_value": float(trend.pvalue), "slope_stderr": float(trend.stderr)}
    fit = {"distribution": "norm", "loc": float(loc), "scale": float(scale), "ks_statistic": ks_statistic,
           "ks_p_value": ks_p_value, "n": int(clean.sum())}
    rows = np.flatnonzero(flags)
    anomalies = {"threshold": z_threshold, "count": int(rows.size), "rows": [int(i) for i in rows]}
    out = frame.copy()
    out["hour"] = hours
    out["residual"] = residuals
    out["zscore"] = z
    out["anomaly"] = flags
    return Analysis(descriptive=descriptive, trend=trend_doc, fit=fit, anomalies=anomalies, frame=out)


def _robust_flags(residuals: np.ndarray, z_threshold: float) -> np.ndarray:
    median = np.median(residuals)
    mad = np.median(np.abs(residuals - median)) * MAD_TO_SIGMA
    if mad == 0:
        return np.zeros(residuals.size, dtype=bool)
    return np.abs(residuals - median) / mad > z_threshold


def make_plot(analysis: Analysis, title: str) -> Any:
    """A two-panel figure (series with trend and anomalies; residual histogram with the fitted pdf).

    Uses ``matplotlib.figure.Figure`` directly (no pyplot state); the artifact store renders it with Agg.

    Example
    -------
    >>> fig = make_plot(analyze(pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 9.0]})), "demo")
    """
    from matplotlib.figure import Figure

    frame, trend, fit = analysis.frame, analysis.trend, analysis.fit
    figure = Figure(figsize=(9, 4), dpi=100)
    series, hist = figure.subplots(1, 2)
    series.plot(frame["hour"], frame["value"], lw=0.8, label="value")
    series.plot(frame["hour"], trend["intercept"] + trend["slope_per_hour"] * frame["hour"], label="trend")
    flagged = frame[frame["anomaly"]]
    series.scatter(flagged["hour"], flagged["value"], color="red", zorder=3, label="anomaly")
    series.set(title=title, xlabel="hour of day", ylabel="value")
    series.legend(loc="best")
    residuals = frame.loc[~frame["anomaly"], "residual"].to_numpy()
    hist.hist(residuals, bins=30, density=True, alpha=0.6)
    if fit["ks_p_value"] is not None:
        grid = np.linspace(residuals.min(), residuals.max(), 200)
        hist.plot(grid, st.norm.pdf(grid, fit["loc"], fit["scale"]))
        hist.set(title=f"residuals, KS p={fit['ks_p_value']:.3f}", xlabel="residual")
    else:
        hist.set(title="residuals (no spread: exact line)", xlabel="residual")
    figure.tight_layout()
    return figure


def load_input(uri: str, s3_client: Any) -> pd.DataFrame:
    """Read a CSV input object ``s3://bucket/key`` (it must have a ``value`` column)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise SciflowError(f"input {uri!r} is not an s3://bucket/key URI", code="InvalidInput")
    bucket, key = uri[5:].split("/", 1)
    found = get_object_or_none(s3_client, bucket, key)
    if found is None:
        raise SciflowError(f"input {uri!r} does not exist", code="InputNotFound")
    body = found["Body"].read()
    return pd.read_csv(BytesIO(body))


def compute(ctx: RunContext) -> Result:
    """The pure computation: dataset → analysis → ``Result`` (no AWS calls except reading an input object).

    Example
    -------
    >>> result = compute(ctx)  # doctest: +SKIP
    >>> sorted(result.artifacts)  # doctest: +SKIP
    ['data.csv', 'plot.png', 'stats.json']
    """
    if ctx.input_uri:
        frame, source = load_input(ctx.input_uri, ctx.s3_client), ctx.input_uri
    else:
        frame, source = synthetic_dataset(ctx.rng(), ctx.business_date, timezone=ctx.timezone), "synthetic"
    ctx.budget.check("daily_stats analysis")
    analysis = analyze(frame)
    summary = {
        "source": source, "count": analysis.descriptive["count"], "mean": analysis.descriptive["mean"],
        "std": analysis.descriptive["std"], "slope_per_hour": analysis.trend["slope_per_hour"],
        "ks_p_value": analysis.fit["ks_p_value"], "anomalies": analysis.anomalies["count"],
    }
    return Result(summary=summary, artifacts={
        "stats.json": analysis.stats_document(),
        "data.csv": analysis.frame,
        "plot.png": make_plot(analysis, f"{ctx.computation} {ctx.business_date.isoformat()}"),
    })


handler = scheduled_handler(compute)
