"""Offline evaluation of the demand forecast on a time split, against the naive forecast (#21).

For each test day ``t`` (the last ``test_days`` days of the log) the forecast is fit on the
days before ``t`` and asked for ``t`` from ``t - 1``; the naive forecast says ``t`` will be
like ``t - 1`` ("same as today"). Measured over the items with an event in the ``lags`` days
up to ``t - 1`` or on ``t``:

- **MAE** of the next-day weighted events;
- **rising hit rate @N**: the share of the ``N`` items that actually rose most (weighted events
  on ``t`` minus ``t - 1``) that are among the ``N`` the forecast expects to rise most. The
  naive forecast expects no change at all, so its ranking of rising items is its natural
  extension, momentum: the items that rose most on ``t - 1`` keep rising.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.models.demand import DailySeries, DemandConfig, DemandForecast

FloatArray = npt.NDArray[np.float64]


def top_overlap(predicted: FloatArray, actual: FloatArray, n: int) -> float:
    """Share of the ``n`` largest of ``actual`` that are among the ``n`` largest of ``predicted``.

    Ties are broken by position (the lower index first) on both sides.
    """
    n = min(n, len(actual))
    if n <= 0:
        return float("nan")
    want = set(np.argsort(-actual, kind="stable")[:n].tolist())
    got = set(np.argsort(-predicted, kind="stable")[:n].tolist())
    return len(want & got) / n


def evaluate_forecast(
    events: pl.DataFrame,
    items: pl.DataFrame | None = None,
    config: DemandConfig | None = None,
    test_days: int = 1,
    top: int = 100,
) -> list[dict[str, float]]:
    """Forecast against the naive forecast on each of the last ``test_days`` days.

    Args:
        events: The whole event log.
        items: The catalogue (categories), if any.
        config: The forecast's settings.
        test_days: How many of the last days are test days (each with its own fit).
        top: ``N`` of the rising hit rate.

    Returns:
        One row per test day: ``day``, ``items``, ``MAE``, ``MAE_naive``,
        ``rising_hit@N``, ``rising_hit@N_naive``.
    """
    config = config or DemandConfig()
    series = DailySeries.from_events(events, config, items)
    rows = []
    for col in range(series.n_days - test_days, series.n_days):
        if col < 2:
            continue
        day = series.first_day + col
        model = DemandForecast(config)
        seconds = (day - config.day_offset_hours / 24.0) * 86_400.0
        model.fit(events.filter(pl.col("timestamp") < seconds), items)
        fc = model.forecast(events, items, day=day - 1)
        index = {item: row for row, item in enumerate(series.item_ids)}
        rows_of = np.fromiter((index[i] for i in fc.item_ids), np.int64, len(fc.item_ids))
        forecast = np.zeros(len(series.item_ids))
        forecast[rows_of] = fc.forecast
        actual = series.counts[:, col]
        today = series.counts[:, col - 1]
        yesterday = series.counts[:, col - 2]
        window = series.counts[:, max(col - config.lags, 0) : col + 1]
        keep = window.sum(axis=1) > 0
        rise = (actual - today)[keep]
        rows.append(
            {
                "day": float(day),
                "items": float(keep.sum()),
                "MAE": float(np.abs(forecast - actual)[keep].mean()),
                "MAE_naive": float(np.abs(today - actual)[keep].mean()),
                f"rising_hit@{top}": top_overlap((forecast - today)[keep], rise, top),
                f"rising_hit@{top}_naive": top_overlap((today - yesterday)[keep], rise, top),
            }
        )
    return rows
