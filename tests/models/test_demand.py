"""The demand forecast (#21): a planted rising item is forecast as rising; artifact round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.errors import ArtifactError, DataError, ModelError
from shoprec.evaluation.forecast import evaluate_forecast, top_overlap
from shoprec.models.demand import DemandConfig, DemandForecast

DAY = 86_400.0
DAYS = 21


def planted(rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """30 flat items (about 8 views a day) and 5 items whose views grow by 12 every day."""
    rows = []
    for day in range(DAYS):
        for item in range(35):
            rising = item >= 30
            count = 2 + 12 * day if rising else int(rng.poisson(8))
            rows += [
                (f"u{day}-{k}", f"i{item}", "view", day * DAY + 60.0 * k) for k in range(count)
            ]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    items = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(35)],
            "category": ["up" if i >= 30 else "flat" for i in range(35)],
        }
    )
    return events, items


def test_a_planted_rising_item_is_forecast_as_rising(rng: np.random.Generator) -> None:
    events, items = planted(rng)
    model = DemandForecast(DemandConfig(n_estimators=100, min_child_samples=5)).fit(events, items)
    fc = model.forecast(events, items)
    by_item = dict(zip(fc.item_ids, fc.rise, strict=True))
    assert fc.day == DAYS - 1
    rising = sorted(by_item, key=lambda i: -by_item[i])[:5]
    assert set(rising) == {f"i{i}" for i in range(30, 35)}
    assert all(by_item[f"i{i}"] > 0 for i in range(30, 35))
    today = dict(zip(fc.item_ids, fc.today, strict=True))
    assert today["i30"] == 2 + 12 * (DAYS - 1)


def test_beats_the_naive_forecast_on_the_planted_shop(rng: np.random.Generator) -> None:
    events, items = planted(rng)
    config = DemandConfig(n_estimators=100, min_child_samples=5)
    rows = evaluate_forecast(events, items, config, test_days=1, top=5)
    assert len(rows) == 1
    for row in rows:
        assert row["MAE"] < row["MAE_naive"]
        assert row["rising_hit@5"] == 1.0


def test_artifact_round_trip_without_pickle(rng: np.random.Generator, tmp_path: Path) -> None:
    events, items = planted(rng)
    model = DemandForecast(DemandConfig(n_estimators=20, min_child_samples=5)).fit(events, items)
    model.save(tmp_path / "demand")
    assert sorted(p.name for p in (tmp_path / "demand").iterdir()) == ["config.json", "model.txt"]
    loaded = DemandForecast.load(tmp_path / "demand")
    np.testing.assert_allclose(
        loaded.forecast(events, items).forecast, model.forecast(events, items).forecast
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"key": "ease"}')
    with pytest.raises(ArtifactError):
        DemandForecast.load(tmp_path / "other")


def test_needs_two_days_and_a_fit() -> None:
    one_day = pl.DataFrame(
        {"user_id": ["u"], "item_id": ["a"], "event_type": ["view"], "timestamp": [10.0]}
    )
    with pytest.raises(DataError):
        DemandForecast().fit(one_day)
    with pytest.raises(ModelError):
        DemandForecast().forecast(one_day)


def test_top_overlap() -> None:
    assert top_overlap(np.array([3.0, 2, 1, 0]), np.array([0.0, 2, 3, 1]), 2) == 0.5
