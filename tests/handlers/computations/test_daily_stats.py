"""daily_stats: the pure computation recovers known parameters; the thin handler wires it to the runtime."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from handlers.computations import daily_stats
from handlers.computations.daily_stats import SyntheticParams, analyze, compute, synthetic_dataset
from handlers.runtime.budget import TimeBudget
from handlers.runtime.errors import SciflowError
from handlers.runtime.scheduled import RunContext

TRUTH = SyntheticParams(n=5000, intercept=12.0, slope_per_hour=0.35, sigma=2.0, anomalies=5, anomaly_sigmas=9.0)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_dataset(np.random.default_rng(20260301), date(2026, 3, 1), TRUTH)


def context(day: date = date(2026, 3, 1), input_uri: str = "", s3_client: object = None) -> RunContext:
    return RunContext(computation="daily-stats", business_date=day, run_id="r", timezone="Asia/Kolkata",
                      scheduled_time=datetime(2026, 3, 1, 10, 30, tzinfo=UTC), input_uri=input_uri,
                      budget=TimeBudget(remaining_ms=lambda: 60_000), s3_client=s3_client)


def test_trend_recovers_slope_and_intercept(frame: pd.DataFrame) -> None:
    trend = analyze(frame).trend
    assert trend["slope_per_hour"] == pytest.approx(TRUTH.slope_per_hour, abs=4 * trend["slope_stderr"])
    assert trend["intercept"] == pytest.approx(TRUTH.intercept, abs=0.2)


def test_normal_fit_recovers_sigma_and_passes_goodness_of_fit(frame: pd.DataFrame) -> None:
    fit = analyze(frame).fit
    assert fit["scale"] == pytest.approx(TRUTH.sigma, rel=0.05)
    assert fit["loc"] == pytest.approx(0.0, abs=0.1)
    assert fit["ks_p_value"] > 0.01


def test_goodness_of_fit_rejects_a_skewed_distribution() -> None:
    skewed = pd.DataFrame({"value": np.random.default_rng(7).exponential(1.0, 3000)})
    assert analyze(skewed, z_threshold=50).fit["ks_p_value"] < 1e-6


def test_anomaly_flags_are_exactly_the_injected_spikes(frame: pd.DataFrame) -> None:
    analysis = analyze(frame)
    assert analysis.anomalies["rows"] == [int(i) for i in np.flatnonzero(frame["injected"])]
    assert analysis.anomalies["count"] == TRUTH.anomalies


def test_descriptive_statistics_match_numpy(frame: pd.DataFrame) -> None:
    stats = analyze(frame).descriptive
    values = frame["value"].to_numpy()
    assert stats["count"] == TRUTH.n
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["std"] == pytest.approx(values.std(ddof=1))
    assert stats["median"] == pytest.approx(np.median(values))


def test_missing_value_column_names_the_columns() -> None:
    with pytest.raises(SciflowError) as err:
        analyze(pd.DataFrame({"reading": [1.0] * 10}))
    assert err.value.code == "InvalidDataset"
    assert err.value.message == "dataset has no 'value' column (columns: reading)"


def test_non_numeric_value_names_the_row() -> None:
    with pytest.raises(SciflowError) as err:
        analyze(pd.DataFrame({"value": [1.0, 2.0, "x", 4.0, 5.0, 6.0]}))
    assert err.value.message == "row 2: 'value' is not a finite number"


def test_same_date_gives_identical_artifacts() -> None:
    from handlers.runtime.artifacts import serialize

    first, second = compute(context()), compute(context())
    for name in ("stats.json", "data.csv", "plot.png"):
        assert serialize(name, first.artifacts[name]) == serialize(name, second.artifacts[name])


def test_different_dates_give_different_data() -> None:
    assert compute(context()).summary["mean"] != compute(context(date(2026, 3, 2))).summary["mean"]


def test_compute_returns_stats_data_and_plot() -> None:
    result = compute(context())
    assert sorted(result.artifacts) == ["data.csv", "plot.png", "stats.json"]
    assert result.summary["source"] == "synthetic" and result.summary["count"] == SyntheticParams().n
    assert list(result.artifacts["data.csv"].columns) == ["timestamp", "hour", "value", "injected", "residual",
                                                          "zscore", "anomaly"]


def test_compute_reads_a_configured_input_object() -> None:
    class S3:
        def get_object(self, Bucket: str, Key: str) -> dict[str, object]:
            import io

            assert (Bucket, Key) == ("in-bucket", "daily-stats/input/readings.csv")
            return {"Body": io.BytesIO(b"value\n1\n3\n2\n5\n4\n6\n")}

    result = compute(context(input_uri="s3://in-bucket/daily-stats/input/readings.csv", s3_client=S3()))
    assert (result.summary["source"], result.summary["count"], result.summary["mean"]) == (
        "s3://in-bucket/daily-stats/input/readings.csv", 6, 3.5)


def test_exact_line_has_no_goodness_of_fit_instead_of_nan() -> None:
    from handlers.runtime.artifacts import serialize

    analysis = analyze(pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}))
    assert (analysis.fit["scale"], analysis.fit["ks_p_value"]) == (0.0, None)
    serialize("stats.json", analysis.stats_document())


def test_module_exposes_a_lambda_handler() -> None:
    assert daily_stats.handler.compute is compute  # type: ignore[attr-defined]
