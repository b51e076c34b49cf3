"""Events layer: event and item schemas, batch validation, the EventStore and the catalogue store.

Owns what happens between an event (or a catalogue change) arriving and it being durably
stored: the pydantic :class:`Event` / :class:`Item` models for single records, validation of
whole batches (all or nothing), the :class:`EventStore` protocol with its SQLite (WAL, durable)
and in-memory backends, the :class:`Catalog` store, and the live shopper state rebuilt
from the store (:class:`MemoryStateStore`). It builds on ``shoprec.types``, ``shoprec.errors``
and ``shoprec.data`` (the canonical frame schemas) and must not import ``features``,
``models`` or anything above them.
"""

from .catalog import Catalog, MemoryCatalog, SQLiteCatalog
from .history import HISTORY_LENGTH, stored_query
from .importer import ImportReport, import_files, import_frames
from .live_state import MemoryStateStore, ShopperState, StateStore
from .memory_store import MemoryEventStore
from .schema import Event, EventRow, Item, ItemRow, problems_from_pydantic
from .sqlite_store import SQLiteEventStore
from .store import SEQ, SEQ_EVENT_SCHEMA, EventStore
from .validation import (
    MAX_PROBLEMS_SHOWN,
    PROBLEM_SCHEMA,
    BatchCheck,
    check_events,
    check_items,
    event_rows,
    item_rows,
)

__all__ = [
    "HISTORY_LENGTH",
    "MAX_PROBLEMS_SHOWN",
    "PROBLEM_SCHEMA",
    "SEQ",
    "SEQ_EVENT_SCHEMA",
    "BatchCheck",
    "Catalog",
    "Event",
    "EventRow",
    "EventStore",
    "ImportReport",
    "Item",
    "ItemRow",
    "MemoryCatalog",
    "MemoryEventStore",
    "MemoryStateStore",
    "SQLiteCatalog",
    "SQLiteEventStore",
    "ShopperState",
    "StateStore",
    "check_events",
    "check_items",
    "event_rows",
    "import_files",
    "import_frames",
    "item_rows",
    "problems_from_pydantic",
    "stored_query",
]
