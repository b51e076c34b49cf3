"""EventStore contract: every backend (memory, SQLite, PostgreSQL) passes the same suite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from shoprec.data import EVENT_SCHEMA
from shoprec.errors import StoreError, ValidationError
from shoprec.events import (
    SEQ_EVENT_SCHEMA,
    Event,
    EventStore,
    MemoryEventStore,
    PostgresEventStore,
    SQLiteEventStore,
)
from shoprec.types import EventType

from .group_commit import race


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    backend: EventStore
    if request.param == "memory":
        backend = MemoryEventStore()
    elif request.param == "sqlite":
        backend = SQLiteEventStore(tmp_path / "ev.db")
    else:
        backend = PostgresEventStore(request.getfixturevalue("postgres_url"))
    yield backend
    backend.close()


def ev(user: str, item: str, t: float, kind: str = "view", **extra: object) -> Event:
    fields = {"user_id": user, "item_id": item, "event_type": kind, "timestamp": t}
    return Event.model_validate(fields | extra)


def items_of(frame: pl.DataFrame) -> list[str]:
    return frame["item_id"].to_list()


def test_backends_implement_the_protocol(store: EventStore) -> None:
    assert isinstance(store, EventStore)


def test_events_round_trip_through_frame_and_latest(store: EventStore) -> None:
    events = [
        ev("u1", "i1", 1_700_000_000.123456, "view", session_id="s1", context={"page": "home"}),
        ev("u2", "i2", 1_700_000_001.5, "purchase", value=2.0, context={"q": ["a", 1, None]}),
        ev("u1", "i3", 1_700_000_002.0, "rating", value=4.5),
    ]
    assert store.append(events) == 3
    expected = pl.DataFrame([e.to_row() for e in events], schema=EVENT_SCHEMA, orient="row")
    assert store.frame().equals(expected)
    assert store.frame()["context"].to_list() == ['{"page":"home"}', '{"q":["a",1,null]}', None]
    assert store.latest("u1", 10) == [events[0], events[2]]
    assert store.count() == 3


def test_frame_batch_gets_defaults_and_extra_columns_are_ignored(store: EventStore) -> None:
    batch = pl.DataFrame(
        {"user_id": [1, 2], "item_id": ["a", "b"], "event_type": ["click", "view"], "x": [0, 0]}
    )
    before = time.time()
    store.append(batch)
    after = time.time()
    frame = store.frame()
    assert frame.schema == pl.Schema(EVENT_SCHEMA)
    assert frame["user_id"].to_list() == ["1", "2"]
    assert all(before <= t <= after for t in frame["timestamp"].to_list())
    assert frame["value"].null_count() == 2
    assert frame["context"].null_count() == 2


def test_sequence_numbers_are_consecutive_per_batch_and_never_reused(store: EventStore) -> None:
    assert store.last_seq() == 0
    assert store.append([ev("a", "1", 1), ev("a", "2", 2), ev("b", "3", 3)]) == 3
    assert store.append([ev("c", "4", 4), ev("c", "5", 5)]) == 5
    assert store.append([]) == 5
    assert store.forget_user("c") == 2  # the newest events go...
    assert store.last_seq() == 5  # ...but their numbers stay spent
    assert store.append([ev("d", "6", 6)]) == 6
    assert store.since(0)["seq"].to_list() == [1, 2, 3, 6]


def test_latest_returns_the_newest_n_oldest_first(store: EventStore) -> None:
    for k in range(10):
        store.append([ev("a", f"a{k}", 100 - k), ev("b", f"b{k}", k)])
    assert [e.item_id for e in store.latest("a", 3)] == ["a7", "a8", "a9"]
    assert [e.item_id for e in store.latest("a", 50)] == [f"a{k}" for k in range(10)]
    assert store.latest("a", 0) == []
    assert store.latest("nobody", 5) == []
    with pytest.raises(ValueError, match="n must be >= 0"):
        store.latest("a", -1)


def test_tail_is_latest_with_sequence_numbers(store: EventStore) -> None:
    store.append([ev("a", "a0", 5), ev("b", "b0", 1)])
    store.append([ev("a", "a1", 3, context={"k": 1}), ev("b", "b1", 2), ev("a", "a2", 1)])
    tail = store.tail("a", 2)
    assert tail.schema == pl.Schema(SEQ_EVENT_SCHEMA)
    assert tail["seq"].to_list() == [3, 5]
    assert items_of(tail) == ["a1", "a2"]
    assert tail.drop("seq").rows() == [e.to_row() for e in store.latest("a", 2)]
    assert store.tail("a", 10)["seq"].to_list() == [1, 3, 5]
    assert store.tail("a", 0).schema == pl.Schema(SEQ_EVENT_SCHEMA)
    assert store.tail("a", 0).is_empty() and store.tail("nobody", 3).is_empty()
    with pytest.raises(ValueError, match="n must be >= 0"):
        store.tail("a", -1)


def test_recent_histories_hold_the_last_n_events_of_the_most_recent_users(
    store: EventStore,
) -> None:
    # Append order, not timestamps, decides recency: "c" acts last, then "a", then "b".
    store.append([ev("a", "a0", 9), ev("b", "b0", 1), ev("c", "c0", 1)])
    store.append([ev("a", "a1", 8), ev("b", "b1", 2), ev("a", "a2", 7), ev("c", "c1", 3)])
    frame = store.recent_histories(2, 2)
    assert frame.schema == pl.Schema(EVENT_SCHEMA)
    assert items_of(frame) == ["c0", "a1", "a2", "c1"]  # seq order; "b" is the least recent
    assert items_of(store.recent_histories(5, 1)) == ["b1", "a2", "c1"]
    assert store.recent_histories(0, 3).is_empty() and store.recent_histories(3, 0).is_empty()
    with pytest.raises(ValueError, match="must be >= 0"):
        store.recent_histories(-1, 1)


def test_range_is_half_open_and_ordered_by_time_then_seq(store: EventStore) -> None:
    store.append([ev("u", "t30", 30), ev("u", "t10a", 10), ev("u", "t20", 20)])
    store.append([ev("u", "t10b", 10), ev("u", "t40", 40), ev("u", "t9", 9.999)])
    assert items_of(store.range(10, 30)) == ["t10a", "t10b", "t20"]
    assert items_of(store.range(0, 100)) == ["t9", "t10a", "t10b", "t20", "t30", "t40"]
    assert store.range(50, 60).schema == pl.Schema(EVENT_SCHEMA)
    assert store.range(50, 60).height == 0


def test_since_tails_the_log_in_pages(store: EventStore) -> None:
    store.append([ev("u", str(k), k) for k in range(5)])
    first = store.since(0, limit=2)
    assert first.schema == pl.Schema(SEQ_EVENT_SCHEMA)
    assert first["seq"].to_list() == [1, 2]
    assert store.since(2)["seq"].to_list() == [3, 4, 5]
    assert items_of(store.since(2)) == ["2", "3", "4"]
    assert store.since(5).height == 0
    assert store.since(0, limit=0).height == 0
    with pytest.raises(ValueError, match="limit"):
        store.since(0, limit=-1)


def test_users_are_listed_by_first_event(store: EventStore) -> None:
    store.append([ev("zed", "1", 1), ev("amy", "2", 2), ev("zed", "3", 3), ev("bob", "4", 4)])
    assert store.users() == ["zed", "amy", "bob"]


def test_forget_user_deletes_every_event_of_that_user_only(store: EventStore) -> None:
    store.append([ev("gone", "1", 1), ev("kept", "2", 2)])
    store.append([ev("gone", "3", 3), ev("kept", "4", 4), ev("gone", "5", 5)])
    assert store.forget_user("gone") == 3
    assert items_of(store.frame()) == ["2", "4"]
    assert store.latest("gone", 10) == []
    assert store.users() == ["kept"]
    assert store.count() == 2
    assert store.forget_user("gone") == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"user_id": ["a", None], "item_id": ["x", "y"], "event_type": ["view", "view"]},
        {"user_id": ["a", "b"], "item_id": ["x", "y"], "event_type": ["view", "teleport"]},
        {"user_id": ["a", "b"], "event_type": ["view", "view"]},
        {"user_id": ["a"], "item_id": ["x"], "event_type": ["view"], "timestamp": [float("inf")]},
    ],
    ids=["null-user", "unknown-type", "no-item-column", "infinite-time"],
)
def test_a_rejected_batch_leaves_the_store_unchanged(
    store: EventStore, bad: dict[str, list[object]]
) -> None:
    store.append([ev("u", "before", 1)])
    before = store.since(0)
    with pytest.raises(ValidationError):
        store.append(pl.DataFrame(bad))
    assert store.since(0).equals(before)
    assert store.last_seq() == 1
    assert store.append([ev("u", "after", 2)]) == 2  # no number was consumed by the reject


def test_closed_store_refuses_every_call(store: EventStore) -> None:
    store.append([ev("u", "1", 1)])
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.append([ev("u", "2", 2)])
    with pytest.raises(StoreError, match="closed"):
        store.frame()
    with pytest.raises(StoreError, match="closed"):
        store.latest("u", 1)


def test_concurrent_appends_keep_every_batch_whole_and_numbered(store: EventStore) -> None:
    n_threads, n_batches, size = 4, 15, 10
    acks: dict[int, tuple[int, int]] = {}  # last seq of a batch -> (thread, batch)
    torn: list[int] = []

    def write(t: int) -> None:
        for b in range(n_batches):
            batch = [ev(f"t{t}", f"{b}-{j}", b * size + j) for j in range(size)]
            acks[store.append(batch)] = (t, b)

    def read(writing: threading.Event) -> None:
        while writing.is_set():
            seen = store.count()  # one consistent snapshot: whole batches only
            if seen % size:
                torn.append(seen)

    race(write, read, n_threads)

    total = n_threads * n_batches * size
    log = store.since(0)
    assert log["seq"].to_list() == list(range(1, total + 1))
    assert sorted(acks) == list(range(size, total + 1, size))
    for last, (t, b) in acks.items():
        block = log.slice(last - size, size)
        assert block["user_id"].to_list() == [f"t{t}"] * size
        assert items_of(block) == [f"{b}-{j}" for j in range(size)]
    assert torn == []
    for t in range(n_threads):  # each thread's batches are in its own order
        assert [e.item_id for e in store.latest(f"t{t}", 2)] == [
            f"{n_batches - 1}-8",
            f"{n_batches - 1}-9",
        ]


def test_event_types_are_stored_by_value(store: EventStore) -> None:
    # A redemption names its coupon (#21).
    coupon = {"context": {"coupon_id": "c1"}}
    store.append(
        [
            ev("u", str(k), k, kind.value, **(coupon if kind is EventType.COUPON_REDEEM else {}))
            for k, kind in enumerate(EventType)
        ]
    )
    assert store.frame()["event_type"].to_list() == [k.value for k in EventType]


# -- #18: idempotent events and tombstones ---------------------------------------------------


def test_a_resent_event_id_is_acknowledged_and_stored_once(store: EventStore) -> None:
    """#18: a client's retry after a timeout used to store the event twice."""
    first = store.append_new([ev("u", "a", 1, event_id="e-1"), ev("u", "b", 2)])
    assert first.last_seq == 2 and [e.item_id for e in first.events] == ["a", "b"]
    retry = store.append_new([ev("u", "a", 1, event_id="e-1")])
    assert retry.new == 0 and retry.events == ()
    assert retry.last_seq == 2  # nothing new: the store's last number
    assert store.append([ev("u", "a", 1, event_id="e-1")]) == 2  # append filters the same way
    assert items_of(store.frame()) == ["a", "b"]


def test_only_the_new_events_of_a_batch_are_stored_with_consecutive_numbers(
    store: EventStore,
) -> None:
    """#18: a repeat within a batch is stored once; the stored events hold the numbers."""
    store.append_new([ev("u", "old", 1, event_id="e-old")])
    batch = [
        ev("u", "x", 2, event_id="e-x"),
        ev("u", "old", 1, event_id="e-old"),
        ev("u", "x", 2, event_id="e-x"),
        ev("v", "y", 3),
        ev("v", "y", 3),  # no id: two events, both stored
    ]
    appended = store.append_new(batch)
    assert appended.events == (batch[0], batch[3], batch[4])
    assert appended.last_seq == 4
    since = store.since(1)
    assert since["seq"].to_list() == [2, 3, 4]
    assert items_of(since) == ["x", "y", "y"]


def test_concurrent_appends_of_one_event_id_store_it_once(store: EventStore) -> None:
    """#18: two threads (or replicas) sending the same id both get an ack, one row is stored."""
    n_threads = 8
    start = threading.Barrier(n_threads)
    news: list[int] = []
    errors: list[BaseException] = []

    def send(t: int) -> None:
        start.wait()
        try:
            news.append(
                store.append_new([ev("u", "same", 1, event_id="dup"), ev(f"t{t}", "x", t)]).new
            )
        except BaseException as error:  # pragma: no cover - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(news) == [1] * (n_threads - 1) + [2]  # every thread acknowledged, one stored it
    assert items_of(store.frame()).count("same") == 1
    assert store.count() == n_threads + 1


def test_forget_user_deletes_the_event_ids_too(store: EventStore) -> None:
    """#18: a forgotten shopper's event ids go with their events."""
    store.append_new([ev("gone", "a", 1, event_id="g-1"), ev("kept", "b", 2, event_id="k-1")])
    store.forget_user("gone")
    # Once their id rows are gone, the same ids are new again; the kept shopper's are not.
    again = store.append_new(
        [ev("gone", "a", 1, event_id="g-1"), ev("kept", "b", 2, event_id="k-1")]
    )
    assert [e.user_id for e in again.events] == ["gone"]


def test_a_tombstoned_shopper_is_not_stored_again_until_untombstoned(store: EventStore) -> None:
    """#18: a tombstone keeps ingest and re-imports from bringing a forgotten shopper back."""
    store.append([ev("gone", "a", 1), ev("kept", "b", 2)])
    assert store.forgotten(["gone", "kept"]) == set()
    store.tombstone("gone")
    store.tombstone("gone")  # idempotent
    assert store.forget_user("gone") == 1
    assert store.forgotten(["gone", "kept", "nobody"]) == {"gone"}
    appended = store.append_new([ev("gone", "c", 3), ev("kept", "d", 4), ev("gone", "e", 5)])
    assert [e.item_id for e in appended.events] == ["d"] and appended.last_seq == 3
    frame = pl.DataFrame({"user_id": ["gone", "kept"], "item_id": ["f", "g"], "event_type": "view"})
    store.append(frame)
    store.append_many([frame, [ev("gone", "h", 6)]])
    assert store.latest("gone", 10) == [] and store.users() == ["kept"]
    assert store.untombstone("gone") is True
    assert store.untombstone("gone") is False
    store.append([ev("gone", "back", 7)])
    assert [e.item_id for e in store.latest("gone", 10)] == ["back"]


def test_an_append_racing_a_forget_never_brings_the_shopper_back(store: EventStore) -> None:
    """#18: events stored while a forget runs are either deleted by it or dropped after it."""
    writing = threading.Event()
    writing.set()
    acked: list[int] = []

    def write() -> None:
        k = 0
        while writing.is_set():
            acked.append(store.append_new([ev("gone", f"i{k}", k), ev("kept", f"i{k}", k)]).new)
            k += 1

    writer = threading.Thread(target=write)
    writer.start()
    while len(acked) < 5:
        time.sleep(0.001)
    store.tombstone("gone")
    store.forget_user("gone")
    dropped_from = len(acked)
    while len(acked) < dropped_from + 5:
        time.sleep(0.001)
    writing.clear()
    writer.join()
    assert store.latest("gone", 1_000) == []
    assert acked[:5] == [2] * 5 and acked[-1] == 1  # both stored before; only "kept" after
    assert store.users() == ["kept"]
