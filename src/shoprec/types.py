"""The currency passed between layers: ids, event types, column names, queries and candidates.

This module imports nothing from shoprec and nothing heavy, so every layer can depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

ItemId: TypeAlias = str
UserId: TypeAlias = str


class EventType(StrEnum):
    """What a shopper did with an item."""

    VIEW = "view"
    CLICK = "click"
    ADDTOCART = "addtocart"
    REMOVEFROMCART = "removefromcart"
    PURCHASE = "purchase"
    FAVORITE = "favorite"
    REVIEW = "review"
    RATING = "rating"
    SEARCH = "search"
    COUPON_REDEEM = "coupon_redeem"
    """A purchase made with a coupon (``context.coupon_id`` names it)."""


#: Event types models read as another type: a coupon redemption is a purchase made with a
#: coupon, so it has no code of its own (model inputs and saved artifacts keep their shape).
EVENT_TYPE_ALIASES: dict[str, str] = {EventType.COUPON_REDEEM.value: EventType.PURCHASE.value}

#: Stable small integer per event type (used as a model input and in compact storage); an
#: alias (:data:`EVENT_TYPE_ALIASES`) has none, see :data:`MODEL_EVENT_CODES`.
EVENT_TYPE_CODES: dict[str, int] = {
    t.value: i for i, t in enumerate(t for t in EventType if t.value not in EVENT_TYPE_ALIASES)
}

#: The code models read for every event type, aliases included (a redemption reads as a purchase).
MODEL_EVENT_CODES: dict[str, int] = {
    **EVENT_TYPE_CODES,
    **{alias: EVENT_TYPE_CODES[kind] for alias, kind in EVENT_TYPE_ALIASES.items()},
}


class Columns:
    """Column names of the canonical event and item frames (the one place they are spelled)."""

    USER = "user_id"
    ITEM = "item_id"
    EVENT_TYPE = "event_type"
    TIMESTAMP = "timestamp"  # float seconds since the Unix epoch, UTC
    VALUE = "value"
    SESSION = "session_id"
    CONTEXT = "context"  # JSON object as text

    TITLE = "title"
    DESCRIPTION = "description"
    CATEGORY = "category"
    BRAND = "brand"
    PRICE = "price"
    IN_STOCK = "in_stock"
    ATTRIBUTES = "attributes"  # JSON object as text

    EVENT_COLUMNS = (USER, ITEM, EVENT_TYPE, TIMESTAMP, VALUE, SESSION, CONTEXT)
    ITEM_COLUMNS = (ITEM, TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE, IN_STOCK, ATTRIBUTES)


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One past action in a query's history (oldest first in a history)."""

    item_id: ItemId
    event_type: str = EventType.VIEW.value
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """What a recommendation is asked for.

    Live updates reach models only through the query (never by mutating a fitted model), so
    the request right after an event already sees it.

    Attributes:
        user_id: The shopper, if known (``None`` for an anonymous session).
        history: The shopper's recent actions, oldest first, including the live session.
        context_items: Items on screen or in the cart that the result should relate to.
        time: Request time (seconds since the epoch), for recency-aware models.
    """

    user_id: UserId | None = None
    history: tuple[HistoryEvent, ...] = ()
    context_items: tuple[ItemId, ...] = ()
    time: float | None = None

    @classmethod
    def from_items(cls, items: list[ItemId] | tuple[ItemId, ...], **kwargs: Any) -> Query:
        """Build an anonymous query whose history is ``items`` viewed in this order."""
        return cls(history=tuple(HistoryEvent(i) for i in items), **kwargs)

    @property
    def history_items(self) -> tuple[ItemId, ...]:
        """Item ids of the history, oldest first."""
        return tuple(e.item_id for e in self.history)


@dataclass(frozen=True)
class Candidates:
    """Items with scores, best first once ranked; ``NaN`` means the scorer could not score it."""

    item_ids: tuple[ItemId, ...]
    scores: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))

    def __post_init__(self) -> None:
        if len(self.item_ids) != len(self.scores):
            raise ValueError(
                f"Candidates: {len(self.item_ids)} item ids but {len(self.scores)} scores"
            )

    def __len__(self) -> int:
        return len(self.item_ids)

    def top(self, k: int) -> Candidates:
        """The ``k`` best-scored items (NaN scores dropped), highest first; ties by item order."""
        scores = np.asarray(self.scores, dtype=np.float32)
        order = top_indices(scores, k)
        return Candidates(tuple(self.item_ids[i] for i in order), scores[order])


def top_indices(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    """Positions of the ``k`` largest scores (NaN dropped), highest first; ties by position."""
    valid = np.flatnonzero(~np.isnan(scores))
    if 0 < k < len(valid):
        # Partial selection first (O(n)); every item tied with the k-th stays in, so the
        # stable sort below still breaks ties by position.
        kth = -np.partition(-scores[valid], k - 1)[k - 1]
        valid = valid[scores[valid] >= kth]
    return valid[np.argsort(-scores[valid], kind="stable")][:k]
