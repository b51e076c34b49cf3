from __future__ import annotations

from shoprec.events import Event, MemoryEventStore, MemoryStateStore
from shoprec.types import EventType


def _event(user: str, item: str, kind: EventType, t: float, session: str | None = None) -> Event:
    return Event(user_id=user, item_id=item, event_type=kind, timestamp=t, session_id=session)


def test_state_is_rebuilt_from_the_store_and_updated_by_events() -> None:
    store = MemoryEventStore()
    stored = [
        _event("u", "a", EventType.ADDTOCART, 1),
        _event("u", "b", EventType.ADDTOCART, 2),
        _event("u", "a", EventType.PURCHASE, 3),
    ]
    store.append(stored)
    state = MemoryStateStore(store, history_length=3)
    s = state.get("u")
    assert [e.item_id for e in s.history] == ["a", "b", "a"]
    assert s.cart == ("b",) and s.purchased == {"a"}
    new = [_event("u", "c", EventType.VIEW, 4), _event("u", "b", EventType.REMOVEFROMCART, 5)]
    state.apply(new, store.append(new))
    s = state.get("u")
    assert [e.item_id for e in s.history] == ["a", "c", "b"]  # capped at 3, oldest dropped
    assert s.cart == ()
    assert state.size() == 1
    state.forget("u")
    assert state.size() == 0


def test_a_shopper_loaded_after_the_commit_is_not_counted_twice() -> None:
    store = MemoryEventStore()
    batch = [_event("v", "a", EventType.VIEW, 1)]
    last_seq = store.append(batch)
    state = MemoryStateStore(store)
    state.get("v")  # loaded from the store, which already holds the batch
    state.apply(batch, last_seq)  # the ingest path then applies it
    assert [e.item_id for e in state.get("v").history] == ["a"]


def test_unloaded_shoppers_are_read_from_the_store_on_demand() -> None:
    store = MemoryEventStore()
    state = MemoryStateStore(store, capacity=1)
    store.append([_event("x", "a", EventType.VIEW, 1), _event("y", "b", EventType.VIEW, 1)])
    assert state.get("x").history[0].item_id == "a"
    assert state.get("y").history[0].item_id == "b"
    assert state.size() == 1  # x was evicted; it comes back from the store
    assert state.get("x").history[0].item_id == "a"


def test_preload_rebuilds_the_most_recent_shoppers_in_one_read() -> None:
    store = MemoryEventStore()
    store.append(
        [
            _event("old", "z", EventType.VIEW, 1),
            _event("u", "a", EventType.ADDTOCART, 2),
            _event("w", "c", EventType.VIEW, 2),
            _event("u", "b", EventType.ADDTOCART, 3),
            _event("u", "a", EventType.PURCHASE, 4, session="s1"),
        ]
    )
    lazy = MemoryStateStore(store, history_length=2)
    expected = lazy.get("u")
    reads: list[str] = []
    tail = store.tail
    store.tail = lambda user, n: reads.append(user) or tail(user, n)  # type: ignore[method-assign]
    state = MemoryStateStore(store, history_length=2, capacity=2)
    assert state.preload() == 2  # "old" is beyond the capacity
    assert state.get("u") == expected  # same history (capped at 2), cart, purchases, session
    assert state.get("u").session_id == "s1" and state.get("w").history[0].item_id == "c"
    assert reads == []  # served from memory, no per-shopper read
    later = [_event("u", "d", EventType.VIEW, 5)]
    state.apply(later, store.append(later))
    assert [e.item_id for e in state.get("u").history] == ["a", "d"]
    state.get("old")  # read on demand, evicting the least recently used ("w": "u" was just used)
    assert reads == ["old"] and state.size() == 2
    state.get("u")
    assert reads == ["old"]
