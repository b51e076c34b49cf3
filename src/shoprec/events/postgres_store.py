"""The shared event store: PostgreSQL through psycopg 3, batches group-committed with COPY.

Sequence numbers come from a one-row counter table (``events_seq``) updated in the same
transaction as the rows, not from a PostgreSQL sequence, for three reasons:

- A sequence is not transactional: a rolled-back batch would burn its numbers, and
  ``last_seq()`` would run ahead of what readers can see.
- The counter's row lock, held until COMMIT, serialises writers across processes. That is
  what keeps the contract "batches become visible in seq order": two PostgreSQL transactions
  that drew numbers from a sequence may COMMIT in the other order, and a reader tailing with
  ``since(seq)`` would then skip the lower numbers that became visible after the higher ones.
  With the lock, the next writer draws its numbers only after the previous one committed.
- Numbers stay dense (1, 2, 3, ...) like the SQLite store's; a failed batch leaves no gap.

In one process, writers are serialised anyway by the group commit: one thread commits at a
time, everything queued meanwhile shares its transaction (one flush for many batches).

The same row lock makes the event-id and tombstone checks race-free across replicas (#18): a
writer reads ``event_ids`` and ``forgotten_users`` only after it holds the lock (READ COMMITTED
gives each statement a fresh snapshot), and :meth:`PostgresEventStore.tombstone` takes the
lock too, so every append either committed before the tombstone (and ``forget_user`` after it
deletes its rows) or sees it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import psycopg

from shoprec.data import EVENT_SCHEMA
from shoprec.types import UserId

from .postgres import Connection, PostgresDatabase
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

_DDL = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    value DOUBLE PRECISION,
    session_id TEXT,
    context TEXT
);
CREATE INDEX IF NOT EXISTS events_user_seq ON events (user_id, seq);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
CREATE TABLE IF NOT EXISTS events_seq (
    one_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one_row),
    last BIGINT NOT NULL
);
INSERT INTO events_seq (last) VALUES (0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS event_ids (
    event_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_ids_seq ON event_ids (seq);
CREATE TABLE IF NOT EXISTS forgotten_users (user_key TEXT PRIMARY KEY)
"""
_COLUMNS = ", ".join(EVENT_SCHEMA)
_COPY = f"COPY events (seq, {_COLUMNS}) FROM STDIN (FORMAT binary)"
# Binary COPY needs the column types up front; in the order of _COPY.
_COPY_TYPES = ["int8", "text", "text", "text", "float8", "float8", "text", "text"]
_COPY_IDS = "COPY event_ids (event_id, seq) FROM STDIN (FORMAT binary)"
_LAST_SEQ = "SELECT last FROM events_seq"
_RESERVE = "UPDATE events_seq SET last = last + %s RETURNING last"
_FORGOTTEN = "SELECT user_key FROM forgotten_users WHERE user_key = ANY(%s)"
# At most this many batches share one transaction. If the server refuses the group, each batch
# is retried in a SAVEPOINT of its own, and past 64 subtransactions PostgreSQL's snapshots
# overflow and every reader slows down.
_MAX_GROUP = 64


@dataclass
class _Pending:
    """A validated batch waiting for a commit, and what became of it."""

    rows: list[EventRow]
    ids: list[str | None]
    done: bool = False
    last_seq: int = 0
    kept: list[int] | None = None  # positions of the rows stored
    error: BaseException | None = None


def _forgotten_keys(conn: Connection, keys: list[str]) -> list[str]:
    return [row[0] for row in conn.execute(_FORGOTTEN, (keys,))]


def _write_group(conn: Connection, group: list[_Pending]) -> int:
    """Number and COPY the admitted rows of a group's batches; return the last sequence number.

    Reserving numbers for every row locks the counter row until COMMIT (see the module
    docstring); only then are tombstones and event ids read, and the counter is moved back
    if some rows were not admitted, so numbers stay dense. Sets each batch's ``kept`` and
    ``last_seq``; the batches stay in queue order, each with consecutive numbers.
    """
    total = sum(len(p.rows) for p in group)
    found = conn.execute(_RESERVE, (total,)).fetchone()
    assert found is not None  # the DDL inserts the row and nothing deletes it
    seq = int(found[0]) - total
    users = (row[0] for p in group for row in p.rows)
    forgotten = forgotten_among(users, lambda keys: _forgotten_keys(conn, keys))
    given = [i for p in group for i in p.ids if i is not None]
    known: set[str] = set()
    if given:
        found_ids = conn.execute(
            "SELECT event_id FROM event_ids WHERE event_id = ANY(%s)", (given,)
        )
        known = {row[0] for row in found_ids}
    numbered: list[tuple[str, int]] = []
    with conn.cursor().copy(_COPY) as copy:
        copy.set_types(_COPY_TYPES)
        for pending in group:
            pending.kept = admit(pending.rows, pending.ids, forgotten, known)
            for position in pending.kept:
                seq += 1
                copy.write_row((seq, *pending.rows[position]))
                if (event_id := pending.ids[position]) is not None:
                    numbered.append((event_id, seq))
            pending.last_seq = seq
    if numbered:
        with conn.cursor().copy(_COPY_IDS) as copy:
            copy.set_types(["text", "int8"])
            for row in numbered:
                copy.write_row(row)
    if seq != int(found[0]):
        conn.execute("UPDATE events_seq SET last = %s", (seq,))
    return seq


def _write_together(conn: Connection, group: list[_Pending]) -> bool:
    """Write a group's batches with one COPY (the common case); ``False`` if the server refused.

    Round trips, not the flush, dominate small batches, so one COPY for the group is what
    makes group commit pay. The batches stay in queue order, each with consecutive numbers.
    On a refusal the group's SAVEPOINT is rolled back and nothing of it is written.
    """
    try:
        with conn.transaction():
            _write_group(conn, group)
    except psycopg.Error:
        return False
    return True


def _write_isolated(conn: Connection, group: list[_Pending]) -> None:
    """Write each batch inside its own SAVEPOINT; record the error of each that fails.

    A batch the server rejects (say, text with a NUL character) rolls back alone, its
    reserved numbers included; the others still commit with the transaction.
    """
    for pending in group:
        try:
            with conn.transaction():
                _write_group(conn, [pending])
        except psycopg.Error as error:
            pending.error = error


class PostgresEventStore(ClosingStore):
    """An :class:`~shoprec.events.EventStore` in PostgreSQL, shared by many processes.

    :meth:`append` returns after the transaction holding the batch has COMMITted with
    ``synchronous_commit`` on, so an acknowledged batch survives a crash of this process
    or of the server. Batches appended by several threads while a commit is in flight share
    the next transaction and one binary ``COPY`` (group commit); each batch gets consecutive
    sequence numbers. If the server refuses the group's rows, each batch is retried in its
    own SAVEPOINT: a batch the server rejects (say, text with a NUL character) fails alone,
    and the others still commit.

    Reads for training (:meth:`frame`, :meth:`range`, :meth:`since`,
    :meth:`recent_histories`) stream ``COPY ... TO STDOUT`` as CSV into polars, with no
    Python object per row.

    Args:
        url: ``postgresql://user:password@host:port/dbname``; the tables are created if
            missing.
        max_connections: Pool size bound (one writer plus concurrent readers).
        timeout_s: How long a call waits for a connection before raising
            :class:`~shoprec.errors.BackendUnavailableError`.

    Raises:
        BackendUnavailableError: The server cannot be reached (message names the host).
        StoreError: The URL is invalid or the tables cannot be created.
    """

    def __init__(self, url: str, *, max_connections: int = 8, timeout_s: float = 5.0) -> None:
        self._db = PostgresDatabase(url, _DDL, max_connections=max_connections, timeout_s=timeout_s)
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    @property
    def where(self) -> str:
        """The server and database, for messages (no password)."""
        return self._db.where

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
            # Whoever holds the lock commits what is queued; a batch queued during an earlier
            # commit may be done already. A group is capped, so loop until ours was in one.
            while not pending.done:
                self._commit_queued()
        if pending.error is not None:
            raise self._db.failure("append failed", pending.error) from pending.error
        return pending

    def append_many(self, batches: Iterable[pl.DataFrame | Sequence[Event]]) -> int:
        """Validate and durably store several batches in ONE transaction: all of them or none.

        Each batch is validated and copied in turn, so only one batch's rows are Python
        objects at a time. Concurrent :meth:`append` calls wait until the import committed.

        Args:
            batches: Event batches (frames or :class:`Event` lists), consumed lazily.

        Returns:
            The sequence number of the last stored event.

        Raises:
            ValidationError: A batch is invalid (rows counted within that batch); nothing
                was stored.
            StoreError: The store failed or is closed; nothing was stored.
            BackendUnavailableError: The server cannot be reached; nothing was stored.
        """
        now = time.time()
        with self._commit_lock, self._db.transaction("append failed") as conn:
            last = _write_group(conn, [])  # an empty import returns the store's last number
            for events in batches:
                last = _write_group(
                    conn, [_Pending(event_rows(events, now=now), client_ids(events))]
                )
        return last

    def _commit_queued(self) -> None:
        """Write up to ``_MAX_GROUP`` queued batches in one transaction; record each outcome."""
        with self._queue_lock:
            group, self._queue = self._queue[:_MAX_GROUP], self._queue[_MAX_GROUP:]
        try:
            with self._db.transaction("append failed") as conn:
                if len(group) == 1:  # no SAVEPOINT needed: the transaction is as small
                    _write_group(conn, group)
                elif not _write_together(conn, group):
                    _write_isolated(conn, group)
        except BaseException as error:
            # Nothing of the group is stored (the COMMIT did not happen or its outcome is
            # unknown): every batch in it fails.
            for pending in group:
                pending.error = error
            if not isinstance(error, Exception):
                raise
        finally:
            for pending in group:
                pending.done = True

    def _newest(self, user_id: UserId, n: int) -> list[tuple[Any, ...]]:
        """The user's ``n`` newest rows (``seq`` first), newest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self._db.query(
            f"SELECT seq, {_COLUMNS} FROM events WHERE user_id = %s ORDER BY seq DESC LIMIT %s",
            (user_id, n),
        )

    def latest(self, user_id: UserId, n: int) -> list[Event]:
        """The user's ``n`` most recently appended events, oldest first."""
        rows = self._newest(user_id, n)
        return [Event.from_row(row[1:]) for row in reversed(rows)]

    def tail(self, user_id: UserId, n: int) -> pl.DataFrame:
        """The user's ``n`` most recently appended events, oldest first, with ``seq``."""
        rows = self._newest(user_id, n)[::-1]
        return pl.DataFrame(rows, schema=SEQ_EVENT_SCHEMA, orient="row")

    def recent_histories(self, users: int, n: int) -> pl.DataFrame:
        """The ``n`` latest events of the ``users`` most recently active users, in ``seq`` order."""
        if users < 0 or n < 0:
            raise ValueError(f"users and n must be >= 0, got {users} and {n}")
        # Each recent user's last n rows walk the (user_id, seq) index backwards (LATERAL).
        return self._db.query_frame(
            f"SELECT {_COLUMNS} FROM ("
            f" SELECT user_id AS recent_user FROM events GROUP BY user_id"
            f" ORDER BY MAX(seq) DESC LIMIT %s) AS recent,"
            f" LATERAL (SELECT seq, {_COLUMNS} FROM events WHERE user_id = recent_user"
            f" ORDER BY seq DESC LIMIT %s) AS last_n ORDER BY seq",
            (users, n),
            EVENT_SCHEMA,
        )

    def range(self, start: float, end: float) -> pl.DataFrame:
        """Events with ``start <= timestamp < end``, ordered by timestamp then ``seq``."""
        return self._db.query_frame(
            f"SELECT {_COLUMNS} FROM events WHERE timestamp >= %s AND timestamp < %s"
            " ORDER BY timestamp, seq",
            (start, end),
            EVENT_SCHEMA,
        )

    def since(self, seq: int, limit: int | None = None) -> pl.DataFrame:
        """Events after sequence number ``seq``, in order, with a ``seq`` column."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        return self._db.query_frame(
            f"SELECT seq, {_COLUMNS} FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),  # LIMIT NULL: no limit
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
        return int(self._db.query(_LAST_SEQ)[0][0])

    def users(self) -> list[UserId]:
        """Users with stored events, in order of their first stored event."""
        rows = self._db.query("SELECT user_id FROM events GROUP BY user_id ORDER BY MIN(seq)")
        return [row[0] for row in rows]

    def forget_user(self, user_id: UserId) -> int:
        """Delete every event of ``user_id`` and return how many were deleted.

        The rows (events and their ids) are gone for every reader at once; their bytes stay
        in the table's pages until autovacuum reuses the space.
        """
        with self._db.transaction("forget_user failed") as conn:
            conn.execute(
                "DELETE FROM event_ids WHERE seq IN (SELECT seq FROM events WHERE user_id = %s)",
                (user_id,),
            )
            return conn.execute("DELETE FROM events WHERE user_id = %s", (user_id,)).rowcount

    def tombstone(self, user_id: UserId) -> None:
        """Drop the shopper's events from every later append (see ``EventStore.tombstone``).

        Takes the counter row's lock, as writers do before they read tombstones (see the
        module docstring): an append either committed before this or sees the tombstone.
        """
        with self._db.transaction("tombstone failed") as conn:
            conn.execute("SELECT last FROM events_seq FOR UPDATE")
            conn.execute(
                "INSERT INTO forgotten_users (user_key) VALUES (%s) ON CONFLICT DO NOTHING",
                (tombstone_key(user_id),),
            )

    def untombstone(self, user_id: UserId) -> bool:
        """Accept the shopper's events again; whether they were tombstoned."""
        with self._db.transaction("untombstone failed") as conn:
            cursor = conn.execute(
                "DELETE FROM forgotten_users WHERE user_key = %s", (tombstone_key(user_id),)
            )
            return cursor.rowcount > 0

    def forgotten(self, user_ids: Iterable[UserId]) -> set[UserId]:
        """The tombstoned shoppers among ``user_ids``."""
        return forgotten_among(
            user_ids, lambda keys: [row[0] for row in self._db.query(_FORGOTTEN, (keys,))]
        )

    def close(self) -> None:
        """Close the connection pool; later calls raise :class:`StoreError`. Idempotent."""
        self._db.close()
