"""The catalogue facts business rules read (stock, price, category, title), mirrored in memory.

Rules run on every request, so they read this mirror rather than the catalogue store. The
service writes every catalogue change to the store first and then here, so an out-of-stock or
deleted item leaves every result from the next request on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import polars as pl

from shoprec.events import Item
from shoprec.types import Columns, ItemId


class CatalogView:
    """A thread-safe in-memory mirror of the item catalogue.

    An item is *available* when it is listed and in stock. A shop that keeps no catalogue at
    all (events only) has every item available except those explicitly deleted.

    Args:
        items: The initial items.
    """

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[ItemId, Item] = {item.item_id: item for item in items}
        self._deleted: set[ItemId] = set()
        self._lock = threading.Lock()  # serialises writers; readers use single dict lookups

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> CatalogView:
        """A view of a canonical item frame (e.g. ``Catalog.frame()``)."""
        cols = [c for c in Columns.ITEM_COLUMNS if c in frame.columns]
        return cls(Item.from_row(row) for row in frame.select(cols).iter_rows())

    def upsert(self, items: Sequence[Item]) -> None:
        """Add or replace items (a deleted id listed again comes back)."""
        with self._lock:
            for item in items:
                self._items[item.item_id] = item
                self._deleted.discard(item.item_id)

    def delete(self, item_ids: Iterable[ItemId]) -> None:
        """Remove items; they are unavailable from now on."""
        with self._lock:
            for item_id in item_ids:
                self._items.pop(item_id, None)
                self._deleted.add(item_id)

    def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None`` when it is not listed."""
        return self._items.get(item_id)

    def is_available(self, item_id: ItemId) -> bool:
        """Whether the item may be recommended (listed and in stock; see the class docs)."""
        item = self._items.get(item_id)
        if item is not None:
            return item.in_stock
        return not self._items and item_id not in self._deleted

    def title(self, item_id: ItemId) -> str:
        """The item's title, or its id when it has none."""
        item = self._items.get(item_id)
        return item.title if item is not None and item.title else item_id

    def item_ids(self) -> list[ItemId]:
        """Every listed item id, in listing order."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)
