"""sensor_stats: exact statistics over another pipeline's published runs, streamed in chunks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from handlers.computations import sensor_stats
from handlers.computations.sensor_stats import Accumulator
from handlers.etl.datasets.sensor_readings import generate_csv
from handlers.runtime.budget import TimeBudget
from handlers.runtime.errors import SciflowError
from handlers.runtime.scheduled import InputLocation, RunContext
from tests.handlers.etl.test_steps import PROCESSED, WITH_REJECTS, Env, env_fixture, run_all  # noqa: F401


def context(s3: object, inputs: tuple[InputLocation, ...]) -> RunContext:
    return RunContext(computation="sensor-stats", business_date=date(2026, 3, 2), run_id="r", timezone="UTC",
                      scheduled_time=datetime(2026, 3, 2, tzinfo=UTC), budget=TimeBudget(remaining_ms=lambda: 60_000),
                      s3_client=s3, inputs=inputs)


def readings(n: int = 900, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"sensor_id": rng.choice(["A-001", "B-002", "C-003"], n),
                         "date": rng.choice(["2026-03-01", "2026-03-02"], n), "value_c": rng.normal(20, 3, n)})


def test_chunked_statistics_equal_the_whole_frame() -> None:
    frame = readings()
    whole, chunked = Accumulator(), Accumulator()
    whole.add(frame)
    for start in range(0, len(frame), 97):
        chunked.add(frame[start:start + 97])
    pd.testing.assert_frame_equal(whole.sensors(), chunked.sensors())
    expected = frame.groupby("sensor_id")["value_c"].agg(["count", "mean", "std"]).round(6)
    assert whole.sensors()["mean_c"].tolist() == expected["mean"].tolist()
    assert whole.sensors()["std_c"].tolist() == pytest.approx(expected["std"].tolist(), abs=1e-6)
    assert chunked.overall()["count"] == 900 and chunked.days()["count"].sum() == 900


def test_a_sensor_far_from_the_others_is_an_outlier() -> None:
    frame = readings()
    hot = pd.DataFrame({"sensor_id": "H-999", "date": "2026-03-01", "value_c": [80.0, 81.0]})
    acc = Accumulator()
    acc.add(pd.concat([frame, frame.assign(sensor_id=frame["sensor_id"] + "0"), hot]))
    table = acc.sensors()
    assert table.loc[table["outlier"], "sensor_id"].tolist() == ["H-999"]


def test_rows_without_the_statistics_columns_are_refused() -> None:
    with pytest.raises(SciflowError, match="published rows have no column"):
        Accumulator().add(pd.DataFrame({"sensor_id": ["a"]}))


def test_reads_every_published_run_of_the_pipeline(env: Env) -> None:
    run_all(env, "incoming/a.csv", generate_csv(16, seed=1).decode())
    run_all(env, "incoming/b.csv", WITH_REJECTS)
    location = InputLocation(PROCESSED, "sensor-etl/published/")
    result = sensor_stats.compute(context(env.s3, (location,)))
    published = [pd.read_csv(env.s3.get_object(Bucket=PROCESSED, Key=f"{folder}rows.csv")["Body"])
                 for folder in sensor_stats.published_runs(env.s3, location)]
    rows = pd.concat(published)
    assert result.summary["runs"] == 2 and result.summary["rows"] == len(rows) == 17
    assert result.summary["mean_c"] == pytest.approx(rows["value_c"].mean())
    sensors = result.artifacts["sensors.csv"]
    assert sensors["count"].sum() == 17 and set(sensors["sensor_id"]) == set(rows["sensor_id"])
    assert {r["source"] for r in result.artifacts["stats.json"]["runs"]} == {"s3://etl-raw/incoming/a.csv",
                                                                            "s3://etl-raw/incoming/b.csv"}


def test_without_an_input_the_error_names_the_setting() -> None:
    with pytest.raises(SciflowError, match=r"needs an input \(inputs: \[\{pipeline: sensor-etl\}\]\)"):
        sensor_stats.compute(context(object(), ()))
