from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from conftest import RedisServer
from shoprec.events import Event, connect_redis
from shoprec.serving import Experiment, ExperimentCounters, MemoryCounters, RedisCounters
from shoprec.types import EventType


def test_assignment_is_stable_and_follows_weights() -> None:
    experiment = Experiment([("a", 3.0), ("b", 1.0)], salt="s")
    assigned = [experiment.assign(f"user-{i}") for i in range(4000)]
    assert assigned == [experiment.assign(f"user-{i}") for i in range(4000)]
    share = assigned.count("a") / len(assigned)
    assert 0.72 < share < 0.78
    other = Experiment([("a", 3.0), ("b", 1.0)], salt="t")
    assert assigned != [other.assign(f"user-{i}") for i in range(4000)]


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> Callable[[], ExperimentCounters]:
    """Counters of each kind; Redis ones made twice share their totals (two replicas)."""
    if request.param == "memory":
        shared = MemoryCounters()
        return lambda: shared
    url = request.getfixturevalue("redis_url")
    return lambda: RedisCounters(connect_redis(url), flush_interval_s=0)


def test_clicks_and_conversions_count_once_per_response(
    counters: Callable[[], ExperimentCounters],
) -> None:
    experiment = Experiment([("only", 1.0)], counters=counters())
    rec = experiment.served("only")
    events = [
        Event(user_id="u", item_id="x", event_type=t, context={"recommendation_id": r})
        for t, r in [
            (EventType.CLICK, rec),
            (EventType.CLICK, rec),
            (EventType.VIEW, rec),
            (EventType.PURCHASE, rec),
            (EventType.CLICK, "unknown"),
        ]
    ]
    assert experiment.observe(events) == [("only", "click"), ("only", "purchase")]
    ((_, _, counts),) = experiment.snapshot()
    assert (counts.impressions, counts.clicks, counts.conversions) == (1, 1, 1)


def _counters(url: str) -> RedisCounters:
    return RedisCounters(connect_redis(url), flush_interval_s=0)  # impressions written at once


def _click(rec_id: str) -> Event:
    return Event(
        user_id="u", item_id="x", event_type=EventType.CLICK, context={"recommendation_id": rec_id}
    )


def test_replicas_sharing_redis_count_into_the_same_totals(redis_url: str) -> None:
    variants = [("a", 1.0), ("b", 1.0)]
    one, two = (
        Experiment(variants, counters=RedisCounters(connect_redis(redis_url), flush_interval_s=0))
        for _ in "12"
    )
    shown = [one.served("a"), two.served("b"), two.served("a")]
    click = [
        Event(
            user_id="u", item_id="x", event_type=EventType.CLICK, context={"recommendation_id": r}
        )
        for r in shown
    ]
    # Replica one credits a response replica two served; a re-delivery counts nothing.
    assert one.observe(click) == [("a", "click"), ("b", "click"), ("a", "click")]
    assert two.observe(click) == []
    totals = {name: (c.impressions, c.clicks) for name, _, c in two.snapshot()}
    assert totals == {"a": (2, 2), "b": (1, 1)}


def test_redis_counters_survive_an_outage_without_failing(redis_server: RedisServer) -> None:
    experiment = Experiment(
        [("a", 1.0)], counters=RedisCounters(connect_redis(redis_server.url), flush_interval_s=0)
    )
    experiment.served("a")
    redis_server.stop()
    rec = experiment.served("a")  # not counted, not an error
    click = Event(
        user_id="u", item_id="x", event_type=EventType.CLICK, context={"recommendation_id": rec}
    )
    assert experiment.observe([click]) == []
    assert experiment.snapshot()[0][2].impressions == 0
    redis_server.start()
    experiment.served("a")
    assert experiment.snapshot()[0][2].impressions == 1


def test_impressions_are_written_in_the_background_and_before_any_read(redis_url: str) -> None:
    counters = RedisCounters(connect_redis(redis_url), flush_interval_s=0.05)
    experiment = Experiment([("a", 1.0)], counters=counters)
    other = Experiment([("a", 1.0)], counters=_counters(redis_url))
    shown = [experiment.served("a") for _ in range(3)]
    # This replica's own responses are credited at once (pending ones written first) ...
    assert experiment.observe([_click(shown[0])]) == [("a", "click")]
    rec = experiment.served("a")
    # ... another replica's once the background thread has written them.
    deadline = time.monotonic() + 2
    while other.observe([_click(rec)]) != [("a", "click")]:
        assert time.monotonic() < deadline, "the impression was never written"
        time.sleep(0.02)
    assert other.snapshot()[0][2].impressions == 4
    counters.close()
