from __future__ import annotations

import polars as pl

from shoprec.events import Event
from shoprec.retrieval import Trending
from shoprec.types import EventType

HOUR = 3600.0


def test_recent_events_outweigh_older_ones() -> None:
    trending = Trending(1.0, {"view": 1.0, "purchase": 4.0}, resort_interval_s=0.0, now=0.0)
    frame = pl.DataFrame(
        {
            "item_id": ["old"] * 3 + ["new"] * 2,
            "event_type": ["view"] * 5,
            "timestamp": [-2 * HOUR] * 3 + [0.0] * 2,
        }
    )
    trending.observe_frame(frame)  # old: 3 * 0.25 = 0.75; new: 2
    assert trending.top(2).item_ids == ("new", "old")
    assert trending.top(2).scores.tolist() == [1.0, 0.375]
    trending.observe(
        [Event(user_id="u", item_id="old", event_type=EventType.PURCHASE, timestamp=0.0)]
    )
    assert trending.top(1).item_ids == ("old",)  # 0.75 + 4


def test_exclusions_predicates_and_far_future_rebase() -> None:
    trending = Trending(1.0, {}, resort_interval_s=0.0, now=0.0)
    late = 1000 * HOUR  # far past the rebase threshold: no overflow, order kept
    events = [
        Event(user_id="u", item_id=i, event_type=EventType.VIEW, timestamp=late) for i in "aab"
    ]
    trending.observe(events)
    assert trending.top(3).item_ids == ("a", "b")
    assert trending.top(3, exclude={"a"}).item_ids == ("b",)
    assert trending.top(3, keep=lambda i: i != "b").item_ids == ("a",)
