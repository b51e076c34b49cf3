"""An in-process event store for tests and ephemeral use: same contract, nothing on disk."""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Sequence

import polars as pl

from shoprec.data import EVENT_SCHEMA
from shoprec.errors import StoreError
from shoprec.types import UserId

from .schema import Event, EventRow
from .store import (
    SEQ,
    SEQ_EVENT_SCHEMA,
    Appended,
    ClosingStore,
    admit,
    client_ids,
    forgotten_among,
    tombstone_key,
)
from .validation import event_rows

# A stored event: its sequence number, then the EventRow values.
_Stored = tuple[int, str, str, str, float, float | None, str | None, str | None]


class MemoryEventStore(ClosingStore):
    """An :class:`~shoprec.events.EventStore` kept in memory; lost when the process ends.

    It validates and numbers events exactly like :class:`~shoprec.events.SQLiteEventStore`,
    so code tested against it behaves the same on the durable store. "Acknowledged" here
    means only that the batch is visible to readers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[_Stored] = []  # seq order
        self._by_user: dict[UserId, list[_Stored]] = {}  # first-event order, then seq order
        self._last_seq = 0
        self._ids: dict[str, int] = {}  # client event id -> seq
        self._tombstones: set[str] = set()  # tombstone_key of each forgotten shopper
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory event store: the store is closed")

    def append(self, events: pl.DataFrame | Sequence[Event]) -> int:
        """Validate and store a batch atomically (see ``EventStore.append``)."""
        return self._store(event_rows(events, now=time.time()), client_ids(events))[0]

    def append_new(self, events: Sequence[Event]) -> Appended:
        """Store the batch's new events (see ``EventStore.append_new``)."""
        last_seq, kept = self._store(event_rows(events, now=time.time()), client_ids(events))
        return Appended(last_seq, tuple(events[i] for i in kept))

    def append_many(self, batches: Iterable[pl.DataFrame | Sequence[Event]]) -> int:
        """Validate every batch, then store them all atomically (see ``SQLiteEventStore``).

        Raises:
            ValidationError: A batch is invalid (rows counted within that batch); nothing
                was stored.
        """
        now = time.time()
        rows: list[EventRow] = []
        ids: list[str | None] = []
        for events in batches:
            rows += event_rows(events, now=now)
            ids += client_ids(events)
        return self._store(rows, ids)[0]

    def _store(self, rows: list[EventRow], ids: list[str | None]) -> tuple[int, list[int]]:
        """Number and keep the admitted rows under the lock; the last seq and their positions."""
        with self._lock:
            self._check_open()
            forgotten = forgotten_among((row[0] for row in rows), self._tombstones.intersection)
            kept = admit(rows, ids, forgotten, set(filter(None, ids)) & self._ids.keys())
            for position in kept:
                self._last_seq += 1
                row = rows[position]
                stored = (self._last_seq, *row)
                self._log.append(stored)
                self._by_user.setdefault(row[0], []).append(stored)
                if (event_id := ids[position]) is not None:
                    self._ids[event_id] = self._last_seq
            return self._last_seq, kept

    def _newest(self, user_id: UserId, n: int) -> list[_Stored]:
        """The user's ``n`` newest stored events, oldest first."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            self._check_open()
            history = self._by_user.get(user_id, [])
            return history[len(history) - n :] if n else []

    def latest(self, user_id: UserId, n: int) -> list[Event]:
        """The user's ``n`` most recently appended events, oldest first."""
        return [Event.from_row(_row(stored)) for stored in self._newest(user_id, n)]

    def tail(self, user_id: UserId, n: int) -> pl.DataFrame:
        """The user's ``n`` most recently appended events, oldest first, with ``seq``."""
        return pl.DataFrame(self._newest(user_id, n), schema=SEQ_EVENT_SCHEMA, orient="row")

    def recent_histories(self, users: int, n: int) -> pl.DataFrame:
        """The ``n`` latest events of the ``users`` most recently active users, in ``seq`` order."""
        if users < 0 or n < 0:
            raise ValueError(f"users and n must be >= 0, got {users} and {n}")
        with self._lock:
            self._check_open()
            recent = sorted(self._by_user.values(), key=lambda h: h[-1][0], reverse=True)[:users]
            kept = sorted(s for history in recent for s in (history[-n:] if n else []))
        return pl.DataFrame([_row(s) for s in kept], schema=EVENT_SCHEMA, orient="row")

    def range(self, start: float, end: float) -> pl.DataFrame:
        """Events with ``start <= timestamp < end``, ordered by timestamp then ``seq``."""
        with self._lock:
            self._check_open()
            hits = [s for s in self._log if start <= s[4] < end]
        hits.sort(key=lambda s: (s[4], s[0]))
        return pl.DataFrame([_row(s) for s in hits], schema=EVENT_SCHEMA, orient="row")

    def since(self, seq: int, limit: int | None = None) -> pl.DataFrame:
        """Events after sequence number ``seq``, in order, with a ``seq`` column."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        with self._lock:
            self._check_open()
            first = bisect.bisect_right(self._log, seq, key=lambda s: s[0])
            stop = len(self._log) if limit is None else first + limit
            tail = self._log[first:stop]
        return pl.DataFrame(tail, schema=SEQ_EVENT_SCHEMA, orient="row")

    def frame(self) -> pl.DataFrame:
        """The whole log in append order (``EVENT_SCHEMA``)."""
        with self._lock:
            self._check_open()
            log = list(self._log)
        return pl.DataFrame(log, schema=SEQ_EVENT_SCHEMA, orient="row").drop(SEQ)

    def count(self) -> int:
        """Number of stored events."""
        with self._lock:
            self._check_open()
            return len(self._log)

    def last_seq(self) -> int:
        """The highest sequence number ever assigned (0 for a new store)."""
        with self._lock:
            self._check_open()
            return self._last_seq

    def users(self) -> list[UserId]:
        """Users with stored events, in order of their first stored event."""
        with self._lock:
            self._check_open()
            return list(self._by_user)

    def forget_user(self, user_id: UserId) -> int:
        """Delete every event of ``user_id`` and return how many were deleted."""
        with self._lock:
            self._check_open()
            forgotten = self._by_user.pop(user_id, [])
            if forgotten:
                self._log = [s for s in self._log if s[1] != user_id]
                gone = {s[0] for s in forgotten}
                self._ids = {i: seq for i, seq in self._ids.items() if seq not in gone}
            return len(forgotten)

    def tombstone(self, user_id: UserId) -> None:
        """Drop the shopper's events from every later append (see ``EventStore.tombstone``)."""
        with self._lock:
            self._check_open()
            self._tombstones.add(tombstone_key(user_id))

    def untombstone(self, user_id: UserId) -> bool:
        """Accept the shopper's events again; whether they were tombstoned."""
        key = tombstone_key(user_id)
        with self._lock:
            self._check_open()
            found = key in self._tombstones
            self._tombstones.discard(key)
            return found

    def forgotten(self, user_ids: Iterable[UserId]) -> set[UserId]:
        """The tombstoned shoppers among ``user_ids``."""
        with self._lock:
            self._check_open()
            return forgotten_among(user_ids, self._tombstones.intersection)

    def close(self) -> None:
        """Drop the stored events; later calls raise :class:`StoreError`. Idempotent."""
        with self._lock:
            self._closed = True
            self._log.clear()
            self._by_user.clear()
            self._ids.clear()
            self._tombstones.clear()


def _row(stored: _Stored) -> EventRow:
    return stored[1:]
