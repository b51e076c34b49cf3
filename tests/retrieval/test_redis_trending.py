"""Trending counts in Redis: the same ranking as in memory, shared by every replica."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest

from conftest import RedisServer
from shoprec.events import Event, connect_redis
from shoprec.retrieval import RedisTrending, Trending
from shoprec.types import EventType

HOUR = 3600.0
WEIGHTS = {"view": 1.0, "addtocart": 3.0, "purchase": 5.0}


def _events(rng: np.random.Generator, n: int, start: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": [f"i{k}" for k in rng.zipf(1.6, n) % 40],
            "event_type": rng.choice(list(WEIGHTS), n).tolist(),
            "timestamp": start + np.sort(rng.uniform(0, 48 * HOUR, n)),
        }
    )


def test_same_ranking_and_scores_as_in_memory(redis_url: str, rng: np.random.Generator) -> None:
    frame = _events(rng, 3000, start=1e6)
    local = Trending(6.0, WEIGHTS, resort_interval_s=0.0, now=1e6)
    local.observe_frame(frame)
    shared = RedisTrending(connect_redis(redis_url), 6.0, WEIGHTS, resort_interval_s=0.0)
    shared.observe_frame(frame)
    expected, got = local.top(20), shared.top(20)
    assert got.item_ids == expected.item_ids
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-5)


def test_an_event_on_one_replica_reaches_the_other(redis_url: str) -> None:
    a = RedisTrending(connect_redis(redis_url), 1.0, {}, resort_interval_s=0.0)
    b = RedisTrending(connect_redis(redis_url), 1.0, {}, resort_interval_s=0.0)
    a.observe([Event(user_id="u", item_id=i, event_type=EventType.VIEW) for i in "xxy"])
    assert b.top(5).item_ids == ("x", "y")
    b.observe([Event(user_id="v", item_id="y", event_type=EventType.VIEW)] * 2)
    assert a.top(5).item_ids == ("y", "x")
    assert a.top(5, exclude={"y"}).item_ids == ("x",)
    assert a.top(5, keep=lambda i: i != "x").item_ids == ("y",)


def test_far_future_events_rebase_without_overflow(redis_url: str) -> None:
    trending = RedisTrending(connect_redis(redis_url), 1.0, {}, resort_interval_s=0.0)
    trending.observe([Event(user_id="u", item_id="old", event_type=EventType.VIEW, timestamp=0)])
    late = 1000 * HOUR
    events = [
        Event(user_id="u", item_id=i, event_type=EventType.VIEW, timestamp=late) for i in "aab"
    ]
    trending.observe(events)
    top = trending.top(3)
    assert top.item_ids == ("a", "b", "old")
    assert np.isfinite(top.scores).all()
    assert top.scores[1] == pytest.approx(0.5)
    assert top.scores[2] < 1e-12  # 1000 half-lives old


def test_only_the_first_replica_seeds_from_the_store(redis_url: str) -> None:
    frame = pl.DataFrame({"item_id": ["a"], "event_type": ["view"], "timestamp": [1e6]})
    replicas = [RedisTrending(connect_redis(redis_url), 1.0, {}, 0.0) for _ in range(3)]
    assert [r.seed(lambda: frame) for r in replicas] == [True, False, False]
    replicas[0].observe([Event(user_id="u", item_id="b", event_type=EventType.VIEW, timestamp=1e6)])
    # "a" was counted once, not three times: it ties with "b".
    assert replicas[2].top(2).scores.tolist() == [1.0, 1.0]


def test_keeps_its_last_copy_while_redis_is_unreachable(redis_server: RedisServer) -> None:
    trending = RedisTrending(connect_redis(redis_server.url), 1.0, {}, resort_interval_s=0.0)
    trending.observe([Event(user_id="u", item_id="a", event_type=EventType.VIEW)])
    assert trending.top(1).item_ids == ("a",)
    redis_server.stop()
    assert trending.top(1).item_ids == ("a",)
    trending.observe([Event(user_id="u", item_id="b", event_type=EventType.VIEW)])  # not counted
    redis_server.start()  # back, empty: counting resumes
    trending.observe([Event(user_id="u", item_id="b", event_type=EventType.VIEW)])
    assert trending.top(2).item_ids == ("b",)


def test_a_background_thread_keeps_the_copy_fresh_off_the_request_path(redis_url: str) -> None:
    writer = RedisTrending(connect_redis(redis_url), 1.0, {}, resort_interval_s=0.0)
    reader = RedisTrending(connect_redis(redis_url), 1.0, {}, resort_interval_s=0.05)
    writer.observe([Event(user_id="u", item_id="a", event_type=EventType.VIEW)])
    assert reader.top(1).item_ids == ("a",)  # the first read waits for a first copy
    calls = 0
    real = reader._redis.client.zrevrange

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    reader._redis.client.zrevrange = counted  # type: ignore[method-assign]
    writer.observe([Event(user_id="u", item_id="b", event_type=EventType.VIEW)] * 2)
    deadline = time.monotonic() + 2
    while reader.top(1).item_ids != ("b",):
        assert time.monotonic() < deadline, "the copy was not refreshed"
    reads = calls
    for _ in range(200):
        reader.top(1)
    assert calls - reads <= 2  # requests read the copy; only the thread goes to Redis
    reader.close()


@pytest.mark.parametrize("shared", [False, True])
def test_discount_takes_a_forgotten_shoppers_weight_back(
    shared: bool, request: pytest.FixtureRequest
) -> None:
    trending = (
        RedisTrending(connect_redis(request.getfixturevalue("redis_url")), 6.0, WEIGHTS, 0.0)
        if shared
        else Trending(6.0, WEIGHTS, resort_interval_s=0.0, now=1e6)
    )
    theirs = pl.DataFrame(
        {"item_id": ["x"] * 3, "event_type": ["purchase"] * 3, "timestamp": [1e6] * 3}
    )
    others = pl.DataFrame(
        {"item_id": ["y", "x"], "event_type": ["view"] * 2, "timestamp": [1e6] * 2}
    )
    trending.observe_frame(pl.concat([theirs, others]))
    assert trending.top(2).item_ids == ("x", "y")
    trending.discount(theirs)
    top = trending.top(2)
    assert set(top.item_ids) == {"x", "y"}
    assert top.scores.tolist() == pytest.approx([1.0, 1.0])  # one view each is left
