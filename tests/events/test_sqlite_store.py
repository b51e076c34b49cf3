"""SQLite event store: reopening, threads, erasure on disk, group commit.

Durability across a SIGKILL is tested for every durable backend in ``test_backends.py``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shoprec.errors import StoreError
from shoprec.events import Event, SQLiteEventStore
from shoprec.types import EventType

from .group_commit import queue_behind_a_commit


def ev(user: str, item: str, t: float) -> Event:
    return Event(user_id=user, item_id=item, event_type=EventType.VIEW, timestamp=t)


def test_a_reopened_store_has_every_event_and_continues_numbering(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "events.db"  # parent folders are created
    with SQLiteEventStore(path) as store:
        store.append([ev("a", "1", 1), ev("b", "2", 2)])
        store.forget_user("b")
    with SQLiteEventStore(path) as store:
        assert store.frame()["item_id"].to_list() == ["1"]
        assert store.last_seq() == 2
        assert store.append([ev("c", "3", 3)]) == 3


def test_file_is_in_wal_mode_with_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"events_user_seq", "events_timestamp"} <= indexes
    finally:
        conn.close()


def test_a_thread_reads_what_another_thread_just_appended(tmp_path: Path) -> None:
    with SQLiteEventStore(tmp_path / "events.db") as store:
        assert store.count() == 0  # this thread's reader snapshot must not go stale
        seen: list[list[str]] = []

        def append_then_read() -> None:
            store.append([ev("u", "from-thread", 1)])
            seen.append([e.item_id for e in store.latest("u", 5)])

        worker = threading.Thread(target=append_then_read)
        worker.start()
        worker.join()
        assert seen == [["from-thread"]]
        assert [e.item_id for e in store.latest("u", 5)] == ["from-thread"]


def test_two_stores_on_one_file_see_each_others_appends(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with SQLiteEventStore(path) as first, SQLiteEventStore(path) as second:
        assert first.append([ev("u", "1", 1)]) == 1
        assert second.append([ev("u", "2", 2)]) == 2
        assert first.frame()["item_id"].to_list() == ["1", "2"]


def test_forget_user_leaves_no_trace_in_the_files(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    secret = "secret-shopper-4242"
    with SQLiteEventStore(path) as store:
        store.append([ev(secret, f"item-{k}", k) for k in range(200)] + [ev("kept", "x", 1)])
        store.frame()  # a reader connection exists, idle

        def holding_secret() -> list[str]:
            files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("events.db"))
            return [p.name for p in files if secret.encode() in p.read_bytes()]

        assert holding_secret() == ["events.db-wal"]  # committed to the log, not yet checkpointed
        assert store.forget_user(secret) == 200
        assert holding_secret() == []
        assert store.users() == ["kept"]


def test_a_tombstone_and_event_ids_leave_no_trace_of_the_id_in_the_files(tmp_path: Path) -> None:
    """#18: the tombstone must not keep the very id the shopper asked to have forgotten."""
    path = tmp_path / "events.db"
    secret = "secret-shopper-9090"
    with SQLiteEventStore(path) as store:
        events = [
            ev(secret, f"item-{k}", k).model_copy(update={"event_id": f"{secret}-{k}"})
            for k in range(50)
        ]
        store.append_new(events)
        store.tombstone(secret)
        assert store.forget_user(secret) == 50
        assert store.append_new(events[:1]).new == 0  # still refused: the tombstone holds
        assert store.forgotten([secret]) == {secret}
        files = [p for p in tmp_path.iterdir() if p.name.startswith("events.db")]
        assert files and all(secret.encode() not in p.read_bytes() for p in files)


def test_a_store_written_at_schema_1_gains_the_new_tables(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
        " item_id TEXT NOT NULL, event_type TEXT NOT NULL, timestamp REAL NOT NULL,"
        " value REAL, session_id TEXT, context TEXT);"
        "INSERT INTO events (user_id, item_id, event_type, timestamp) VALUES ('u', 'i', 'view', 1);"
        "PRAGMA user_version = 1;"
    )
    conn.close()
    with SQLiteEventStore(path) as store:
        store.tombstone("u")
        assert store.append_new([ev("u", "j", 2)]).new == 0
        assert store.count() == 1


def three_batches() -> list[list[Event]]:
    return [[ev(f"t{k}", f"{k}-{j}", j) for j in range(3)] for k in range(3)]


def test_batches_queued_during_a_commit_share_the_next_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteEventStore(tmp_path / "events.db") as store:
        commits: list[int] = []
        real = store._db.transaction

        @contextmanager
        def counted() -> Iterator[sqlite3.Connection]:
            with real() as conn:
                yield conn
            commits.append(1)

        monkeypatch.setattr(store._db, "transaction", counted)
        outcomes = queue_behind_a_commit(store, three_batches())
        assert len(commits) == 1
        lasts = {k: v for k, v in outcomes.items() if isinstance(v, int)}
        assert sorted(lasts.values()) == [3, 6, 9]
        log = store.since(0)
        for k, last in lasts.items():
            assert log.slice(last - 3, 3)["item_id"].to_list() == [f"{k}-{j}" for j in range(3)]


def test_a_bad_batch_in_a_group_commit_fails_alone(tmp_path: Path) -> None:
    """#18: one client's unstorable batch used to fail every batch sharing its transaction."""
    store = SQLiteEventStore(tmp_path / "events.db")
    batches = [list(batch) for batch in three_batches()]
    # Text SQLite cannot encode (a lone surrogate), as if it slipped past validation.
    batches[1][2] = Event.model_construct(**{**batches[1][2].model_dump(), "item_id": "\ud800"})
    outcomes = queue_behind_a_commit(store, batches)
    assert isinstance(outcomes[1], StoreError) and "surrogate" in str(outcomes[1])
    assert sorted(v for v in outcomes.values() if isinstance(v, int)) == [3, 6]
    assert store.count() == 6 and "\ud800" not in store.frame()["item_id"].to_list()
    store.close()


def test_a_failed_group_commit_fails_every_batch_in_it(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.db")
    outcomes = queue_behind_a_commit(store, three_batches(), meanwhile=store.close)
    assert len(outcomes) == 3
    assert all(isinstance(o, StoreError) and "closed" in str(o) for o in outcomes.values())
    with SQLiteEventStore(tmp_path / "events.db") as reopened:
        assert reopened.count() == 0
