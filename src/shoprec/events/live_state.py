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
from .store import SEQ, EventStore

log = logging.getLogger("shoprec.events")

_CART_ADD = EventType.ADDTOCART.value
_CART_REMOVE = EventType.REMOVEFROMCART.value
_PURCHASE = EventType.PURCHASE.value
# A coupon redemption is a purchase made with a coupon: the item is bought all the same.
_BOUGHT = (_PURCHASE, EventType.COUPON_REDEEM.value)


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
    loaded: int = 0  # the store held every event of the shopper up to this seq when read
    seq: int = 0  # the last sequence number applied

    def apply(self, event: Event) -> None:
        self.add(event.item_id, event.event_type.value, event.timestamp, event.session_id)

    def add(self, item_id: ItemId, kind: str, timestamp: float, session_id: str | None) -> None:
        self.history.append(HistoryEvent(item_id, kind, timestamp))
        if kind == _CART_ADD:
            self.cart[item_id] = None
        elif kind == _CART_REMOVE:
            self.cart.pop(item_id, None)
        elif kind in _BOUGHT:
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
        # One lock for loads and updates: a load and an apply of the same shopper never
        # interleave, so an event is neither lost nor (see ``apply``) counted twice.
        self._lock = threading.Lock()

    def preload(self) -> int:
        """Rebuild the most recently active shoppers (up to ``capacity``) in one store read.

        Call at start-up, before any event is applied: requests then find their shoppers in
        memory instead of reading the store on the request path. Returns how many were loaded.
        """
        # Read before the histories: each holds every event of its shopper up to here.
        loaded = self._store.last_seq()
        frame = self._store.recent_histories(self._capacity, self._length)
        columns = (
            Columns.USER,
            Columns.ITEM,
            Columns.EVENT_TYPE,
            Columns.TIMESTAMP,
            Columns.SESSION,
        )
        states: dict[UserId, _Mutable] = {}
        last: dict[UserId, int] = {}  # row of each shopper's latest event: the LRU order
        for row, (user_id, *event) in enumerate(frame.select(columns).iter_rows()):
            state = states.get(user_id)
            if state is None:
                state = states[user_id] = _Mutable(deque(maxlen=self._length), loaded=loaded)
            state.add(*event)
            last[user_id] = row
        with self._lock:
            for user_id in sorted(states, key=last.__getitem__):
                self._users.setdefault(user_id, states[user_id])
            while len(self._users) > self._capacity:
                self._users.popitem(last=False)
        return len(states)

    def _load(self, user_id: UserId) -> _Mutable:
        state = self._users.get(user_id)
        if state is not None:
            self._users.move_to_end(user_id)
            return state
        state = _Mutable(deque(maxlen=self._length))
        # Read before the tail: batches become visible in sequence order, so the tail holds
        # every event of the shopper up to here. An apply trailing a forget (#18) then finds
        # its events already "loaded" and skips them, instead of bringing them back.
        loaded = self._store.last_seq()
        tail = self._store.tail(user_id, self._length)
        columns = (Columns.ITEM, Columns.EVENT_TYPE, Columns.TIMESTAMP, Columns.SESSION)
        for event in tail.select(columns).iter_rows():
            state.add(*event)
        state.loaded = state.seq = max(loaded, int(tail[SEQ][-1]) if tail.height else 0)
        self._users[user_id] = state
        while len(self._users) > self._capacity:
            self._users.popitem(last=False)
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

    def apply(self, events: Sequence[Event], last_seq: int) -> None:
        """Apply an acknowledged batch (its events hold the numbers up to ``last_seq``).

        A shopper not held is skipped: the store already has the events, and the next
        :meth:`get` loads them. An event the shopper's store read already held is skipped.
        One older than the last applied (two requests of the shopper raced, the later batch
        applied first) drops the shopper, to be reloaded in sequence order from the store.
        """
        first = last_seq - len(events) + 1
        with self._lock:
            for seq, event in enumerate(events, start=first):
                state = self._users.get(event.user_id)
                if state is None or seq <= state.loaded:
                    continue
                if seq < state.seq:
                    del self._users[event.user_id]
                    continue
                state.apply(event)
                state.seq = seq

    def forget(self, user_id: UserId) -> None:
        """Drop the shopper's state (forget the events in the store separately)."""
        with self._lock:
            self._users.pop(user_id, None)

    def size(self) -> int:
        """Number of shoppers held in memory."""
        with self._lock:
            return len(self._users)
