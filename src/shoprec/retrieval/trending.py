"""Trending: time-decayed popularity kept current from the event stream, and its source."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import IdVocab
from shoprec.events import Event
from shoprec.types import Candidates, Columns, ItemId, Query

from .source import Retrieved

SECONDS_PER_HOUR = 3600.0
# Scores are kept relative to a reference time; past this many half-lives it moves forward
# (and scores shrink by the same factor) so they stay far from float overflow.
REBASE_HALF_LIVES = 64.0


@runtime_checkable
class TrendingCounts(Protocol):
    """Time-decayed popularity that acknowledged events update and requests read."""

    half_life_s: float

    def observe_frame(self, events: pl.DataFrame) -> None:
        """Add the events of a canonical event frame."""

    def observe(self, events: Sequence[Event]) -> None:
        """Add acknowledged events."""

    def discount(self, events: pl.DataFrame) -> None:
        """Take back the weight of events counted earlier (a forgotten shopper's)."""

    def close(self) -> None:
        """Release background resources."""

    def top(
        self,
        k: int,
        exclude: Collection[ItemId] = (),
        keep: Callable[[ItemId], bool] | None = None,
    ) -> Candidates:
        """The ``k`` most trending items not in ``exclude`` for which ``keep`` holds."""


class Trending:
    """Per-item sum of event weights, each halving every ``half_life_hours`` of age.

    Events update it as they are acknowledged, so an item taking off now rises at once.
    Safe to share between threads.

    Args:
        half_life_hours: Age at which an event counts half (``math.inf``: never decays, for
            all-time counts).
        event_weights: Weight per event type (types not listed weigh 1).
        resort_interval_s: The ranking is re-sorted at most this often (0: on every change).
        now: Reference time (seconds since the epoch); defaults to the clock.
    """

    def __init__(
        self,
        half_life_hours: float,
        event_weights: Mapping[str, float],
        resort_interval_s: float = 1.0,
        now: float | None = None,
    ) -> None:
        self.half_life_s = half_life_hours * SECONDS_PER_HOUR
        self.event_weights = dict(event_weights)
        self.resort_interval_s = resort_interval_s
        self._origin = time.time() if now is None else now
        self._vocab = IdVocab()
        self._scores = np.zeros(0, dtype=np.float64)
        self._order: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._sorted_at = -np.inf
        self._dirty = False
        self._lock = threading.Lock()

    def observe_frame(self, events: pl.DataFrame, sign: float = 1.0) -> None:
        """Add the events of a canonical event frame (vectorised; e.g. the store at startup).

        ``sign=-1`` takes them back instead (see :meth:`discount`).
        """
        if not events.height:
            return
        weights = (
            events[Columns.EVENT_TYPE]
            .replace_strict(self.event_weights, default=1.0, return_dtype=pl.Float64)
            .to_numpy()
        )
        self._add(
            events[Columns.ITEM].to_list(),
            events[Columns.TIMESTAMP].fill_null(self._origin).to_numpy(),
            sign * weights,
        )

    def discount(self, events: pl.DataFrame) -> None:
        """Take back the weight of events counted earlier (a forgotten shopper's)."""
        self.observe_frame(events, sign=-1.0)

    def close(self) -> None:
        """Nothing to release: the counts live in this object."""

    def observe(self, events: Sequence[Event]) -> None:
        """Add acknowledged events."""
        self._add(
            [e.item_id for e in events],
            np.fromiter((e.timestamp for e in events), np.float64, len(events)),
            np.fromiter(
                (self.event_weights.get(e.event_type.value, 1.0) for e in events),
                np.float64,
                len(events),
            ),
        )

    def _add(
        self, items: list[ItemId], times: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
    ) -> None:
        with self._lock:
            idx = self._vocab.add(items)
            if len(self._vocab) > len(self._scores):
                grown = np.zeros(max(len(self._vocab), 2 * len(self._scores)), dtype=np.float64)
                grown[: len(self._scores)] = self._scores
                self._scores = grown
            latest = float(times.max(initial=self._origin))
            if (latest - self._origin) / self.half_life_s > REBASE_HALF_LIVES:
                shift = latest - self._origin
                self._scores *= np.exp2(-shift / self.half_life_s)
                self._origin = latest
            exponent = np.minimum((times - self._origin) / self.half_life_s, REBASE_HALF_LIVES)
            np.add.at(self._scores, idx, weights * np.exp2(exponent))
            self._dirty = True

    def _ranking(self) -> tuple[list[ItemId], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        with self._lock:
            now = time.monotonic()
            if self._dirty and now - self._sorted_at >= self.resort_interval_s:
                n = len(self._vocab)
                live = np.flatnonzero(self._scores[:n] > 0)
                self._order = live[np.argsort(-self._scores[live], kind="stable")]
                self._sorted_at, self._dirty = now, False
            return self._vocab.ids, self._order, self._scores

    def weights_of(self, item_ids: Sequence[ItemId]) -> tuple[npt.NDArray[np.float64], float]:
        """The current weight of each item (0 if never seen) and the largest of all items.

        Both share one scale (relative to the reference time), so their ratio is what counts;
        with an infinite half-life they are the plain weighted counts.
        """
        with self._lock:
            n = len(self._vocab)
            rows = self._vocab.lookup(item_ids)
            peak = float(self._scores[:n].max(initial=0.0))
            found = rows >= 0
            weights = np.where(found, self._scores[np.where(found, rows, 0)], 0.0)
        return weights.astype(np.float64), peak

    def top(
        self,
        k: int,
        exclude: Collection[ItemId] = (),
        keep: Callable[[ItemId], bool] | None = None,
    ) -> Candidates:
        """The ``k`` most trending items not in ``exclude`` for which ``keep`` holds.

        Scores are relative: the most trending item overall scores 1.
        """
        ids, order, scores = self._ranking()
        return best(ids, order, scores, k, exclude, keep)


def best(
    ids: Sequence[ItemId],
    order: Sequence[int] | npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    k: int,
    exclude: Collection[ItemId],
    keep: Callable[[ItemId], bool] | None,
) -> Candidates:
    """The first ``k`` rows of ``order`` (best first) not in ``exclude`` that ``keep`` accepts.

    Scores are relative: the first row of ``order`` (the best overall) scores 1.
    """
    if not len(order) or k <= 0:
        return Candidates(())
    peak = float(scores[order[0]])
    picked: list[int] = []
    for idx in order:
        item_id = ids[idx]
        if item_id in exclude or (keep is not None and not keep(item_id)):
            continue
        picked.append(int(idx))
        if len(picked) == k:
            break
    return Candidates(tuple(ids[i] for i in picked), (scores[picked] / peak).astype(np.float32))


class TrendingSource:
    """The most trending items, whatever the query (the cold-start source).

    Args:
        trending: The live trending counts.
        name: The source's name in blend weights and responses.
    """

    def __init__(self, trending: TrendingCounts, name: str = "trending") -> None:
        self.trending = trending
        self.name = name

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` trending items not in ``exclude``."""
        return Retrieved(self.trending.top(k, exclude))
