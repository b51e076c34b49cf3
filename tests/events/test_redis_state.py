"""Live shopper state in Redis: the same contract as in memory, shared, exactly once, in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from conftest import RedisServer
from shoprec.events import (
    Event,
    EventStore,
    MemoryEventStore,
    MemoryStateStore,
    RedisStateStore,
    StateStore,
    connect_redis,
)
from shoprec.types import EventType

StateFactory = Callable[[EventStore, int], StateStore]


def _event(user: str, item: str, kind: EventType, t: float, session: str | None = None) -> Event:
    return Event(user_id=user, item_id=item, event_type=kind, timestamp=t, session_id=session)


def _ingest(store: EventStore, states: list[StateStore], events: list[Event]) -> None:
    """What the service does: append durably, then apply with the batch's sequence numbers."""
    last_seq = store.append(events)
    for state in states:
        state.apply(events, last_seq)


@pytest.fixture(params=["memory", "redis"])
def make_state(request: pytest.FixtureRequest) -> StateFactory:
    if request.param == "memory":
        return lambda store, length: MemoryStateStore(store, history_length=length)
    url = request.getfixturevalue("redis_url")
    return lambda store, length: RedisStateStore(connect_redis(url), store, history_length=length)


def test_state_is_rebuilt_from_the_store_and_updated_by_events(make_state: StateFactory) -> None:
    store = MemoryEventStore()
    store.append(
        [
            _event("u", "a", EventType.ADDTOCART, 1),
            _event("u", "b", EventType.ADDTOCART, 2, session="s1"),
            _event("u", "a", EventType.PURCHASE, 3),
        ]
    )
    state = make_state(store, 3)
    s = state.get("u")
    assert [e.item_id for e in s.history] == ["a", "b", "a"]
    assert s.cart == ("b",) and s.purchased == {"a"} and s.session_id == "s1"
    _ingest(
        store,
        [state],
        [_event("u", "c", EventType.VIEW, 4), _event("u", "b", EventType.REMOVEFROMCART, 5)],
    )
    s = state.get("u")
    assert [e.item_id for e in s.history] == ["a", "c", "b"]  # capped at 3, oldest dropped
    assert [e.event_type for e in s.history] == ["purchase", "view", "removefromcart"]
    assert s.cart == () and s.purchased == {"a"}
    assert state.size() == 1
    state.forget("u")
    store.forget_user("u")
    assert state.get("u").history == ()


def test_an_event_applied_on_one_replica_is_read_on_the_other(redis_url: str) -> None:
    store = MemoryEventStore()
    a = RedisStateStore(connect_redis(redis_url), store)
    b = RedisStateStore(connect_redis(redis_url), store)
    assert b.get("u").history == ()
    _ingest(store, [a], [_event("u", "x", EventType.ADDTOCART, 1)])
    assert b.get("u").cart == ("x",)
    _ingest(store, [b], [_event("u", "x", EventType.PURCHASE, 2)])
    assert a.get("u").cart == () and a.get("u").purchased == {"x"}


def test_redelivered_and_out_of_order_batches_apply_once_in_order(make_state: StateFactory) -> None:
    """#18: the live cart must equal the stored one, whatever order racing batches arrive in."""
    store = MemoryEventStore()
    state = make_state(store, 10)
    state.get("u")  # complete (empty) state
    first = [_event("u", "a", EventType.ADDTOCART, 1)]
    second = [_event("u", "a", EventType.REMOVEFROMCART, 2)]
    third = [_event("u", "b", EventType.ADDTOCART, 3)]
    seqs = [store.append(batch) for batch in (first, second, third)]
    state.apply(second, seqs[1])  # two requests raced: the later batch is applied first
    state.apply(first, seqs[0])
    state.apply(third, seqs[2])
    state.apply(second, seqs[1])  # a re-delivery
    s = state.get("u")
    assert [e.event_type for e in s.history] == ["addtocart", "removefromcart", "addtocart"]
    assert s.cart == ("b",)  # as in the store: a added, removed; b added


def test_an_event_applied_while_the_state_is_rebuilt_is_kept(redis_url: str) -> None:
    store = MemoryEventStore()
    store.append([_event("u", "a", EventType.VIEW, 1)])
    state = RedisStateStore(connect_redis(redis_url), store)
    tail = store.tail
    racing = [_event("u", "b", EventType.ADDTOCART, 2)]

    def tail_then_race(user_id: str, n: int):  # type: ignore[no-untyped-def]
        frame = tail(user_id, n)  # the store read misses the racing event ...
        _ingest(store, [state], racing)  # ... which is committed and applied right after
        return frame

    store.tail = tail_then_race  # type: ignore[method-assign]
    s = state.get("u")
    assert [e.item_id for e in s.history] == ["a", "b"] and s.cart == ("b",)
    store.tail = tail  # type: ignore[method-assign]
    assert state.get("u") == s


def test_concurrent_ingest_on_two_replicas_loses_nothing(redis_url: str) -> None:
    store = MemoryEventStore()
    replicas = [RedisStateStore(connect_redis(redis_url), store, history_length=500) for _ in "ab"]

    def send(state: RedisStateStore, offset: int) -> None:
        for i in range(100):
            _ingest(store, [state], [_event("u", f"i{offset + i}", EventType.VIEW, i)])

    threads = [threading.Thread(target=send, args=(r, 1000 * k)) for k, r in enumerate(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = [e.item_id for e in replicas[0].get("u").history]
    assert sorted(seen) == sorted(f"i{k * 1000 + i}" for k in range(2) for i in range(100))
    stored = store.tail("u", 500)["item_id"].to_list()
    assert seen == stored  # in store (sequence) order


def test_answers_from_what_it_has_while_redis_is_down(redis_server: RedisServer) -> None:
    store = MemoryEventStore()
    state = RedisStateStore(connect_redis(redis_server.url), store)
    _ingest(store, [state], [_event("u", "a", EventType.ADDTOCART, 1)])
    _ingest(store, [state], [_event("w", "z", EventType.VIEW, 1)])
    assert state.get("u").cart == ("a",)
    redis_server.stop()
    assert state.get("u").cart == ("a",)  # the copy this process last read
    assert [e.item_id for e in state.get("w").history] == ["z"]  # rebuilt from the store
    # An event acknowledged during the outage is durable, and not lost from live state:
    _ingest(store, [state], [_event("u", "b", EventType.ADDTOCART, 2)])
    redis_server.start()  # empty after the restart: rebuilt from the store
    assert state.get("u").cart == ("a", "b")
    assert state.size() == 1


def test_stale_shoppers_are_invalidated_when_redis_returns_with_its_data(
    redis_server: RedisServer,
) -> None:
    store = MemoryEventStore()
    state = RedisStateStore(connect_redis(redis_server.url), store)
    _ingest(store, [state], [_event("u", "a", EventType.ADDTOCART, 1)])
    assert state.get("u").cart == ("a",)
    # Redis stops taking writes for a while but keeps its data (as in a network partition):
    # the event is durable in the store, its apply times out.
    admin = redis.Redis.from_url(redis_server.url)
    admin.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    _ingest(store, [state], [_event("u", "b", EventType.ADDTOCART, 2)])
    time.sleep(1.6)
    assert state.get("u").cart == ("a", "b")  # the stale value was dropped and rebuilt
    admin.close()


@pytest.mark.parametrize("read_between", [False, True], ids=["no-read", "read-between"])
def test_an_apply_trailing_a_forget_does_not_bring_the_state_back(
    make_state: StateFactory, read_between: bool
) -> None:
    """#18: a batch stored just before the forget, applied just after, revived the shopper."""
    store = MemoryEventStore()
    state = make_state(store, 10)
    _ingest(store, [state], [_event("gone", "a", EventType.ADDTOCART, 1)])
    assert state.get("gone").cart == ("a",)
    late = store.append_new([_event("gone", "b", EventType.ADDTOCART, 2)])  # not applied yet
    store.tombstone("gone")
    store.forget_user("gone")
    state.forget("gone")
    if read_between:
        assert state.get("gone").history == ()
    state.apply(late.events, late.last_seq)  # the ingest's apply arrives after the forget
    assert state.get("gone").history == ()
    assert state.get("gone").cart == ()
    # The guard is only for what the forget deleted: after an un-forget, events apply again.
    store.untombstone("gone")
    _ingest(store, [state], [_event("gone", "c", EventType.VIEW, 3)])
    assert [e.item_id for e in state.get("gone").history] == ["c"]


def test_redis_keeps_no_key_naming_a_forgotten_shopper(redis_url: str) -> None:
    """#18: after a forget, and an apply trailing it, no Redis key or value holds the id."""
    store = MemoryEventStore()
    state = RedisStateStore(connect_redis(redis_url), store)
    _ingest(store, [state], [_event("gone-4711", "a", EventType.VIEW, 1)])
    late = store.append_new([_event("gone-4711", "b", EventType.VIEW, 2)])
    store.tombstone("gone-4711")
    store.forget_user("gone-4711")
    state.forget("gone-4711")
    state.apply(late.events, late.last_seq)
    server, _, query = redis_url.partition("?")
    client = redis.Redis.from_url(server)
    prefix = query.partition("prefix=")[2]
    keys = list(client.scan_iter(match=f"{prefix}*"))
    assert keys  # the forget mark (a hash of the id) and the active set are there ...
    for key in keys:
        dump = client.dump(key) or b""
        assert b"gone-4711" not in key + dump  # ... and neither names the shopper
    client.close()
