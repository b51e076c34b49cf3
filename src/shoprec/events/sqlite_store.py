"""The embedded durable event store: one SQLite file in WAL mode, batches group-committed."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from shoprec.data import EVENT_SCHEMA
from shoprec.errors import StoreError
from shoprec.types import UserId

from .database import Database
from .schema import Event, EventRow
from .store import (
    SEQ_EVENT_SCHEMA,
    Appended,
    ClosingStore,
    admit,
    client_ids,
    forgotten_among,
    tombstone_key,
)
from .validation import event_rows

# AUTOINCREMENT: sequence numbers are never reused, even after the newest events are deleted,
# so a reader tailing with since(seq) never mistakes a new event for one it has seen.
_DDL = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    value REAL,
    session_id TEXT,
    context TEXT
);
CREATE INDEX IF NOT EXISTS events_user_seq ON events (user_id, seq);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
CREATE TABLE IF NOT EXISTS event_ids (
    event_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS event_ids_seq ON event_ids (seq);
CREATE TABLE IF NOT EXISTS forgotten_users (user_key TEXT PRIMARY KEY)
"""
_COLUMNS = ", ".join(EVENT_SCHEMA)
_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * len(EVENT_SCHEMA))})"
_LAST_SEQ = "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
# Lists travel as one JSON parameter: no limit on the number of SQL variables to hit.
_FORGOTTEN = (
    "SELECT user_key FROM forgotten_users WHERE user_key IN (SELECT value FROM json_each(?))"
)
_KNOWN_IDS = "SELECT event_id FROM event_ids WHERE event_id IN (SELECT value FROM json_each(?))"
_INSERT_ID = "INSERT INTO event_ids (event_id, seq) VALUES (?, ?)"


@dataclass
class _Pending:
    """A validated batch waiting for a commit, and what became of it."""

    rows: list[EventRow]
    ids: list[str | None]
    done: bool = False
    last_seq: int = 0
    kept: list[int] | None = None  # positions of the rows stored
    error: BaseException | None = None


def _lookup(conn: sqlite3.Connection, sql: str, values: list[str]) -> list[str]:
    """The ``values`` a one-column ``json_each`` query (:data:`_FORGOTTEN`, ...) finds."""
    return [row[0] for row in conn.execute(sql, (json.dumps(values),))]


def _write(conn: sqlite3.Connection, rows: list[EventRow], ids: list[str | None]) -> list[int]:
    """Insert a batch's admitted rows and their ids in the open transaction; their positions.

    The checks read the same transaction that writes (``BEGIN IMMEDIATE`` holds the file's
    write lock), so no other writer, in this process or another, slips in between.
    """
    forgotten = forgotten_among(
        (row[0] for row in rows), lambda keys: _lookup(conn, _FORGOTTEN, keys)
    )
    given = [i for i in ids if i is not None]
    known = set(_lookup(conn, _KNOWN_IDS, given)) if given else set()
    kept = admit(rows, ids, forgotten, known)
    if not kept:
        return kept
    conn.executemany(_INSERT, [rows[i] for i in kept])
    # AUTOINCREMENT under the write lock: the rows just inserted hold the numbers ending here.
    first = _last_seq(conn) - len(kept) + 1
    conn.executemany(
        _INSERT_ID,
        [(ids[i], seq) for seq, i in enumerate(kept, start=first) if ids[i] is not None],
    )
    return kept


def _last_seq(conn: sqlite3.Connection) -> int:
    found = conn.execute(_LAST_SEQ).fetchone()
    return int(found[0]) if found else 0


class SQLiteEventStore(ClosingStore):
    """An :class:`~shoprec.events.EventStore` in one SQLite file: durable, thread-safe, embedded.

    :meth:`append` returns after SQLite has fsynced the write-ahead log (``synchronous=FULL``),
    so an acknowledged batch survives a crash. Batches appended by several threads while a
    commit is in flight share the next transaction and its one fsync (group commit); each
    batch stays atomic and gets consecutive sequence numbers. Several processes may open the
    same file; writes are serialised by SQLite's lock. The catalogue
    (:class:`~shoprec.events.SQLiteCatalog`) may live in the same file.

    Args:
        path: The database file; created if missing.

    Raises:
        StoreError: The file cannot be opened as a shoprec store.
    """

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path, _DDL)
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The database file."""
        return self._db.path

    def append(self, events: pl.DataFrame | Sequence[Event]) -> int:
        """Validate and durably store a batch atomically (see ``EventStore.append``)."""
        return self._commit(events).last_seq

    def append_new(self, events: Sequence[Event]) -> Appended:
        """Durably store the batch's new events (see ``EventStore.append_new``)."""
        pending = self._commit(events)
        return Appended(pending.last_seq, tuple(events[i] for i in pending.kept or ()))

    def _commit(self, events: pl.DataFrame | Sequence[Event]) -> _Pending:
        """Queue a validated batch, see it committed (group commit) and return its outcome."""
        pending = _Pending(event_rows(events, now=time.time()), client_ids(events))
        with self._queue_lock:
            self._queue.append(pending)
        with self._commit_lock:
            # Whoever gets the lock commits everything queued so far; a batch queued while an
            # earlier commit was fsyncing may already be done by the time its thread gets here.
            if not pending.done:
                self._commit_queued()
        if pending.error is not None:
            raise StoreError(f"{self.path}: append failed: {pending.error}") from pending.error
        return pending

    def append_many(self, batches: Iterable[pl.DataFrame | Sequence[Event]]) -> int:
        """Validate and durably store several batches in ONE transaction: all of them or none.

        For imports too large for one :meth:`append`: each batch is validated and written in
        turn, so only one batch's rows are Python objects at a time, yet a crash or an
        invalid batch part-way leaves the store as it was. The events get consecutive
        sequence numbers across all batches. Concurrent :meth:`append` calls wait until the
        whole import is committed.

        Args:
            batches: Event batches (frames or :class:`Event` lists), consumed lazily.

        Returns:
            The sequence number of the last stored event.

        Raises:
            ValidationError: A batch is invalid (rows counted within that batch); nothing
                was stored.
            StoreError: The store failed or is closed; nothing was stored.
        """
        now = time.time()
        with self._commit_lock, self._db.transaction() as conn:
            for events in batches:
                _write(conn, event_rows(events, now=now), client_ids(events))
            return _last_seq(conn)

    def _commit_queued(self) -> None:
        """Write every queued batch in one transaction and record each batch's outcome.

        Each batch is written inside a SAVEPOINT of its own: a batch SQLite refuses (say, text
        it cannot encode) is rolled back alone and fails only its own caller, while the other
        clients' batches sharing the transaction commit. (A failing COMMIT fails them all.)
        """
        with self._queue_lock:
            group, self._queue = self._queue, []
        try:
            with self._db.transaction() as conn:
                for pending in group:
                    conn.execute("SAVEPOINT batch")
                    try:
                        pending.kept = _write(conn, pending.rows, pending.ids)
                    except (sqlite3.Error, ValueError) as error:  # ValueError: bad encoding
                        conn.execute("ROLLBACK TO batch")
                        pending.error = error
                    conn.execute("RELEASE batch")
                    pending.last_seq = _last_seq(conn)
        except BaseException as error:
            for pending in group:
                pending.error = error
            raise
        finally:
            for pending in group:
                pending.done = True

    def _newest(self, user_id: UserId, n: int) -> list[tuple[Any, ...]]:
        """The user's ``n`` newest rows (``seq`` first), newest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self._db.query(
            f"SELECT seq, {_COLUMNS} FROM events WHERE user_id = ? ORDER BY seq DESC LIMIT ?",
            (user_id, n),
        )

    def latest(self, user_id: UserId, n: int) -> list[Event]:
        """The user's ``n`` most recently appended events, oldest first."""
        return [Event.from_row(row[1:]) for row in reversed(self._newest(user_id, n))]

    def tail(self, user_id: UserId, n: int) -> pl.DataFrame:
        """The user's ``n`` most recently appended events, oldest first, with ``seq``."""
        rows = self._newest(user_id, n)[::-1]
        return pl.DataFrame(rows, schema=SEQ_EVENT_SCHEMA, orient="row")

    def recent_histories(self, users: int, n: int) -> pl.DataFrame:
        """The ``n`` latest events of the ``users`` most recently active users, in ``seq`` order."""
        if users < 0 or n < 0:
            raise ValueError(f"users and n must be >= 0, got {users} and {n}")
        # MAX(seq) per user walks the (user_id, seq) index; the window keeps each one's last n.
        return self._db.query_frame(
            f"WITH recent AS (SELECT user_id FROM events GROUP BY user_id"
            f" ORDER BY MAX(seq) DESC LIMIT ?)"
            f" SELECT {_COLUMNS} FROM (SELECT seq, {_COLUMNS}, ROW_NUMBER() OVER"
            f" (PARTITION BY user_id ORDER BY seq DESC) AS nth"
            f" FROM events WHERE user_id IN recent) WHERE nth <= ? ORDER BY seq",
            (users, n),
            EVENT_SCHEMA,
        )

    def range(self, start: float, end: float) -> pl.DataFrame:
        """Events with ``start <= timestamp < end``, ordered by timestamp then ``seq``."""
        return self._db.query_frame(
            f"SELECT {_COLUMNS} FROM events WHERE timestamp >= ? AND timestamp < ? "
            "ORDER BY timestamp, seq",
            (start, end),
            EVENT_SCHEMA,
        )

    def since(self, seq: int, limit: int | None = None) -> pl.DataFrame:
        """Events after sequence number ``seq``, in order, with a ``seq`` column."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        return self._db.query_frame(
            f"SELECT seq, {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, -1 if limit is None else limit),  # LIMIT -1: no limit
            SEQ_EVENT_SCHEMA,
        )

    def frame(self) -> pl.DataFrame:
        """The whole log in append order (``EVENT_SCHEMA``)."""
        return self._db.query_frame(f"SELECT {_COLUMNS} FROM events ORDER BY seq", (), EVENT_SCHEMA)

    def count(self) -> int:
        """Number of stored events."""
        return int(self._db.query("SELECT COUNT(*) FROM events")[0][0])

    def last_seq(self) -> int:
        """The highest sequence number ever assigned (0 for a new store)."""
        found = self._db.query(_LAST_SEQ)
        return int(found[0][0]) if found else 0

    def users(self) -> list[UserId]:
        """Users with stored events, in order of their first stored event."""
        rows = self._db.query("SELECT user_id FROM events GROUP BY user_id ORDER BY MIN(seq)")
        return [row[0] for row in rows]

    def forget_user(self, user_id: UserId) -> int:
        """Delete every event of ``user_id`` and return how many were deleted.

        The rows (events and their ids) are overwritten in the database file
        (``secure_delete``) and the write-ahead log is checkpointed so their old pages leave it
        too (once no reader holds them).
        """
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM event_ids WHERE seq IN (SELECT seq FROM events WHERE user_id = ?)",
                (user_id,),
            )
            deleted = conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,)).rowcount
        if deleted:
            self._db.checkpoint()
        return int(deleted)

    def tombstone(self, user_id: UserId) -> None:
        """Drop the shopper's events from every later append (see ``EventStore.tombstone``).

        Appends check tombstones inside their ``BEGIN IMMEDIATE`` transaction, which this
        write waits for: one that commits after this returns sees the tombstone.
        """
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO forgotten_users (user_key) VALUES (?)",
                (tombstone_key(user_id),),
            )

    def untombstone(self, user_id: UserId) -> bool:
        """Accept the shopper's events again; whether they were tombstoned."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM forgotten_users WHERE user_key = ?", (tombstone_key(user_id),)
            )
            return cursor.rowcount > 0

    def forgotten(self, user_ids: Iterable[UserId]) -> set[UserId]:
        """The tombstoned shoppers among ``user_ids``."""
        return forgotten_among(
            user_ids,
            lambda keys: [row[0] for row in self._db.query(_FORGOTTEN, [json.dumps(keys)])],
        )

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        self._db.close()
