"""The EventStore protocol: an append-only, durable event log with per-event sequence numbers.

Every stored event gets a sequence number (``seq``): 1, 2, 3, ... in append order, never reused,
even after :meth:`EventStore.forget_user` deletes events. A batch's events get consecutive
numbers, and batches become visible in ``seq`` order, so a reader can tail the log with
:meth:`EventStore.since` without missing an event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import polars as pl

from shoprec.data import EVENT_SCHEMA
from shoprec.types import UserId

from .schema import Event

#: Name of the sequence-number column in frames from :meth:`EventStore.since`.
SEQ = "seq"
#: Schema of :meth:`EventStore.since` frames: ``seq`` then the canonical event columns.
SEQ_EVENT_SCHEMA: dict[str, pl.DataType] = {SEQ: pl.Int64(), **EVENT_SCHEMA}


@runtime_checkable
class EventStore(Protocol):
    """An append-only event log: durable batch appends, per-user history, frames for training.

    Implementations are safe to share between threads.
    """

    def append(self, events: pl.DataFrame | Sequence[Event]) -> int:
        """Validate and store a batch atomically: all of it or, if any row is invalid, none.

        Args:
            events: A frame with canonical columns (``user_id``, ``item_id`` and
                ``event_type`` required; a missing timestamp means now) or :class:`Event` objects.

        Returns:
            The sequence number of the batch's last event (the store's last one if the batch
            is empty). The batch's events hold the ``len(events)`` numbers ending there. When
            this returns, the batch is *acknowledged*: durable in a durable store.

        Raises:
            ValidationError: A row is invalid (names row and field); nothing was stored.
            StoreError: The store failed or is closed; nothing was stored.
        """

    def append_many(self, batches: Iterable[pl.DataFrame | Sequence[Event]]) -> int:
        """Like :meth:`append` for several batches in one transaction: all stored or none.

        Lets a large file be written in bounded chunks and still be atomic.
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
        """Delete every event of ``user_id`` (e.g. an erasure request); return how many."""

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
