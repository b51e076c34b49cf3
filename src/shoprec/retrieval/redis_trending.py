"""Trending counts shared by every replica, in one Redis sorted set.

An event of weight ``w`` at time ``t`` adds ``w * 2**((t - origin) / half_life)`` to its item's
score, where ``origin`` is a reference time stored beside the set. Relative to any later
moment that is exactly the decayed weight, scaled by a factor common to every item, so the
ranking needs no per-read decay and each event is one ``ZINCRBY``. When the newest event runs
64 half-lives past the origin, a script moves the origin forward and rescales every score at
once (as :class:`~shoprec.retrieval.Trending` does in memory), far from float overflow.

Each replica copies the top of the set every ``resort_interval_s`` in a background thread and
answers from that copy, so a request costs no round trip; while Redis is unreachable it keeps
its last copy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl
import redis

from shoprec.events import Event, RedisConnection
from shoprec.types import Candidates, Columns, ItemId

from .trending import REBASE_HALF_LIVES, SECONDS_PER_HOUR, best

log = logging.getLogger("shoprec.retrieval")

#: Items whose scores each replica copies from Redis (requests pick their top from these).
TOP_COPIED = 2_000

# KEYS: scores, origin. ARGV: half-life, newest time, then item, weight, time triples.
# The origin is set by the first event ever; exponents are capped like the in-memory counts.
_ADD = f"""
local half_life = tonumber(ARGV[1])
local origin = tonumber(redis.call('GET', KEYS[2]) or ARGV[2])
redis.call('SET', KEYS[2], origin)
local cap = {REBASE_HALF_LIVES}
local newest = tonumber(ARGV[2])
if (newest - origin) / half_life > cap then
  local factor = 2 ^ (-(newest - origin) / half_life)
  local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    redis.call('ZADD', KEYS[1], tonumber(all[i + 1]) * factor, all[i])
  end
  origin = newest
  redis.call('SET', KEYS[2], origin)
end
for i = 3, #ARGV, 3 do
  local exponent = math.min((tonumber(ARGV[i + 2]) - origin) / half_life, cap)
  redis.call('ZINCRBY', KEYS[1], tonumber(ARGV[i + 1]) * 2 ^ exponent, ARGV[i])
end
return 0
"""


class RedisTrending:
    """:class:`~shoprec.retrieval.TrendingCounts` kept in Redis for every replica.

    Args:
        connection: The connection (and key prefix).
        half_life_hours: Age at which an event counts half.
        event_weights: Weight per event type (types not listed weigh 1).
        resort_interval_s: How often this replica copies the ranking from Redis (0: on every
            read, for tests).
    """

    def __init__(
        self,
        connection: RedisConnection,
        half_life_hours: float,
        event_weights: Mapping[str, float],
        resort_interval_s: float = 1.0,
    ) -> None:
        self._redis = connection
        self.half_life_s = half_life_hours * SECONDS_PER_HOUR
        self.event_weights = dict(event_weights)
        self.resort_interval_s = resort_interval_s
        self._scores_key = connection.key("trending", "scores")
        self._origin_key = connection.key("trending", "origin")
        self._add = connection.client.register_script(_ADD)
        self._ranking: tuple[list[ItemId], npt.NDArray[np.float64]] = ([], np.zeros(0))
        self._refresher: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def seed(self, events: Callable[[], pl.DataFrame]) -> bool:
        """Count ``events()`` unless another replica already did (the first one to start).

        Returns:
            Whether this call counted them.

        Raises:
            BackendUnavailableError: Redis cannot be reached.
        """
        try:
            first = self._redis.client.set(self._redis.key("trending", "seeded"), 1, nx=True)
            if first:
                self.observe_frame(events())
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error
        return bool(first)

    def observe_frame(self, events: pl.DataFrame, sign: float = 1.0) -> None:
        """Add the events of a canonical event frame (a bounded number of round trips).

        ``sign=-1`` takes them back instead (see :meth:`discount`).
        """
        if not events.height:
            return
        weights = sign * events[Columns.EVENT_TYPE].replace_strict(
            self.event_weights, default=1.0, return_dtype=pl.Float64
        )
        now = time.time()
        frame = pl.DataFrame(
            {
                "item": events[Columns.ITEM],
                "weight": weights,
                "time": events[Columns.TIMESTAMP].fill_null(now),
            }
        )
        for chunk in frame.iter_slices(10_000):
            self._send(chunk["item"].to_list(), chunk["weight"].to_list(), chunk["time"].to_list())

    def discount(self, events: pl.DataFrame) -> None:
        """Take back the weight of events counted earlier (a forgotten shopper's).

        Raises:
            BackendUnavailableError: Redis cannot be reached.
        """
        try:
            self.observe_frame(events, sign=-1.0)
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error

    def observe(self, events: Sequence[Event]) -> None:
        """Add acknowledged events (one round trip; while Redis is unreachable, not counted)."""
        if not events:
            return
        try:
            self._send(
                [e.item_id for e in events],
                [self.event_weights.get(e.event_type.value, 1.0) for e in events],
                [e.timestamp for e in events],
            )
        except redis.RedisError as error:
            log.warning("%d events not counted in trending: %s", len(events), error)

    def _send(self, items: list[ItemId], weights: list[float], times: list[float]) -> None:
        args: list[str | float] = [self.half_life_s, max(times)]
        for item, weight, at in zip(items, weights, times, strict=True):
            args += [item, weight, at]
        self._add(keys=[self._scores_key, self._origin_key], args=args)

    def _refresh(self) -> None:
        """Copy the top of the ranking from Redis (keeping the last copy if unreachable)."""
        try:
            top: list[tuple[bytes, float]] = self._redis.client.zrevrange(  # type: ignore[assignment]
                self._scores_key, 0, TOP_COPIED - 1, withscores=True
            )
        except redis.RedisError as error:
            log.warning("trending not refreshed, serving the last copy: %s", error)
            return
        ranking = ([item.decode() for item, _ in top], np.array([s for _, s in top]))
        self._ranking = ranking  # one reference: readers see a whole copy

    def _copy(self) -> tuple[list[ItemId], npt.NDArray[np.float64]]:
        """The latest copy; with an interval, kept fresh by a background thread.

        Copying and parsing the top 2,000 takes milliseconds: on the request path once a
        second, it was the tail of every replica's latency.
        """
        if self.resort_interval_s <= 0:
            self._refresh()
        elif self._refresher is None:
            with self._lock:
                if self._refresher is None:
                    self._refresh()  # the first read waits for a first copy
                    self._refresher = threading.Thread(
                        target=self._keep_fresh, name="shoprec-trending", daemon=True
                    )
                    self._refresher.start()
        return self._ranking

    def _keep_fresh(self) -> None:
        while not self._stop.wait(self.resort_interval_s):
            self._refresh()

    def close(self) -> None:
        """Stop refreshing the copy."""
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(timeout=5)

    def top(
        self,
        k: int,
        exclude: Collection[ItemId] = (),
        keep: Callable[[ItemId], bool] | None = None,
    ) -> Candidates:
        """The ``k`` most trending items not in ``exclude`` for which ``keep`` holds.

        Scores are relative: the most trending item overall scores 1.
        """
        ids, scores = self._copy()
        return best(ids, range(len(ids)), scores, k, exclude, keep)
