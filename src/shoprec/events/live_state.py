"""Live shopper state: recent sequence, cart, purchases and session, kept fresh on every event.

The service answers a recommendation from this state, so the request right after an
acknowledged event sees it (read-your-writes) without retraining. The state is a cache of the
event store: the most recently active shoppers are rebuilt from it at start-up
(:meth:`MemoryStateStore.preload`), any other is loaded from :meth:`EventStore.latest` on first
use, and every event acknowledged afterwards is applied in memory. Nothing here is the source
of truth, so a restart loses nothing that was acknowledged. :class:`StateStore` is the
protocol a shared backend (e.g. Redis) would implement without touching the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from shoprec.errors import StoreError
from shoprec.types import Columns, EventType, HistoryEvent, ItemId, Query, UserId

from .history import HISTORY_LENGTH
from .schema import Event
from .store import EventStore

log = logging.getLogger("shoprec.events")

_CART_ADD = EventType.ADDTOCART.value
_CART_REMOVE = EventType.REMOVEFROMCART.value
_PURCHASE = EventType.PURCHASE.value


@dataclass(frozen=True)
class ShopperState:
    """A snapshot of one shopper's live state (safe to read while events keep arriving).

    Attributes:
        user_id: The shopper.
        history: Latest events, oldest first (at most the store's history length).
        cart: Items in the cart, in the order they were added.
        purchased: Items bought (within the history kept).
        session_id: Session of the latest event that named one.
    """

    user_id: UserId
    history: tuple[HistoryEvent, ...] = ()
    cart: tuple[ItemId, ...] = ()
    purchased: frozenset[ItemId] = frozenset()
    session_id: str | None = None

    def query(self, time: float | None = None) -> Query:
        """This state as a recommendation query (history only; the cart is context)."""
        return Query(user_id=self.user_id, history=self.history, context_items=(), time=time)


@runtime_checkable
class StateStore(Protocol):
    """Where live shopper state lives; safe to share between threads."""

    def get(self, user_id: UserId) -> ShopperState:
        """The shopper's current state (empty for a shopper never seen)."""

    def apply(self, events: Sequence[Event], last_seq: int) -> None:
        """Apply acknowledged events (already durable in the event store).

        Args:
            events: One acknowledged batch.
            last_seq: The store's sequence number of the batch's last event (the batch holds
                the ``len(events)`` numbers ending there).
        """

    def forget(self, user_id: UserId) -> None:
        """Drop everything held about the shopper."""

    def size(self) -> int:
        """Number of shoppers held in memory."""


@dataclass
class _Mutable:
    history: deque[HistoryEvent]
    cart: dict[ItemId, None] = field(default_factory=dict)  # ordered set
    purchased: set[ItemId] = field(default_factory=set)
    session_id: str | None = None

    def apply(self, event: Event) -> None:
        self.add(event.item_id, event.event_type.value, event.timestamp, event.session_id)

    def add(self, item_id: ItemId, kind: str, timestamp: float, session_id: str | None) -> None:
        self.history.append(HistoryEvent(item_id, kind, timestamp))
        if kind == _CART_ADD:
            self.cart[item_id] = None
        elif kind == _CART_REMOVE:
            self.cart.pop(item_id, None)
        elif kind == _PURCHASE:
            self.cart.pop(item_id, None)
            self.purchased.add(item_id)
        if session_id is not None:
            self.session_id = session_id

    def snapshot(self, user_id: UserId) -> ShopperState:
        return ShopperState(
            user_id=user_id,
            history=tuple(self.history),
            cart=tuple(self.cart),
            purchased=frozenset(self.purchased),
            session_id=self.session_id,
        )

    def is_tail_duplicate(self, event: Event, window: int) -> bool:
        """Whether ``event`` is already among the last ``window`` history events."""
        mine = HistoryEvent(event.item_id, event.event_type.value, event.timestamp)
        tail = list(self.history)[-window:] if window else []
        return mine in tail


def replay(user_id: UserId, events: Iterable[Event], history_length: int) -> ShopperState:
    """The state that ``events`` (oldest first) leave a shopper in."""
    state = _Mutable(deque(maxlen=history_length))
    for event in events:
        state.apply(event)
    return state.snapshot(user_id)


class MemoryStateStore:
    """In-memory :class:`StateStore` backed by an event store, loading shoppers lazily.

    At most ``capacity`` shoppers are held (least recently used dropped first: they are
    reloaded from the store when they return).

    Args:
        store: The durable event log the state is rebuilt from.
        history_length: Latest events kept per shopper.
        capacity: Shoppers held in memory at most.
    """

    def __init__(
        self, store: EventStore, history_length: int = HISTORY_LENGTH, capacity: int = 100_000
    ) -> None:
        self._store = store
        self._length = history_length
        self._capacity = capacity
        self._users: OrderedDict[UserId, _Mutable] = OrderedDict()
        self._fresh: set[UserId] = set()  # loaded from the store, no event applied yet
        # One lock for loads and updates: a load and an apply of the same shopper never
        # interleave, so an event is neither lost nor (see ``apply``) counted twice.
        self._lock = threading.Lock()

    def preload(self) -> int:
        """Rebuild the most recently active shoppers (up to ``capacity``) in one store read.

        Call at start-up, before any event is applied: requests then find their shoppers in
        memory instead of reading the store on the request path. Returns how many were loaded.
        """
        frame = self._store.recent_histories(self._capacity, self._length)
        columns = (
            Columns.USER,
            Columns.ITEM,
            Columns.EVENT_TYPE,
            Columns.TIMESTAMP,
            Columns.SESSION,
        )
        loaded: dict[UserId, _Mutable] = {}
        last: dict[UserId, int] = {}  # row of each shopper's latest event: the LRU order
        for row, (user_id, *event) in enumerate(frame.select(columns).iter_rows()):
            state = loaded.get(user_id)
            if state is None:
                state = loaded[user_id] = _Mutable(deque(maxlen=self._length))
            state.add(*event)
            last[user_id] = row
        with self._lock:
            for user_id in sorted(loaded, key=last.__getitem__):
                self._users.setdefault(user_id, loaded[user_id])
            while len(self._users) > self._capacity:
                dropped, _ = self._users.popitem(last=False)
                self._fresh.discard(dropped)
        return len(loaded)

    def _load(self, user_id: UserId) -> _Mutable:
        state = self._users.get(user_id)
        if state is not None:
            self._users.move_to_end(user_id)
            return state
        state = _Mutable(deque(maxlen=self._length))
        for event in self._store.latest(user_id, self._length):
            state.apply(event)
        self._users[user_id] = state
        self._fresh.add(user_id)
        while len(self._users) > self._capacity:
            dropped, _ = self._users.popitem(last=False)
            self._fresh.discard(dropped)
        return state

    def get(self, user_id: UserId) -> ShopperState:
        """The shopper's current state, loaded from the store on first use.

        A shopper not held while the store cannot be read gets an empty state (not kept), so
        recommendations go on during a store outage.
        """
        with self._lock:
            try:
                return self._load(user_id).snapshot(user_id)
            except StoreError as error:
                log.warning("state of a shopper not loaded: %s", error)
                return ShopperState(user_id=user_id)

    def apply(self, events: Sequence[Event], last_seq: int = 0) -> None:
        """Apply acknowledged events to the shoppers held in memory.

        A shopper not held is skipped: the store already has the events, and the next
        :meth:`get` loads them. (``last_seq`` is not needed: this process applies its own
        acknowledged batches, each once.) A shopper loaded while this batch was being committed may
        already hold it; such events are recognised at the tail and not applied twice.
        """
        with self._lock:
            for event in events:
                state = self._users.get(event.user_id)
                if state is None:
                    continue
                if event.user_id in self._fresh and state.is_tail_duplicate(event, len(events)):
                    continue
                state.apply(event)
            self._fresh.difference_update(e.user_id for e in events)

    def forget(self, user_id: UserId) -> None:
        """Drop the shopper's state (forget the events in the store separately)."""
        with self._lock:
            self._users.pop(user_id, None)
            self._fresh.discard(user_id)

    def size(self) -> int:
        """Number of shoppers held in memory."""
        with self._lock:
            return len(self._users)
