"""LiveStats: per-second series, percentiles, coverage and diversity from a hand-made clock."""

from __future__ import annotations

import pytest

from shoprec.serving.stats import LiveStats, RecentEvent


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_request_rate_and_latency_percentiles() -> None:
    clock = Clock(1000.2)
    stats = LiveStats(window_s=60, clock=clock)
    for ms in range(1, 101):  # 100 requests at t=1000.2 taking 1..100 ms
        stats.request(ms / 1000)
    clock.now = 1003.5
    stats.request(0.5)
    snap = stats.snapshot(catalog_size=10)
    series = snap["series"]
    assert len(series["t"]) == 60 and series["t"][-1] == 1003.0
    rate = dict(zip(series["t"], series["requests_per_s"], strict=True))
    assert rate[1000.0] == 100 and rate[1003.0] == 1 and sum(rate.values()) == 101
    assert snap["requests"]["total"] == 101
    assert snap["requests"]["per_s"] == pytest.approx(10.1)  # 101 in the last 10 s
    assert snap["requests"]["p50_ms"] == pytest.approx(51.0)
    assert snap["requests"]["p99_ms"] == pytest.approx(100.0, abs=1.0)
    # Requests older than the window leave the series.
    clock.now = 1100.0
    later = stats.snapshot(catalog_size=10)
    assert sum(later["series"]["requests_per_s"]) == 0 and later["requests"]["p50_ms"] is None
    assert later["requests"]["total"] == 101


def test_events_series_and_recent_stream_newest_first() -> None:
    clock = Clock(50.0)
    stats = LiveStats(window_s=10, max_recent=2, clock=clock)
    stats.events(
        [RecentEvent(49.0, "u1", "a", "view", "A"), RecentEvent(49.5, "u1", "b", "view", None)]
    )
    clock.now = 52.0
    stats.events([RecentEvent(51.0, "u2", "c", "purchase", "C")])
    snap = stats.snapshot(catalog_size=3)
    events = dict(zip(snap["series"]["t"], snap["series"]["events_per_s"], strict=True))
    assert events[50.0] == 2 and events[52.0] == 1
    assert snap["events"]["total"] == 3
    assert [e["item_id"] for e in snap["events"]["recent"]] == ["c", "b"]


def test_coverage_and_category_diversity_of_served_lists() -> None:
    stats = LiveStats(clock=Clock(0.0))
    stats.served("home", ["a", "b"], ["shoes", "shoes"])  # one category in two slots: 0.5
    stats.served("similar", ["a", "c", "d", "e"], ["shoes", "hats", "socks", "bags"])  # 1.0
    served = stats.snapshot(catalog_size=10)["served"]
    assert served["distinct_items"] == 5 and served["coverage"] == pytest.approx(0.5)
    assert served["category_diversity"] == pytest.approx(0.75)
    assert served["top_items"][0] == {"item_id": "a", "count": 2}
    assert served["by_scenario"] == {"home": 1, "similar": 1}
    assert served["slots"] == 6 and served["responses"] == 2
