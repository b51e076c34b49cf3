"""The service's brand and seller rankings and its demand forecast, kept fresh in the background.

:class:`ShopInsights` owns two things the API reads and no pipeline does (#21):

- the co-engagement between brands and between sellers (:class:`~shoprec.retrieval.BrandAffinity`),
  built from the event log and the catalogue on first use and rebuilt in a background thread
  once older than ``refresh_s`` (requests keep the previous one meanwhile);
- the next-day demand forecast (:class:`~shoprec.models.demand.DemandForecast`), fitted in a
  background thread at start (or loaded from ``HOME/demand``, LightGBM text, when it was
  fitted today), and its forecast from the last complete day, recomputed every ``refresh_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from shoprec.errors import ArtifactError, ShoprecError
from shoprec.events import Item
from shoprec.models.demand import DemandConfig, DemandForecast, Forecast
from shoprec.retrieval import BrandAffinity, RankedBrand, Trending
from shoprec.types import Columns, HistoryEvent, ItemId

from .errors import NotReadyError
from .live import LiveData

log = logging.getLogger("shoprec.serving")

Group = Literal["brand", "seller"]
#: Seconds after which the brand co-engagement and the forecast are rebuilt.
REFRESH_S = 600.0
#: Seconds a forecast request waits for a first fit before answering 503.
FIT_WAIT_S = 20.0


def item_groups(items: list[Item], group_by: Group) -> dict[ItemId, str]:
    """Each listed item's brand (or seller), items without one left out."""
    out: dict[ItemId, str] = {}
    for item in items:
        value = item.brand if group_by == "brand" else item.seller
        if value:
            out[item.item_id] = value
    return out


class ShopInsights:
    """Brand/seller rankings and the demand forecast over the live log.

    Args:
        live: The live side (event log, catalogue).
        event_weights: Weight per event type.
        folder: Where the forecast's artifact is kept (``None``: nowhere).
        refresh_s: Age at which the aggregates are rebuilt.
        clock: Time source (tests pass their own).
    """

    def __init__(
        self,
        live: LiveData,
        event_weights: Mapping[str, float],
        folder: Path | None = None,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._live = live
        self._weights = dict(event_weights)
        self._folder = folder
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._affinity: dict[str, tuple[float, BrandAffinity]] = {}
        self._building: set[str] = set()
        self._model: DemandForecast | None = None
        self._forecast: tuple[float, Forecast] | None = None
        self._fitting: threading.Thread | None = None
        self._fit_error: str | None = None

    # -- brands and sellers ----------------------------------------------------------------
    def rank(self, history: tuple[HistoryEvent, ...], group_by: Group, n: int) -> list[RankedBrand]:
        """A shopper's ``n`` best brands (or sellers) from their history and co-engagement."""
        groups = item_groups(self._live.listed_items(), group_by)
        affinity = self._affinity_for(group_by, groups)
        return affinity.rank(history, groups, self._weights, self._clock(), n)

    def _affinity_for(self, group_by: Group, groups: dict[ItemId, str]) -> BrandAffinity:
        with self._lock:
            held = self._affinity.get(group_by)
            stale = held is None or self._clock() - held[0] > self._refresh_s
            if held is not None and stale and group_by not in self._building:
                self._building.add(group_by)
                threading.Thread(target=self._build, args=(group_by, groups), daemon=True).start()
        if held is not None:
            return held[1]
        return self._build(group_by, groups)

    def _build(self, group_by: Group, groups: dict[ItemId, str]) -> BrandAffinity:
        try:
            affinity = BrandAffinity.from_events(self._live.backends.events.frame(), groups)
        except ShoprecError:
            with self._lock:
                self._building.discard(group_by)
            raise
        with self._lock:
            self._affinity[group_by] = (self._clock(), affinity)
            self._building.discard(group_by)
        return affinity

    # -- demand forecast -------------------------------------------------------------------
    def start(self) -> None:
        """Load today's forecast artifact, or fit one in a background thread."""
        if self._folder is not None and (self._folder / "model.txt").exists():
            try:
                age = self._clock() - (self._folder / "model.txt").stat().st_mtime
                if age < 86_400.0:
                    self._model = DemandForecast.load(self._folder)
                    return
            except (ArtifactError, OSError) as exc:
                log.warning("demand forecast artifact not loaded: %s", exc)
        self.fit_soon()

    def fit_soon(self) -> threading.Thread:
        """Fit the forecast in a background thread (the running one if one runs)."""
        with self._lock:
            if self._fitting is None or not self._fitting.is_alive():
                self._fitting = threading.Thread(target=self._fit, daemon=True)
                self._fitting.start()
            return self._fitting

    def _fit(self) -> None:
        try:
            events = self._live.backends.events.frame()
            model = DemandForecast(DemandConfig(event_weights=self._weights))
            model.fit(events, self._live.backends.catalogue.frame())
        except ShoprecError as exc:  # too short a log, or the store closed meanwhile
            self._fit_error = str(exc)
            log.info("demand forecast not fitted: %s", exc)
            return
        if self._folder is not None:
            model.save(self._folder)
        with self._lock:
            self._model, self._forecast, self._fit_error = model, None, None

    def forecast(self) -> Forecast:
        """Tomorrow's demand per item, from the last complete day of the log.

        The last complete day is yesterday while today has events, else the newest event's
        day (a log that stopped earlier).

        Raises:
            NotReadyError: The first fit is still running after :data:`FIT_WAIT_S`. (A log
                too short to fit on gives an empty forecast.)
        """
        with self._lock:
            model, cached = self._model, self._forecast
        if model is None:
            # A first fit is short on a small log: wait for it a while rather than fail.
            self.fit_soon().join(FIT_WAIT_S)
            with self._lock:
                model, cached = self._model, self._forecast
        if model is None:
            if self._fit_error is not None:  # too short a log: nothing to forecast yet
                return Forecast([], np.zeros(0), np.zeros(0), 0)
            raise NotReadyError("the demand forecast is still being fitted")
        now = self._clock()
        if cached is not None and now - cached[0] <= self._refresh_s:
            return cached[1]
        events = self._live.backends.events.frame()
        newest = events[Columns.TIMESTAMP].cast(pl.Float64).max() if events.height else None
        last = model.day_of(float(newest)) if isinstance(newest, float | int) else 0
        day = min(model.day_of(now) - 1, last)
        fc = model.forecast(events, self._live.backends.catalogue.frame(), day=day)
        with self._lock:
            self._forecast = (now, fc)
        return fc


def interaction_weights(popular: object, item_ids: list[ItemId]) -> list[float]:
    """All-time weighted events per item from a pipeline's popularity counts (0 if unknown)."""
    if isinstance(popular, Trending):
        weights, _ = popular.weights_of(item_ids)
        return [float(w) for w in weights]
    return [0.0] * len(item_ids)
