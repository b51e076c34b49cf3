from __future__ import annotations

from shoprec.events import Event
from shoprec.serving import Experiment
from shoprec.types import EventType


def test_assignment_is_stable_and_follows_weights() -> None:
    experiment = Experiment([("a", 3.0), ("b", 1.0)], salt="s")
    assigned = [experiment.assign(f"user-{i}") for i in range(4000)]
    assert assigned == [experiment.assign(f"user-{i}") for i in range(4000)]
    share = assigned.count("a") / len(assigned)
    assert 0.72 < share < 0.78
    other = Experiment([("a", 3.0), ("b", 1.0)], salt="t")
    assert assigned != [other.assign(f"user-{i}") for i in range(4000)]


def test_clicks_and_conversions_count_once_per_response() -> None:
    experiment = Experiment([("only", 1.0)])
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
