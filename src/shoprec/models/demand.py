"""Tomorrow's demand per item: next-day weighted events forecast with LightGBM (#21).

Each item's daily series of weighted events (a purchase counts more than a view, the same
event weights as trending) is turned into one row per item and day: its last ``lags`` days,
rolling means, its change, how long it has been sold, its category's series and trend, the
whole shop's trend and the weekday of the day forecast. A LightGBM regressor (Poisson loss by
default: the target is a non-negative count) learns the next day's weighted events from those
rows over the log's history; :meth:`DemandForecast.forecast` reads the newest day (or any given
one) and predicts the next. Items with no event in the last ``lags`` days are forecast 0.

Days are calendar days at ``day_offset_hours`` from UTC (Taobao's log: +8). The artifact is a
directory: ``config.json`` (schema version, key, config, feature names) and the booster as
LightGBM's own text format (``model.txt``); no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import Field

from shoprec.errors import ArtifactError, DataError, ModelError
from shoprec.types import Columns

from .config import BaseConfig, default_event_weights

#: Key of the demand forecast in its artifact.
KEY = "demand"
SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
MODEL_FILE = "model.txt"
SECONDS_PER_DAY = 86_400.0

FloatArray = npt.NDArray[np.float64]


class DemandConfig(BaseConfig):
    """Settings of the next-day demand forecast."""

    event_weights: dict[str, float] = Field(default_factory=default_event_weights)
    """Weight of each event type in the daily demand (types not listed weigh 1)."""
    day_offset_hours: Annotated[float, Field(ge=-14, le=14)] = 0.0
    """Where days start: local midnight is UTC plus this many hours."""
    lags: Annotated[int, Field(ge=2, le=60)] = 7
    """Days of each series the features read (also: items idle this long are forecast 0)."""
    history_days: Annotated[int, Field(ge=1)] = 56
    """Most recent days whose next day is a training target."""
    n_estimators: Annotated[int, Field(ge=1)] = 200
    """Boosting rounds."""
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Shrinkage per round."""
    num_leaves: Annotated[int, Field(ge=2)] = 31
    """Leaves per tree."""
    min_child_samples: Annotated[int, Field(ge=1)] = 20
    """Fewest rows in a leaf."""
    objective: Literal["poisson", "regression", "regression_l1", "tweedie"] = "poisson"
    """LightGBM objective (Poisson: a count that is never negative)."""
    seed: int = 0
    """Random seed of the booster."""


@dataclass(frozen=True)
class DailySeries:
    """Weighted events per item and day, with each item's category.

    Attributes:
        item_ids: The ``I`` items (rows).
        first_day: The day number (days since the epoch, at the offset) of column 0.
        counts: ``(I, D)`` weighted events per item and day.
        categories: ``(I,)`` category code per item (``-1``: none).
    """

    item_ids: list[str]
    first_day: int
    counts: FloatArray
    categories: npt.NDArray[np.int64]

    @property
    def n_days(self) -> int:
        """Days covered."""
        return int(self.counts.shape[1])

    @classmethod
    def from_events(
        cls,
        events: pl.DataFrame,
        config: DemandConfig,
        items: pl.DataFrame | None = None,
        last_day: int | None = None,
    ) -> DailySeries:
        """The daily series of a canonical event frame (and the catalogue's categories).

        Args:
            events: Events with item, event type and timestamp columns.
            config: Event weights and the day offset.
            items: Catalogue frame with item and category columns (``None``: no categories).
            last_day: Cut the series after this day (``None``: the newest event's day).
        """
        offset = config.day_offset_hours * 3600.0
        frame = events.select(
            pl.col(Columns.ITEM).cast(pl.String),
            ((pl.col(Columns.TIMESTAMP) + offset) / SECONDS_PER_DAY)
            .floor()
            .cast(pl.Int64)
            .alias("day"),
            pl.col(Columns.EVENT_TYPE)
            .replace_strict(config.event_weights, default=1.0, return_dtype=pl.Float64)
            .alias("w"),
        ).filter(pl.col("w") > 0)
        if last_day is not None:
            frame = frame.filter(pl.col("day") <= last_day)
        if frame.is_empty():
            return cls(
                [], 0 if last_day is None else last_day, np.zeros((0, 1)), np.zeros(0, np.int64)
            )
        first = int(frame["day"].min())  # type: ignore[arg-type]
        last = int(frame["day"].max()) if last_day is None else last_day  # type: ignore[arg-type]
        daily = frame.group_by(Columns.ITEM, "day").agg(pl.col("w").sum())
        item_ids = sorted(daily[Columns.ITEM].unique().to_list())
        index = {item: row for row, item in enumerate(item_ids)}
        counts = np.zeros((len(item_ids), last - first + 1))
        rows = np.fromiter((index[i] for i in daily[Columns.ITEM].to_list()), np.int64)
        counts[rows, daily["day"].to_numpy() - first] = daily["w"].to_numpy()
        return cls(item_ids, first, counts, _category_codes(item_ids, items))


def _category_codes(item_ids: list[str], items: pl.DataFrame | None) -> npt.NDArray[np.int64]:
    codes = np.full(len(item_ids), -1, dtype=np.int64)
    if items is None or Columns.CATEGORY not in items.columns or items.is_empty():
        return codes
    known = items.select(Columns.ITEM, Columns.CATEGORY).drop_nulls(Columns.CATEGORY)
    category = dict(
        zip(known[Columns.ITEM].to_list(), known[Columns.CATEGORY].to_list(), strict=True)
    )
    names: dict[str, int] = {}
    for row, item in enumerate(item_ids):
        name = category.get(item)
        if name:
            codes[row] = names.setdefault(name, len(names))
    return codes


def feature_names(lags: int) -> list[str]:
    """Names of the features, in column order."""
    return [
        *(f"lag_{k}_relative" for k in range(lags)),
        "mean_3_relative",
        f"mean_{lags}",
        "change_1_relative",
        "ratio_to_mean",
        "days_active",
        "days_known",
        "category_lag_0",
        f"category_mean_{lags}",
        "category_trend",
        "share_of_category",
        "shop_trend",
        "weekday",
    ]


def features(
    series: DailySeries, day: int, lags: int
) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray]:
    """Feature rows of the items active in the ``lags`` days up to column ``day``.

    Args:
        series: The daily series.
        day: Column of "today" (the day the forecast is made from).
        lags: Days read.

    Returns:
        ``(R, F)`` features, the ``R`` item rows they describe and each row's scale (its mean
        over the window plus 1). The series' own features are divided by the scale, so the
        booster learns the next day *relative to the item's level* and a series rising past
        every level seen in training is still forecast to rise (trees do not extrapolate).
    """
    counts = series.counts
    lo = day - lags + 1
    window = np.zeros((counts.shape[0], lags))
    start = max(lo, 0)
    window[:, start - lo :] = counts[:, start : day + 1]
    window = window[:, ::-1]  # column k = k days before "today"
    active = np.flatnonzero(window.sum(axis=1) > 0)
    w = window[active]
    mean_all = w.mean(axis=1)
    seen = counts[active, : day + 1] > 0
    first_seen = np.where(seen.any(axis=1), seen.argmax(axis=1), day)
    # Category and shop series over the same window (every item, not only the active).
    cats = series.categories
    n_cat = int(cats.max(initial=-1)) + 1
    cat_window = np.zeros((max(n_cat, 1), lags))
    if n_cat:
        np.add.at(cat_window, cats[cats >= 0], window[cats >= 0])
    code = cats[active]
    has_cat = code >= 0
    cat_lag0 = np.where(has_cat, cat_window[np.maximum(code, 0), 0], np.nan)
    cat_mean = np.where(has_cat, cat_window[np.maximum(code, 0)].mean(axis=1), np.nan)
    shop = window.sum(axis=0)
    weekday = (series.first_day + day + 1 + 3) % 7  # day 0 (1970-01-01) was a Thursday
    scale = mean_all + 1.0
    columns = [
        w / scale[:, None],
        (w[:, :3].mean(axis=1) / scale)[:, None],
        mean_all[:, None],
        ((w[:, 0] - w[:, 1]) / scale)[:, None],
        ((w[:, 0] + 1) / (mean_all + 1))[:, None],
        (day - first_seen + 1)[:, None].astype(np.float64),
        np.full((len(active), 1), float(min(day + 1, lags))),
        cat_lag0[:, None],
        cat_mean[:, None],
        ((cat_lag0 + 1) / (cat_mean + 1))[:, None],
        (mean_all / np.where(cat_mean > 0, cat_mean, np.nan))[:, None],
        np.full((len(active), 1), (shop[0] + 1) / (shop.mean() + 1)),
        np.full((len(active), 1), float(weekday)),
    ]
    return np.hstack(columns), active, scale


@dataclass(frozen=True)
class Forecast:
    """Next-day demand per item, from one day's view of the series.

    Attributes:
        item_ids: Every item of the series.
        today: ``(I,)`` weighted events on the day the forecast was made from.
        forecast: ``(I,)`` forecast weighted events of the next day.
        day: The day number of "today" (days since the epoch, at the offset).
    """

    item_ids: list[str]
    today: FloatArray
    forecast: FloatArray
    day: int

    @property
    def rise(self) -> FloatArray:
        """Forecast minus today: positive for items expected to rise."""
        return self.forecast - self.today

    def frame(self) -> pl.DataFrame:
        """``item_id``, ``today``, ``forecast``, ``rise``, the largest forecast first."""
        return pl.DataFrame(
            {
                Columns.ITEM: self.item_ids,
                "today": self.today,
                "forecast": self.forecast,
                "rise": self.rise,
            },
            schema={
                Columns.ITEM: pl.String,
                "today": pl.Float64,
                "forecast": pl.Float64,
                "rise": pl.Float64,
            },
        ).sort(["forecast", Columns.ITEM], descending=[True, False])


class DemandForecast:
    """Next-day weighted events per item, learnt by LightGBM from the daily series.

    Args:
        config: Its settings.
    """

    def __init__(self, config: DemandConfig | None = None) -> None:
        self.config = config or DemandConfig()
        self._booster: lgb.Booster | None = None

    def is_fitted(self) -> bool:
        """Whether :meth:`fit` or :meth:`load` gave it a model."""
        return self._booster is not None

    def fit(self, events: pl.DataFrame, items: pl.DataFrame | None = None) -> Self:
        """Learn from every day of ``events`` whose next day is known too.

        Raises:
            DataError: Fewer than two days of events (no day with a known next day).
        """
        series = DailySeries.from_events(events, self.config, items)
        if series.n_days < 2:
            raise DataError("demand forecast: needs events on at least two days")
        lags = self.config.lags
        xs, ys, scales = [], [], []
        for day in range(max(series.n_days - 1 - self.config.history_days, 0), series.n_days - 1):
            x, rows, scale = features(series, day, lags)
            xs.append(x)
            ys.append(series.counts[rows, day + 1])
            scales.append(scale)
        x_all, y_all, s_all = np.vstack(xs), np.concatenate(ys), np.concatenate(scales)
        if not len(y_all):
            raise DataError("demand forecast: no item has events before its last day")
        params = {
            "objective": self.config.objective,
            "learning_rate": self.config.learning_rate,
            "num_leaves": self.config.num_leaves,
            "min_child_samples": self.config.min_child_samples,
            "seed": self.config.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }
        data = lgb.Dataset(
            np.ascontiguousarray(x_all, dtype=np.float32),
            # The next day relative to the level, weighted by the level: for the Poisson loss
            # exactly the likelihood of the count with the level as its exposure.
            label=(y_all / s_all).astype(np.float32),
            weight=s_all.astype(np.float32),
            feature_name=feature_names(lags),
            free_raw_data=True,
        )
        booster = lgb.train(params, data, num_boost_round=self.config.n_estimators)
        self._booster = lgb.Booster(model_str=booster.model_to_string())
        return self

    def forecast(
        self, events: pl.DataFrame, items: pl.DataFrame | None = None, day: int | None = None
    ) -> Forecast:
        """Next-day demand of every item, seen from ``day`` (``None``: the newest event's day).

        Args:
            events: The event log (only days up to ``day`` are read).
            items: The catalogue (categories).
            day: "Today", as a day number (days since the epoch at the offset).

        Raises:
            ModelError: Not fitted.
        """
        booster = self._require()
        series = DailySeries.from_events(events, self.config, items, last_day=day)
        today_col = series.n_days - 1
        today = series.counts[:, today_col] if series.item_ids else np.zeros(0)
        predicted = np.zeros(len(series.item_ids))
        if series.item_ids:
            x, rows, scale = features(series, today_col, self.config.lags)
            if len(rows):
                relative = np.asarray(booster.predict(x), dtype=np.float64)
                predicted[rows] = np.maximum(relative * scale, 0.0)
        return Forecast(
            series.item_ids, np.asarray(today, np.float64), predicted, series.first_day + today_col
        )

    def day_of(self, timestamp: float) -> int:
        """The day number of a time (seconds since the epoch) at the configured offset."""
        return int((timestamp + self.config.day_offset_hours * 3600.0) // SECONDS_PER_DAY)

    def _require(self) -> lgb.Booster:
        if self._booster is None:
            raise ModelError("demand forecast: not fitted; call fit() or load() first")
        return self._booster

    def save(self, path: Path) -> None:
        """Write the artifact directory: ``config.json`` and ``model.txt`` (no pickle)."""
        booster = self._require()
        path.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "key": KEY,
            "config": self.config.model_dump(),
            "features": feature_names(self.config.lags),
        }
        booster.save_model(str(path / MODEL_FILE))
        (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an artifact written by :meth:`save`.

        Raises:
            ArtifactError: Missing files, another key or schema version, or unreadable model.
        """
        try:
            meta = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path}: no readable {CONFIG_FILE} ({exc})") from None
        if meta.get("key") != KEY or meta.get("schema_version") != SCHEMA_VERSION:
            raise ArtifactError(
                f"{path}: not a demand forecast of schema {SCHEMA_VERSION} "
                f"(key {meta.get('key')!r}, schema {meta.get('schema_version')!r})"
            )
        model = cls(DemandConfig.model_validate(meta["config"]))
        try:
            model._booster = lgb.Booster(model_file=str(path / MODEL_FILE))
        except (OSError, lgb.basic.LightGBMError) as exc:
            raise ArtifactError(f"{path}: unreadable {MODEL_FILE} ({exc})") from None
        return model
