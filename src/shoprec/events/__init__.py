"""Events layer: event and item schemas, batch validation, the EventStore and the catalogue store.

Owns what happens between an event (or a catalogue change) arriving and it being durably
stored: the pydantic :class:`Event` / :class:`Item` models for single records, validation of
whole batches (all or nothing), the :class:`EventStore` protocol with its SQLite (WAL, durable),
PostgreSQL (shared by replicas) and in-memory backends, the :class:`Catalog` stores (both
picked by URL: :func:`open_event_store`, :func:`open_catalog`), and the live shopper state
rebuilt from the store (:class:`MemoryStateStore`); :func:`forget_shopper` forgets a shopper
in all of them. It builds on ``shoprec.types``, ``shoprec.errors`` and ``shoprec.data`` (the
canonical frame schemas) and must not import ``features``, ``models`` or anything above them.
"""

from .backends import POSTGRES_SCHEMES, open_catalog, open_event_store
from .campaign_store import (
    MICROS,
    BudgetLedger,
    Campaign,
    CampaignCounts,
    CampaignStore,
    MemoryCampaignStore,
    MemoryLedger,
    Pacing,
    RedisLedger,
    SQLiteCampaignStore,
    SQLiteLedger,
)
from .catalog import Catalog, MemoryCatalog, SQLiteCatalog
from .coupon_store import (
    Coupon,
    CouponScope,
    CouponStore,
    MemoryCouponStore,
    SQLiteCouponStore,
    StoredCoupon,
)
from .erasure import (
    REJECTS_FOLDER,
    Erasure,
    forget_in_rejects,
    forget_shopper,
    unforget_shopper,
)
from .history import HISTORY_LENGTH, stored_query
from .importer import ImportReport, import_files, import_frames
from .live_state import MemoryStateStore, ShopperState, StateStore, replay
from .memory_store import MemoryEventStore
from .postgres_catalog import PostgresCatalog
from .postgres_store import PostgresEventStore
from .pseudonyms import Pseudonyms
from .redis_connection import RedisConnection, connect_redis
from .redis_state import RedisStateStore
from .schema import (
    CAMPAIGN_ID,
    COUPON_ID,
    Amount,
    Description,
    Event,
    EventRow,
    Id,
    IdKey,
    Item,
    ItemRow,
    JsonObject,
    Name,
    NameKey,
    Price,
    Title,
    json_integer,
    problems_from_pydantic,
)
from .sqlite_store import SQLiteEventStore
from .store import SEQ, SEQ_EVENT_SCHEMA, Appended, EventStore, tombstone_key
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
    "CAMPAIGN_ID",
    "COUPON_ID",
    "MICROS",
    "BudgetLedger",
    "Campaign",
    "CampaignCounts",
    "CampaignStore",
    "Coupon",
    "CouponScope",
    "CouponStore",
    "MemoryCampaignStore",
    "MemoryCouponStore",
    "MemoryLedger",
    "Pacing",
    "RedisLedger",
    "SQLiteCampaignStore",
    "SQLiteCouponStore",
    "SQLiteLedger",
    "StoredCoupon",
    "Amount",
    "Description",
    "Id",
    "IdKey",
    "JsonObject",
    "Name",
    "NameKey",
    "Price",
    "Title",
    "json_integer",
    "HISTORY_LENGTH",
    "MAX_PROBLEMS_SHOWN",
    "POSTGRES_SCHEMES",
    "PROBLEM_SCHEMA",
    "REJECTS_FOLDER",
    "SEQ",
    "SEQ_EVENT_SCHEMA",
    "Appended",
    "BatchCheck",
    "Catalog",
    "Event",
    "EventRow",
    "EventStore",
    "Erasure",
    "ImportReport",
    "Item",
    "ItemRow",
    "MemoryCatalog",
    "MemoryEventStore",
    "MemoryStateStore",
    "PostgresCatalog",
    "PostgresEventStore",
    "Pseudonyms",
    "RedisConnection",
    "RedisStateStore",
    "SQLiteCatalog",
    "SQLiteEventStore",
    "ShopperState",
    "StateStore",
    "check_events",
    "check_items",
    "connect_redis",
    "event_rows",
    "forget_in_rejects",
    "forget_shopper",
    "import_files",
    "import_frames",
    "item_rows",
    "open_catalog",
    "open_event_store",
    "problems_from_pydantic",
    "replay",
    "stored_query",
    "tombstone_key",
    "unforget_shopper",
]
