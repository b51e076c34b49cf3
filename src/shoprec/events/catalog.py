"""The item catalogue store: upsert batches, patch fields (stock, price), delete, read.

Serving reads it for business rules (out-of-stock filtering, prices) and training reads it as
the canonical item frame. Batches are validated like event batches (all or nothing); a patch
re-validates the whole changed item.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl

from shoprec.data import ITEM_SCHEMA
from shoprec.errors import StoreError
from shoprec.types import Columns, ItemId

from .database import Database
from .schema import Item, ItemRow
from .store import Closable, ClosingStore
from .validation import item_rows


@runtime_checkable
class Catalog(Closable, Protocol):
    """A store of catalogue items keyed by ``item_id``; safe to share between threads."""

    def upsert(self, items: pl.DataFrame | Sequence[Item]) -> int:
        """Insert or replace a batch of items atomically; return how many rows it had.

        A replaced item keeps its position in :meth:`frame`; within a batch a later row for
        the same id wins.

        Raises:
            ValidationError: A row is invalid (names row and field); nothing was stored.
            StoreError: The store failed or is closed; nothing was stored.
        """

    def patch(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item | None:
        """Change some fields of one item, e.g. ``{"in_stock": False}`` or ``{"price": 9.5}``.

        Returns:
            The changed item, or ``None`` if there is no such item.

        Raises:
            ValidationError: A field is unknown or a value invalid; nothing was changed.
        """

    def delete(self, item_ids: ItemId | Iterable[ItemId]) -> int:
        """Remove one item or several; return how many existed."""

    def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None``."""

    def frame(self) -> pl.DataFrame:
        """All items with the canonical columns (``ITEM_SCHEMA``), in first-insertion order."""

    def count(self) -> int:
        """Number of items."""

    def close(self) -> None:
        """Release resources; later calls raise :class:`~shoprec.errors.StoreError`."""


def _distinct(item_ids: ItemId | Iterable[ItemId]) -> set[ItemId]:
    # A bare string is one id, not an iterable of one-letter ids.
    return {item_ids} if isinstance(item_ids, str) else set(item_ids)


class MemoryCatalog(ClosingStore):
    """A :class:`Catalog` kept in memory, for tests and ephemeral use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[ItemId, ItemRow] = {}  # insertion order = frame order
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory catalog: the store is closed")

    def upsert(self, items: pl.DataFrame | Sequence[Item]) -> int:
        """Insert or replace a batch of items atomically (see ``Catalog.upsert``)."""
        rows = item_rows(items)
        with self._lock:
            self._check_open()
            for row in rows:
                self._items[row[0]] = row
        return len(rows)

    def patch(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item | None:
        """Change some fields of one item (see ``Catalog.patch``)."""
        with self._lock:
            self._check_open()
            row = self._items.get(item_id)
            if row is None:
                return None
            item = Item.from_row(row).patched(changes)
            self._items[item_id] = item.to_row()
            return item

    def delete(self, item_ids: ItemId | Iterable[ItemId]) -> int:
        """Remove one item or several; return how many existed."""
        with self._lock:
            self._check_open()
            return sum(self._items.pop(i, None) is not None for i in _distinct(item_ids))

    def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None``."""
        with self._lock:
            self._check_open()
            row = self._items.get(item_id)
        return None if row is None else Item.from_row(row)

    def frame(self) -> pl.DataFrame:
        """All items (``ITEM_SCHEMA``), in first-insertion order."""
        with self._lock:
            self._check_open()
            rows = list(self._items.values())
        return pl.DataFrame(rows, schema=ITEM_SCHEMA, orient="row")

    def count(self) -> int:
        """Number of items."""
        with self._lock:
            self._check_open()
            return len(self._items)

    def close(self) -> None:
        """Drop the items; later calls raise :class:`StoreError`. Idempotent."""
        with self._lock:
            self._closed = True
            self._items.clear()


_DDL = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY NOT NULL,
    title TEXT,
    description TEXT,
    category TEXT,
    brand TEXT,
    price REAL,
    in_stock INTEGER NOT NULL,
    attributes TEXT
)
"""
_COLUMNS = ", ".join(ITEM_SCHEMA)
_SELECT = f"SELECT {_COLUMNS} FROM items"
# ON CONFLICT ... DO UPDATE keeps the row (and its rowid, hence its frame position).
_UPSERT = (
    f"INSERT INTO items ({_COLUMNS}) VALUES ({', '.join('?' * len(ITEM_SCHEMA))}) "
    f"ON CONFLICT (item_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ITEM_SCHEMA if c != Columns.ITEM)
)


class SQLiteCatalog(ClosingStore):
    """A :class:`Catalog` in a SQLite file (WAL, durable commits); may share the events' file.

    Args:
        path: The database file; created if missing.

    Raises:
        StoreError: The file cannot be opened as a shoprec store.
    """

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path, _DDL)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._db.path

    def upsert(self, items: pl.DataFrame | Sequence[Item]) -> int:
        """Insert or replace a batch of items in one durable transaction."""
        rows = item_rows(items)
        with self._db.transaction() as conn:
            conn.executemany(_UPSERT, rows)
        return len(rows)

    def patch(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item | None:
        """Change some fields of one item in one transaction (see ``Catalog.patch``)."""
        # Read and write under the write lock, so concurrent patches do not lose updates.
        with self._db.transaction() as conn:
            row = conn.execute(f"{_SELECT} WHERE item_id = ?", (item_id,)).fetchone()
            if row is None:
                return None
            item = Item.from_row(row).patched(changes)
            conn.execute(_UPSERT, item.to_row())
        return item

    def delete(self, item_ids: ItemId | Iterable[ItemId]) -> int:
        """Remove one item or several in one transaction; return how many existed."""
        with self._db.transaction() as conn:
            cursor = conn.executemany(
                "DELETE FROM items WHERE item_id = ?", [(i,) for i in _distinct(item_ids)]
            )
        return max(cursor.rowcount, 0)

    def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None``."""
        rows = self._db.query(f"{_SELECT} WHERE item_id = ?", (item_id,))
        return Item.from_row(rows[0]) if rows else None

    def frame(self) -> pl.DataFrame:
        """All items (``ITEM_SCHEMA``), in first-insertion order."""
        return self._db.query_frame(f"{_SELECT} ORDER BY rowid", (), ITEM_SCHEMA)

    def count(self) -> int:
        """Number of items."""
        return int(self._db.query("SELECT COUNT(*) FROM items")[0][0])

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        self._db.close()
