"""Live operator statistics for the dashboard, from the service's own traffic.

:class:`LiveStats` keeps short rolling windows in memory: the latency of every API request, the
time of every acknowledged event, the most recent events and what each recommendation
response served. :meth:`LiveStats.snapshot` turns them into per-second series (request rate,
p50/p99 latency, events per second), catalogue coverage and diversity of what was served, and a
stream of recent events. It only counts and summarises; it makes no recommendation.

The recent events name shoppers: :meth:`LiveStats.forget` drops a forgotten shopper's (#18).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.types import ASGIApp, Receive, Scope, Send

from shoprec.events import tombstone_key

#: Routes not counted as traffic: the dashboard's own polling and the pages' files.
UNCOUNTED_PREFIXES = ("/v1/admin/stats", "/static", "/shop", "/dashboard", "/favicon")
#: Seconds a forgotten shopper's events are still kept out of the recent events: a request
#: that stored them just before the forget records them just after it.
FORGET_GUARD_S = 60.0


@dataclass(frozen=True)
class RecentEvent:
    """One acknowledged event as the dashboard shows it."""

    timestamp: float
    user_id: str
    item_id: str
    event_type: str
    title: str | None


class LiveStats:
    """Thread-safe rolling counters of requests, events and served items.

    Args:
        window_s: Seconds of history the series cover.
        max_requests: Request records kept (older ones fall out first).
        max_recent: Recent events kept for the stream.
        clock: Time source (seconds); tests pass their own.
    """

    def __init__(
        self,
        window_s: int = 60,
        max_requests: int = 100_000,
        max_recent: int = 50,
        clock: Any = time.time,
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self.started = clock()
        self._requests: deque[tuple[float, float]] = deque(maxlen=max_requests)
        self._events: deque[tuple[float, int]] = deque(maxlen=max_requests)
        self._recent: deque[RecentEvent] = deque(maxlen=max_recent)
        self._forgotten: dict[str, float] = {}  # tombstone key -> when forgotten
        self._served_items: Counter[str] = Counter()
        self._slots = 0
        self._responses = 0
        self._category_diversity_sum = 0.0
        self._by_scenario: Counter[str] = Counter()
        self.total_requests = 0
        self.total_events = 0
        self._lock = threading.Lock()

    # -- recording -------------------------------------------------------------------------
    def request(self, seconds: float) -> None:
        """Record one API request that took ``seconds``."""
        now = self.clock()
        with self._lock:
            self._requests.append((now, seconds))
            self.total_requests += 1

    def events(self, recent: Sequence[RecentEvent]) -> None:
        """Record acknowledged events (newest last)."""
        now = self.clock()
        with self._lock:
            if self._forgotten:
                self._forgotten = {
                    k: t for k, t in self._forgotten.items() if now - t < FORGET_GUARD_S
                }
                recent = [e for e in recent if tombstone_key(e.user_id) not in self._forgotten]
            self._events.append((now, len(recent)))
            self._recent.extend(recent)
            self.total_events += len(recent)

    def forget(self, user_id: str) -> None:
        """Drop the shopper's recent events, and keep theirs out for :data:`FORGET_GUARD_S`."""
        now = self.clock()
        with self._lock:
            kept = [e for e in self._recent if e.user_id != user_id]
            self._recent = deque(kept, maxlen=self._recent.maxlen)
            self._forgotten[tombstone_key(user_id)] = now

    def served(self, scenario: str, items: Sequence[str], categories: Iterable[str | None]) -> None:
        """Record one recommendation response: its items and their categories."""
        known = [c for c in categories if c]
        with self._lock:
            self._served_items.update(items)
            self._slots += len(items)
            self._responses += 1
            self._by_scenario[scenario] += 1
            if len(items) > 1:
                # Share of distinct categories in the list: 1 = every item from another one.
                self._category_diversity_sum += len(set(known)) / len(items)
            elif items:
                self._category_diversity_sum += 1.0

    # -- reading ---------------------------------------------------------------------------
    def served_counts(self) -> dict[str, int]:
        """Impressions per item served since the start (for the exposure report)."""
        with self._lock:
            return dict(self._served_items)

    def snapshot(self, catalog_size: int) -> dict[str, Any]:
        """Series, totals, coverage, diversity and recent events as JSON-ready values.

        Args:
            catalog_size: Items listed now (the denominator of coverage).
        """
        now = self.clock()
        with self._lock:
            requests = np.asarray(self._requests, dtype=np.float64).reshape(-1, 2)
            events = np.asarray(self._events, dtype=np.float64).reshape(-1, 2)
            recent = list(self._recent)[::-1]
            top = self._served_items.most_common(10)
            distinct = len(self._served_items)
            slots, responses = self._slots, self._responses
            diversity = self._category_diversity_sum / responses if responses else 0.0
            scenarios = dict(self._by_scenario)
            totals = (self.total_requests, self.total_events)
        start = math.floor(now) - self.window_s + 1
        seconds = np.arange(start, start + self.window_s, dtype=np.float64)
        req_bins = np.floor(requests[:, 0]) - start
        in_window = (req_bins >= 0) & (req_bins < self.window_s)
        rate = np.bincount(req_bins[in_window].astype(np.int64), minlength=self.window_s)
        ev_bins = np.floor(events[:, 0]) - start
        ev_window = (ev_bins >= 0) & (ev_bins < self.window_s)
        ev_rate = np.bincount(
            ev_bins[ev_window].astype(np.int64),
            weights=events[ev_window, 1],
            minlength=self.window_s,
        )
        latency = requests[in_window, 1] * 1000.0
        last_10s = requests[:, 0] > now - 10
        return {
            "time": now,
            "uptime_s": now - self.started,
            "window_s": self.window_s,
            "series": {
                "t": seconds.tolist(),
                "requests_per_s": rate.astype(float).tolist(),
                "events_per_s": ev_rate.tolist(),
                **self._latency_series(requests, start),
            },
            "requests": {
                "total": totals[0],
                "per_s": float(last_10s.sum()) / 10.0,
                "p50_ms": _percentile(latency, 50),
                "p99_ms": _percentile(latency, 99),
            },
            "events": {
                "total": totals[1],
                "per_s": float(events[events[:, 0] > now - 10, 1].sum()) / 10.0,
                "recent": [vars(e) for e in recent],
            },
            "served": {
                "responses": responses,
                "slots": slots,
                "distinct_items": distinct,
                "catalog_items": catalog_size,
                "coverage": distinct / catalog_size if catalog_size else 0.0,
                "category_diversity": diversity,
                "top_items": [{"item_id": i, "count": c} for i, c in top],
                "by_scenario": scenarios,
            },
        }

    def _latency_series(self, requests: np.ndarray, start: float, step: int = 5) -> dict[str, Any]:
        """p50 and p99 latency (ms) per ``step``-second bucket of the window (``None``: idle)."""
        p50: list[float | None] = []
        p99: list[float | None] = []
        for lo in range(0, self.window_s, step):
            t0 = start + lo
            mask = (requests[:, 0] >= t0) & (requests[:, 0] < t0 + step)
            values = requests[mask, 1] * 1000.0
            p50.append(_percentile(values, 50))
            p99.append(_percentile(values, 99))
        return {
            "latency_t": [start + lo for lo in range(0, self.window_s, step)],
            "p50_ms": p50,
            "p99_ms": p99,
        }


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


class StatsMiddleware:
    """Pure ASGI middleware timing every counted HTTP request into :class:`LiveStats`.

    Args:
        app: The wrapped application.
        stats: Where to record.
    """

    def __init__(self, app: ASGIApp, stats: LiveStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; record its latency unless it is the dashboard's own or a page."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/v1")
            or path.startswith(UNCOUNTED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.stats.request(time.perf_counter() - start)
