"""The shared catalogue store: items in PostgreSQL, upserts in one transaction, patches locked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from shoprec.data import ITEM_SCHEMA
from shoprec.types import Columns, ItemId

from .catalog import _distinct
from .postgres import PostgresDatabase
from .schema import Item
from .store import ClosingStore
from .validation import item_rows

# ``position`` keeps first-insertion order for frame(): an upsert that replaces an item updates
# the row in place and keeps its position (a replaced row's drawn number is simply unused).
_DDL = """
CREATE TABLE IF NOT EXISTS items (
    position BIGINT GENERATED ALWAYS AS IDENTITY,
    item_id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    category TEXT,
    brand TEXT,
    price DOUBLE PRECISION,
    in_stock BOOLEAN NOT NULL,
    attributes TEXT
);
CREATE INDEX IF NOT EXISTS items_position ON items (position)
"""
_COLUMNS = ", ".join(ITEM_SCHEMA)
_SELECT = f"SELECT {_COLUMNS} FROM items"
# Booleans print as t/f in CSV; their text cast (true/false) is what polars parses.
_FRAME = "SELECT {} FROM items ORDER BY position".format(
    ", ".join(f"{c}::text" if c == Columns.IN_STOCK else c for c in ITEM_SCHEMA)
)
# Each row is its own statement (psycopg pipelines them), so a later row of a batch for the
# same id simply replaces the earlier one, as in the other catalogues.
_UPSERT = (
    f"INSERT INTO items ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(ITEM_SCHEMA))}) "
    f"ON CONFLICT (item_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ITEM_SCHEMA if c != Columns.ITEM)
)


class PostgresCatalog(ClosingStore):
    """A :class:`~shoprec.events.Catalog` in PostgreSQL, shared by many processes.

    Every write is one transaction that returns after its COMMIT; :meth:`patch` reads and
    writes the item under its row lock (``SELECT ... FOR UPDATE``), so concurrent patches
    from any process never lose an update.

    Args:
        url: ``postgresql://user:password@host:port/dbname``; the table is created if missing.
        max_connections: Pool size bound.
        timeout_s: How long a call waits for a connection before raising
            :class:`~shoprec.errors.BackendUnavailableError`.

    Raises:
        BackendUnavailableError: The server cannot be reached (message names the host).
        StoreError: The URL is invalid or the table cannot be created.
    """

    def __init__(self, url: str, *, max_connections: int = 4, timeout_s: float = 5.0) -> None:
        self._db = PostgresDatabase(url, _DDL, max_connections=max_connections, timeout_s=timeout_s)

    @property
    def where(self) -> str:
        """The server and database, for messages (no password)."""
        return self._db.where

    def upsert(self, items: pl.DataFrame | Sequence[Item]) -> int:
        """Insert or replace a batch of items in one durable transaction."""
        rows = item_rows(items)
        with self._db.transaction("upsert failed") as conn, conn.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)
        return len(rows)

    def patch(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item | None:
        """Change some fields of one item in one transaction (see ``Catalog.patch``)."""
        with self._db.transaction("patch failed") as conn:
            row = conn.execute(f"{_SELECT} WHERE item_id = %s FOR UPDATE", (item_id,)).fetchone()
            if row is None:
                return None
            item = Item.from_row(row).patched(changes)
            conn.execute(_UPSERT, item.to_row())
        return item

    def delete(self, item_ids: ItemId | Iterable[ItemId]) -> int:
        """Remove one item or several in one transaction; return how many existed."""
        with self._db.transaction("delete failed") as conn:
            cursor = conn.execute(
                "DELETE FROM items WHERE item_id = ANY(%s)", (list(_distinct(item_ids)),)
            )
        return cursor.rowcount

    def get(self, item_id: ItemId) -> Item | None:
        """The item, or ``None``."""
        rows = self._db.query(f"{_SELECT} WHERE item_id = %s", (item_id,))
        return Item.from_row(rows[0]) if rows else None

    def frame(self) -> pl.DataFrame:
        """All items (``ITEM_SCHEMA``), in first-insertion order."""
        return self._db.query_frame(_FRAME, (), ITEM_SCHEMA)

    def count(self) -> int:
        """Number of items."""
        return int(self._db.query("SELECT COUNT(*) FROM items")[0][0])

    def close(self) -> None:
        """Close the connection pool; later calls raise :class:`StoreError`. Idempotent."""
        self._db.close()
