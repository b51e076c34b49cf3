"""Coupons a shop registers, and their redemptions: the :class:`CouponStore` and its backends.

A coupon (:class:`Coupon`) takes a share off the price of the items in its scope (listed items,
categories and the categories below them, or brands) during its validity window, for at most
``budget`` redemptions in all and ``per_shopper`` per shopper. Redemptions arrive as
``coupon_redeem`` events; the store counts them per coupon (the budget) and per shopper (the
per-shopper limit). A shopper is kept only as the SHA-256 of their id (as tombstones are) and
:meth:`CouponStore.forget` drops even that, so forgetting a shopper (#18) leaves nothing here.

Backends: :class:`MemoryCouponStore` (tests, ephemeral use) and :class:`SQLiteCouponStore`
(durable, in the events' file). Which shoppers a coupon suits is not the store's business:
see ``shoprec.promotions``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shoprec.errors import StoreError
from shoprec.types import UserId

from .database import Database
from .schema import Id, Name, Title, json_integer
from .store import Closable, ClosingStore, tombstone_key

#: Latest time (seconds since the epoch) a coupon's window may name: the year 5138.
MAX_TIME = 1e11
#: Most targets one coupon may name.
MAX_TARGETS = 1000
#: Largest budget or per-shopper limit.
MAX_COUNT = 10**12


class CouponScope(StrEnum):
    """What a coupon's targets name."""

    ITEMS = "items"
    CATEGORIES = "categories"
    BRANDS = "brands"


_Time = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=MAX_TIME)]
_Count = Annotated[int, Field(ge=0, le=MAX_COUNT), BeforeValidator(json_integer)]


class Coupon(BaseModel):
    """A coupon as the shop registers it (``PUT /v1/coupons``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    coupon_id: Id
    """The coupon's id; ``coupon_redeem`` events quote it as ``context.coupon_id``."""
    scope: CouponScope
    """What ``targets`` name: ``items``, ``categories`` (and the categories below them) or
    ``brands``."""
    targets: Annotated[list[Name], Field(min_length=1, max_length=MAX_TARGETS)]
    """The item ids, categories or brands the discount applies to."""
    discount: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0, le=1.0)]
    """Share taken off the price: 0.2 is 20 % off."""
    valid_from: _Time | None = None
    """First moment it may be used (seconds since the epoch; ``null``: already)."""
    valid_until: _Time | None = None
    """Moment it expires (seconds since the epoch, exclusive; ``null``: never)."""
    budget: _Count | None = None
    """Redemptions allowed in all (``null``: unlimited)."""
    per_shopper: Annotated[int, Field(ge=1, le=MAX_COUNT), BeforeValidator(json_integer)] = 1
    """Redemptions allowed per shopper."""
    title: Title | None = None
    """What the shopper is shown, e.g. "20 % off running shoes"."""

    def is_active(self, now: float) -> bool:
        """Whether ``now`` lies in the validity window."""
        started = self.valid_from is None or self.valid_from <= now
        return started and (self.valid_until is None or now < self.valid_until)


@dataclass(frozen=True)
class StoredCoupon:
    """A coupon with the redemptions counted so far.

    Attributes:
        coupon: The coupon as registered.
        redeemed: ``coupon_redeem`` events stored for it (all shoppers).
    """

    coupon: Coupon
    redeemed: int

    @property
    def budget_left(self) -> int | None:
        """Redemptions still allowed (``None``: unlimited)."""
        budget = self.coupon.budget
        return None if budget is None else max(budget - self.redeemed, 0)


@runtime_checkable
class CouponStore(Closable, Protocol):
    """Coupons by id with their redemption counts; safe to share between threads."""

    def upsert(self, coupons: Sequence[Coupon]) -> int:
        """Insert or replace coupons atomically (their counts stay); how many were written."""

    def get(self, coupon_id: str) -> StoredCoupon | None:
        """One coupon, or ``None``."""

    def all(self) -> list[StoredCoupon]:
        """Every coupon, in first-insertion order."""

    def delete(self, coupon_id: str) -> bool:
        """Remove a coupon and its counts; whether it existed."""

    def redeem(self, coupon_id: str, user_id: UserId) -> bool:
        """Count one redemption by ``user_id``; ``False`` (nothing counted) for an unknown id."""

    def uses(self, user_id: UserId) -> dict[str, int]:
        """The shopper's redemptions per coupon id."""

    def forget(self, user_id: UserId) -> int:
        """Drop what the store keeps of a shopper (their per-coupon counts); rows removed."""


class MemoryCouponStore(ClosingStore):
    """A :class:`CouponStore` in memory, for tests and ephemeral use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._coupons: dict[str, Coupon] = {}
        self._redeemed: Counter[str] = Counter()
        self._uses: dict[str, Counter[str]] = {}  # user key -> coupon id -> uses
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory coupon store: the store is closed")

    def upsert(self, coupons: Sequence[Coupon]) -> int:
        """Insert or replace coupons (see ``CouponStore.upsert``)."""
        with self._lock:
            self._check_open()
            for coupon in coupons:
                self._coupons[coupon.coupon_id] = coupon
        return len(coupons)

    def get(self, coupon_id: str) -> StoredCoupon | None:
        """One coupon, or ``None``."""
        with self._lock:
            self._check_open()
            coupon = self._coupons.get(coupon_id)
            return None if coupon is None else StoredCoupon(coupon, self._redeemed[coupon_id])

    def all(self) -> list[StoredCoupon]:
        """Every coupon, in first-insertion order."""
        with self._lock:
            self._check_open()
            return [StoredCoupon(c, self._redeemed[i]) for i, c in self._coupons.items()]

    def delete(self, coupon_id: str) -> bool:
        """Remove a coupon and its counts; whether it existed."""
        with self._lock:
            self._check_open()
            self._redeemed.pop(coupon_id, None)
            for uses in self._uses.values():
                uses.pop(coupon_id, None)
            return self._coupons.pop(coupon_id, None) is not None

    def redeem(self, coupon_id: str, user_id: UserId) -> bool:
        """Count one redemption (see ``CouponStore.redeem``)."""
        with self._lock:
            self._check_open()
            if coupon_id not in self._coupons:
                return False
            self._redeemed[coupon_id] += 1
            self._uses.setdefault(tombstone_key(user_id), Counter())[coupon_id] += 1
            return True

    def uses(self, user_id: UserId) -> dict[str, int]:
        """The shopper's redemptions per coupon id."""
        with self._lock:
            self._check_open()
            return dict(self._uses.get(tombstone_key(user_id), {}))

    def forget(self, user_id: UserId) -> int:
        """Drop the shopper's per-coupon counts; rows removed."""
        with self._lock:
            self._check_open()
            return len(self._uses.pop(tombstone_key(user_id), {}))

    def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreError`. Idempotent."""
        with self._lock:
            self._closed = True
            self._coupons.clear()


_DDL = """
CREATE TABLE IF NOT EXISTS coupons (
    coupon_id TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL,
    redeemed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS coupon_uses (
    coupon_id TEXT NOT NULL,
    user_key TEXT NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (user_key, coupon_id)
)
"""
# ON CONFLICT ... DO UPDATE keeps the row, its rowid (listing order) and its count.
_UPSERT = (
    "INSERT INTO coupons (coupon_id, body) VALUES (?, ?) "
    "ON CONFLICT (coupon_id) DO UPDATE SET body = excluded.body"
)


def _loaded(body: str, redeemed: int) -> StoredCoupon:
    return StoredCoupon(Coupon.model_validate_json(body), int(redeemed))


class SQLiteCouponStore(ClosingStore):
    """A :class:`CouponStore` in a SQLite file (WAL, durable commits); may share the events' file.

    Args:
        path: The database file; created if missing.

    Raises:
        StoreError: The file cannot be opened as a shoprec store.
    """

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path, _DDL)

    def upsert(self, coupons: Sequence[Coupon]) -> int:
        """Insert or replace coupons in one durable transaction."""
        rows = [(c.coupon_id, c.model_dump_json()) for c in coupons]
        with self._db.transaction() as conn:
            conn.executemany(_UPSERT, rows)
        return len(rows)

    def get(self, coupon_id: str) -> StoredCoupon | None:
        """One coupon, or ``None``."""
        rows = self._db.query(
            "SELECT body, redeemed FROM coupons WHERE coupon_id = ?", (coupon_id,)
        )
        return _loaded(*rows[0]) if rows else None

    def all(self) -> list[StoredCoupon]:
        """Every coupon, in first-insertion order."""
        rows = self._db.query("SELECT body, redeemed FROM coupons ORDER BY rowid")
        return [_loaded(body, redeemed) for body, redeemed in rows]

    def delete(self, coupon_id: str) -> bool:
        """Remove a coupon and its counts in one transaction; whether it existed."""
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM coupons WHERE coupon_id = ?", (coupon_id,))
            conn.execute("DELETE FROM coupon_uses WHERE coupon_id = ?", (coupon_id,))
        return cursor.rowcount > 0

    def redeem(self, coupon_id: str, user_id: UserId) -> bool:
        """Count one redemption in one durable transaction (see ``CouponStore.redeem``)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE coupons SET redeemed = redeemed + 1 WHERE coupon_id = ?", (coupon_id,)
            )
            if cursor.rowcount == 0:
                return False
            conn.execute(
                "INSERT INTO coupon_uses (coupon_id, user_key, uses) VALUES (?, ?, 1) "
                "ON CONFLICT (user_key, coupon_id) DO UPDATE SET uses = uses + 1",
                (coupon_id, tombstone_key(user_id)),
            )
        return True

    def uses(self, user_id: UserId) -> dict[str, int]:
        """The shopper's redemptions per coupon id."""
        rows = self._db.query(
            "SELECT coupon_id, uses FROM coupon_uses WHERE user_key = ?", (tombstone_key(user_id),)
        )
        return {coupon_id: int(uses) for coupon_id, uses in rows}

    def forget(self, user_id: UserId) -> int:
        """Drop the shopper's per-coupon counts in one transaction; rows removed."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM coupon_uses WHERE user_key = ?", (tombstone_key(user_id),)
            )
        self._db.checkpoint()  # the deleted rows leave the write-ahead log too (best effort)
        return max(cursor.rowcount, 0)

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        self._db.close()
