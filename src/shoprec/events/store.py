"""The EventStore protocol: an append-only, durable event log with per-event sequence numbers.

Every stored event gets a sequence number (``seq``): 1, 2, 3, ... in append order, never reused,
even after :meth:`EventStore.forget_user` deletes events. A batch's events get consecutive
numbers, and batches become visible in ``seq`` order, so a reader can tail the log with
:meth:`EventStore.since` without missing an event.

Two filters run inside every store's write transaction, so no race between threads or replicas
gets past them (#18): an event whose client-chosen ``event_id`` is already stored (a retry) is
not stored again, and the events of a *tombstoned* shopper (see :meth:`EventStore.tombstone`)
are dropped, so neither a concurrent ingest nor a re-import brings a forgotten shopper back.
Both are decided by :func:`admit`, shared by every backend.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import polars as pl

from shoprec.data import EVENT_SCHEMA
from shoprec.types import UserId

from .schema import Event, EventRow

#: Name of the sequence-number column in frames from :meth:`EventStore.since`.
SEQ = "seq"
#: Schema of :meth:`EventStore.since` frames: ``seq`` then the canonical event columns.
SEQ_EVENT_SCHEMA: dict[str, pl.DataType] = {SEQ: pl.Int64(), **EVENT_SCHEMA}


@dataclass(frozen=True)
class Appended:
    """What :meth:`EventStore.append_new` stored of a batch.

    Attributes:
        last_seq: The sequence number of the last stored event (the store's last one when
            nothing was stored). The stored events hold the ``len(events)`` numbers ending here.
        events: The events actually stored, in batch order: not the repeats of an event id
            already stored (or repeated earlier in the batch), not the events of tombstoned
            shoppers.
    """

    last_seq: int
    events: tuple[Event, ...]

    @property
    def new(self) -> int:
        """How many events were stored by this call."""
        return len(self.events)


class Closable(Protocol):
    """A store used as ``with store:``, which closes it at the end."""

    def close(self) -> None:
        """Release the store's resources."""

    def __enter__(self) -> Self:
        """The store itself (``with`` closes it at the end)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""


@runtime_checkable
class EventStore(Closable, Protocol):
    """An append-only event log: durable batch appends, per-user history, frames for training.

    Implementations are safe to share between threads.
    """

    def append(self, events: pl.DataFrame | Sequence[Event]) -> int:
        """Validate and store a batch atomically: all of it or, if any row is invalid, none.

        Args:
            events: A frame with canonical columns (``user_id``, ``item_id`` and
                ``event_type`` required; a missing timestamp means now) or :class:`Event` objects.

        Returns:
            The sequence number of the batch's last stored event (the store's last one if
            nothing was stored). The stored events hold the consecutive numbers ending there.
            When this returns, the batch is *acknowledged*: durable in a durable store. Events
            whose ``event_id`` is already stored, and events of tombstoned shoppers, are
            acknowledged without being stored (see :meth:`append_new`).

        Raises:
            ValidationError: A row is invalid (names row and field); nothing was stored.
            StoreError: The store failed or is closed; nothing was stored.
        """

    def append_new(self, events: Sequence[Event]) -> Appended:
        """Like :meth:`append`, and say which events were stored now.

        An event whose ``event_id`` is already stored (a client's retry), or repeats one
        earlier in the batch, is acknowledged but not stored again; so are the events of a
        tombstoned shopper. Both checks run inside the write transaction: two replicas sending
        the same id at once both get an acknowledgement, and one row is stored.

        Returns:
            The last sequence number and the events stored, which hold the consecutive
            numbers ending there (what live state must apply).

        Raises:
            StoreError: The store failed or is closed; nothing was stored.
        """

    def append_many(self, batches: Iterable[pl.DataFrame | Sequence[Event]]) -> int:
        """Like :meth:`append` for several batches in one transaction: all stored or none.

        Lets a large file be written in bounded chunks and still be atomic. Rows of tombstoned
        shoppers are dropped, so re-importing a file does not bring a forgotten shopper back.
        """

    def latest(self, user_id: UserId, n: int) -> list[Event]:
        """The user's ``n`` most recently appended events (or all, if fewer), oldest first."""

    def tail(self, user_id: UserId, n: int) -> pl.DataFrame:
        """The user's ``n`` most recently appended events (or all, if fewer), oldest first.

        Like :meth:`latest`, with each event's sequence number, so live state can apply
        events exactly once and in order.

        Returns:
            A frame with :data:`SEQ_EVENT_SCHEMA`.
        """

    def recent_histories(self, users: int, n: int) -> pl.DataFrame:
        """The ``n`` latest events of each of the ``users`` most recently active users.

        For rebuilding live state at start-up in one read. A frame with ``EVENT_SCHEMA``
        columns in ``seq`` order (so each user's events are oldest first).
        """

    def range(self, start: float, end: float) -> pl.DataFrame:
        """Events with ``start <= timestamp < end``, ordered by timestamp then ``seq``."""

    def since(self, seq: int, limit: int | None = None) -> pl.DataFrame:
        """Events with a sequence number above ``seq``, in ``seq`` order, with a ``seq`` column.

        Args:
            seq: The last sequence number already seen (0 for the whole log).
            limit: At most this many events (``None``: all).

        Returns:
            A frame with :data:`SEQ_EVENT_SCHEMA`.
        """

    def frame(self) -> pl.DataFrame:
        """The whole log in append order with the canonical columns (``EVENT_SCHEMA``)."""

    def count(self) -> int:
        """Number of stored events."""

    def last_seq(self) -> int:
        """The highest sequence number ever assigned (0 for a new store)."""

    def users(self) -> list[UserId]:
        """Users with at least one stored event, in order of their first stored event."""

    def forget_user(self, user_id: UserId) -> int:
        """Delete every event of ``user_id`` and their event ids; return how many events.

        Call :meth:`tombstone` first for an erasure request: otherwise an append racing
        this call may store the shopper's events again.
        """

    def tombstone(self, user_id: UserId) -> None:
        """Refuse the shopper's events from now on, until :meth:`untombstone` (idempotent).

        The store keeps :func:`tombstone_key` of the id, never the id itself. Every append
        that commits after this returns drops the shopper's events.
        """

    def untombstone(self, user_id: UserId) -> bool:
        """Accept the shopper's events again; whether they were tombstoned."""

    def forgotten(self, user_ids: Iterable[UserId]) -> set[UserId]:
        """The tombstoned shoppers among ``user_ids``."""

    def close(self) -> None:
        """Release the store's resources; later calls raise :class:`~shoprec.errors.StoreError`."""


class ClosingStore(ABC):
    """Base of the store classes: ``with store:`` closes the store on exit."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def client_ids(events: pl.DataFrame | Sequence[Event]) -> list[str | None]:
    """Each event's client ``event_id`` (``None`` for every row of a frame: frames have none)."""
    if isinstance(events, pl.DataFrame):
        return [None] * events.height
    return [event.event_id for event in events]


def tombstone_key(user_id: UserId) -> str:
    """What a tombstone stores of a shopper id: its SHA-256 digest, in hex.

    The raw id must not stay anywhere once a shopper is forgotten (a scan of the store's
    files for it finds nothing), yet a later event of theirs must still be recognised.
    """
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()


def forgotten_among(
    user_ids: Iterable[UserId], find: Callable[[list[str]], Iterable[str]]
) -> set[UserId]:
    """The tombstoned shoppers among ``user_ids``, given a lookup of stored tombstone keys.

    Args:
        user_ids: Shopper ids, repeats allowed.
        find: Returns those of the given :func:`tombstone_key` values the store holds.
    """
    keys = {tombstone_key(user_id): user_id for user_id in set(user_ids)}
    return {keys[key] for key in find(list(keys))} if keys else set()


def admit(
    rows: Sequence[EventRow],
    ids: Sequence[str | None],
    forgotten: Collection[UserId],
    known: set[str],
) -> list[int]:
    """The positions of a batch's rows a store writes: new events of shoppers not forgotten.

    Args:
        rows: The validated rows.
        ids: Each row's client event id (``None``: none), aligned with ``rows``.
        forgotten: Tombstoned shoppers (their rows are dropped).
        known: Event ids already stored; the ids of the admitted rows are added to it, so a
            repeat later in the batch (or in a later batch of the same transaction) is dropped.

    Returns:
        Positions into ``rows``, ascending.
    """
    kept = []
    for position, (row, event_id) in enumerate(zip(rows, ids, strict=True)):
        if row[0] in forgotten:
            continue
        if event_id is not None:
            if event_id in known:
                continue
            known.add(event_id)
        kept.append(position)
    return kept
