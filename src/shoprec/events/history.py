"""A stored shopper's latest events as a recommendation query."""

from __future__ import annotations

from shoprec.types import HistoryEvent, Query, UserId

from .store import EventStore

#: How many of a shopper's latest events form a query (sequence models read at most this).
HISTORY_LENGTH = 200


def stored_query(store: EventStore, user_id: UserId, n: int = HISTORY_LENGTH) -> Query:
    """``Query`` for ``user_id`` whose history is their ``n`` latest stored events, oldest first."""
    history = tuple(
        HistoryEvent(e.item_id, e.event_type.value, e.timestamp) for e in store.latest(user_id, n)
    )
    return Query(user_id=user_id, history=history)
