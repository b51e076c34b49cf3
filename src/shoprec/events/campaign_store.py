"""Sponsored-product campaigns and the ledger of their daily budgets.

A campaign (:class:`Campaign`) pays ``bid`` per impression of one item, up to ``daily_budget``
a (UTC) day. The definitions live in a :class:`CampaignStore` (memory or SQLite, beside the
events); the money lives in a :class:`BudgetLedger`, whose :meth:`~BudgetLedger.spend` is
atomic: it charges an impression only if the day's spend stays within the cap the caller
gives (the paced budget), so concurrent requests — threads of one process, or replicas sharing
Redis — never overspend. Amounts are counted in integer micro-units (``bid`` × 10⁶), so no
rounding drift accumulates over a day of impressions.

Ledgers: :class:`MemoryLedger` (a lock), :class:`SQLiteLedger` (one ``BEGIN IMMEDIATE``
transaction per impression, durable) and :class:`RedisLedger` (one Lua script per impression,
shared by replicas).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol, runtime_checkable

import redis
from pydantic import BaseModel, ConfigDict, Field

from shoprec.errors import StoreError

from .database import Database
from .redis_connection import RedisConnection
from .schema import MAX_AMOUNT, Id, Name, Title
from .store import Closable, ClosingStore

#: Micro-units per unit of money: amounts are counted as integers of these.
MICROS = 1_000_000
#: Most categories one campaign may target.
MAX_CATEGORIES = 1000
# Keys of a day's spend and impressions kept in Redis this long (they are read only that day).
_DAY_KEY_TTL_S = 3 * 86_400


class Pacing(StrEnum):
    """How a campaign's daily budget is spread over the day."""

    EVEN = "even"
    """At most the elapsed share of the day's budget (plus the configured slack) by now."""
    ASAP = "asap"
    """As fast as impressions come, until the day's budget is spent."""


_Money = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=MAX_AMOUNT)]


class Campaign(BaseModel):
    """A sponsored-product campaign as the shop registers it (``PUT /v1/campaigns``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    campaign_id: Id
    """The campaign's id; a click on its slot quotes it as ``context.campaign_id``."""
    item_id: Id
    """The item promoted."""
    bid: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0, le=MAX_AMOUNT)]
    """What one impression costs (the advertiser's bid)."""
    daily_budget: _Money
    """Most spent in one UTC day."""
    categories: Annotated[list[Name], Field(max_length=MAX_CATEGORIES)] = Field(
        default_factory=list
    )
    """Targeting: shown only to requests about these categories (or below them): the
    shopper's recent items, the items on screen or the category filtered on. Empty: any."""
    pacing: Pacing = Pacing.EVEN
    """``even`` spreads the budget over the day; ``asap`` spends it as impressions come."""
    active: Annotated[bool, Field(strict=True)] = True
    """``false`` pauses it."""
    title: Title | None = None
    """A name for the operator."""

    @property
    def cost_micros(self) -> int:
        """What one impression costs, in micro-units (at least 1)."""
        return max(round(self.bid * MICROS), 1)

    @property
    def budget_micros(self) -> int:
        """The daily budget in micro-units."""
        return round(self.daily_budget * MICROS)


@runtime_checkable
class CampaignStore(Closable, Protocol):
    """Campaign definitions by id; safe to share between threads."""

    def upsert(self, campaigns: Sequence[Campaign]) -> int:
        """Insert or replace campaigns atomically; how many were written."""

    def get(self, campaign_id: str) -> Campaign | None:
        """One campaign, or ``None``."""

    def all(self) -> list[Campaign]:
        """Every campaign, in first-insertion order."""

    def delete(self, campaign_id: str) -> bool:
        """Remove a campaign; whether it existed."""


class MemoryCampaignStore(ClosingStore):
    """A :class:`CampaignStore` in memory, for tests and ephemeral use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._campaigns: dict[str, Campaign] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory campaign store: the store is closed")

    def upsert(self, campaigns: Sequence[Campaign]) -> int:
        """Insert or replace campaigns."""
        with self._lock:
            self._check_open()
            for campaign in campaigns:
                self._campaigns[campaign.campaign_id] = campaign
        return len(campaigns)

    def get(self, campaign_id: str) -> Campaign | None:
        """One campaign, or ``None``."""
        with self._lock:
            self._check_open()
            return self._campaigns.get(campaign_id)

    def all(self) -> list[Campaign]:
        """Every campaign, in first-insertion order."""
        with self._lock:
            self._check_open()
            return list(self._campaigns.values())

    def delete(self, campaign_id: str) -> bool:
        """Remove a campaign; whether it existed."""
        with self._lock:
            self._check_open()
            return self._campaigns.pop(campaign_id, None) is not None

    def close(self) -> None:
        """Drop everything; later calls raise :class:`StoreError`. Idempotent."""
        with self._lock:
            self._closed = True
            self._campaigns.clear()


_CAMPAIGNS_DDL = """
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
)
"""


class SQLiteCampaignStore(ClosingStore):
    """A :class:`CampaignStore` in a SQLite file (WAL, durable commits).

    Args:
        path: The database file; created if missing (may be the events' file).

    Raises:
        StoreError: The file cannot be opened as a shoprec store.
    """

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path, _CAMPAIGNS_DDL)

    def upsert(self, campaigns: Sequence[Campaign]) -> int:
        """Insert or replace campaigns in one durable transaction."""
        rows = [(c.campaign_id, c.model_dump_json()) for c in campaigns]
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO campaigns (campaign_id, body) VALUES (?, ?) "
                "ON CONFLICT (campaign_id) DO UPDATE SET body = excluded.body",
                rows,
            )
        return len(rows)

    def get(self, campaign_id: str) -> Campaign | None:
        """One campaign, or ``None``."""
        rows = self._db.query("SELECT body FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        return Campaign.model_validate_json(rows[0][0]) if rows else None

    def all(self) -> list[Campaign]:
        """Every campaign, in first-insertion order."""
        rows = self._db.query("SELECT body FROM campaigns ORDER BY rowid")
        return [Campaign.model_validate_json(body) for (body,) in rows]

    def delete(self, campaign_id: str) -> bool:
        """Remove a campaign in one transaction; whether it existed."""
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        return cursor.rowcount > 0

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        self._db.close()


@dataclass(frozen=True)
class CampaignCounts:
    """What a campaign has served and spent.

    Attributes:
        impressions: Impressions charged, all days.
        clicks: Clicks quoting the campaign, all days.
        spent_micros: Spent on the day asked about, in micro-units.
    """

    impressions: int = 0
    clicks: int = 0
    spent_micros: int = 0


@runtime_checkable
class BudgetLedger(Protocol):
    """Each campaign's spend per day, impressions and clicks; charges are atomic."""

    def spend(self, campaign_id: str, day: int, cost_micros: int, cap_micros: int) -> bool:
        """Charge one impression if the day's spend stays within ``cap_micros``; whether it did.

        Atomic against every other caller of the same ledger (threads, or replicas for a
        shared one): the spend never passes the cap.
        """

    def click(self, campaign_id: str) -> None:
        """Count a click on the campaign's slot."""

    def counts(self, campaign_ids: Sequence[str], day: int) -> dict[str, CampaignCounts]:
        """Counters of each campaign (the spend of ``day``)."""

    def reset(self, campaign_id: str) -> None:
        """Drop a deleted campaign's counters."""

    def close(self) -> None:
        """Release resources."""


class MemoryLedger:
    """A :class:`BudgetLedger` in this process's memory, charged under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: Counter[tuple[str, int]] = Counter()
        self._impressions: Counter[str] = Counter()
        self._clicks: Counter[str] = Counter()

    def spend(self, campaign_id: str, day: int, cost_micros: int, cap_micros: int) -> bool:
        """Charge one impression within the cap (see :class:`BudgetLedger`)."""
        with self._lock:
            key = (campaign_id, day)
            if self._spent[key] + cost_micros > cap_micros:
                return False
            self._spent[key] += cost_micros
            self._impressions[campaign_id] += 1
            return True

    def click(self, campaign_id: str) -> None:
        """Count a click."""
        with self._lock:
            self._clicks[campaign_id] += 1

    def counts(self, campaign_ids: Sequence[str], day: int) -> dict[str, CampaignCounts]:
        """Counters of each campaign."""
        with self._lock:
            return {
                c: CampaignCounts(self._impressions[c], self._clicks[c], self._spent[(c, day)])
                for c in campaign_ids
            }

    def reset(self, campaign_id: str) -> None:
        """Drop a campaign's counters."""
        with self._lock:
            self._impressions.pop(campaign_id, None)
            self._clicks.pop(campaign_id, None)
            for key in [k for k in self._spent if k[0] == campaign_id]:
                del self._spent[key]

    def close(self) -> None:
        """Nothing to release."""


_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS campaign_spend (
    campaign_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    spent INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, day)
);
CREATE TABLE IF NOT EXISTS campaign_counts (
    campaign_id TEXT PRIMARY KEY NOT NULL,
    impressions INTEGER NOT NULL DEFAULT 0,
    clicks INTEGER NOT NULL DEFAULT 0
)
"""


class SQLiteLedger:
    """A :class:`BudgetLedger` in a SQLite file: each charge is one durable transaction.

    The write lock of the file makes the check and the charge one step, for every thread
    and every process writing the file.

    Args:
        path: The database file (may be the events' file).
    """

    def __init__(self, path: str | Path) -> None:
        self._db = Database(path, _LEDGER_DDL)

    def spend(self, campaign_id: str, day: int, cost_micros: int, cap_micros: int) -> bool:
        """Charge one impression within the cap, in one transaction."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT spent FROM campaign_spend WHERE campaign_id = ? AND day = ?",
                (campaign_id, day),
            ).fetchone()
            spent = int(row[0]) if row else 0
            if spent + cost_micros > cap_micros:
                return False
            conn.execute(
                "INSERT INTO campaign_spend (campaign_id, day, spent) VALUES (?, ?, ?) "
                "ON CONFLICT (campaign_id, day) DO UPDATE SET spent = excluded.spent",
                (campaign_id, day, spent + cost_micros),
            )
            conn.execute(
                "INSERT INTO campaign_counts (campaign_id, impressions) VALUES (?, 1) "
                "ON CONFLICT (campaign_id) DO UPDATE SET impressions = impressions + 1",
                (campaign_id,),
            )
        return True

    def click(self, campaign_id: str) -> None:
        """Count a click in one transaction."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO campaign_counts (campaign_id, clicks) VALUES (?, 1) "
                "ON CONFLICT (campaign_id) DO UPDATE SET clicks = clicks + 1",
                (campaign_id,),
            )

    def counts(self, campaign_ids: Sequence[str], day: int) -> dict[str, CampaignCounts]:
        """Counters of each campaign."""
        counts = dict.fromkeys(campaign_ids, CampaignCounts())
        if not counts:
            return counts
        marks = ", ".join("?" * len(counts))
        totals = self._db.query(
            f"SELECT campaign_id, impressions, clicks FROM campaign_counts "
            f"WHERE campaign_id IN ({marks})",
            list(counts),
        )
        spent = dict(
            self._db.query(
                f"SELECT campaign_id, spent FROM campaign_spend "
                f"WHERE day = ? AND campaign_id IN ({marks})",
                [day, *counts],
            )
        )
        for campaign_id, impressions, clicks in totals:
            counts[campaign_id] = CampaignCounts(int(impressions), int(clicks), 0)
        return {
            c: CampaignCounts(v.impressions, v.clicks, int(spent.get(c, 0)))
            for c, v in counts.items()
        }

    def reset(self, campaign_id: str) -> None:
        """Drop a campaign's counters in one transaction."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM campaign_spend WHERE campaign_id = ?", (campaign_id,))
            conn.execute("DELETE FROM campaign_counts WHERE campaign_id = ?", (campaign_id,))

    def close(self) -> None:
        """Close the database connections. Idempotent."""
        self._db.close()


# KEYS: the day's spend, the campaign's counters. ARGV: cost, cap, TTL of the spend key.
_SPEND = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if spent + cost > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('HINCRBY', KEYS[2], 'impressions', 1)
return 1
"""


class RedisLedger:
    """A :class:`BudgetLedger` in Redis, shared by replicas: a charge is one Lua script.

    Redis runs a script alone, so the check and the charge are one step for every replica.

    Args:
        connection: The Redis connection (and key prefix).
    """

    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection
        self._spend = connection.client.register_script(_SPEND)

    def _spent_key(self, campaign_id: str, day: int) -> str:
        return self._redis.key("ads", "spent", str(day), campaign_id)

    def _counts_key(self, campaign_id: str) -> str:
        return self._redis.key("ads", "counts", campaign_id)

    def spend(self, campaign_id: str, day: int, cost_micros: int, cap_micros: int) -> bool:
        """Charge one impression within the cap, in one script.

        Raises:
            BackendUnavailableError: Redis cannot be reached (nothing was charged).
        """
        keys = [self._spent_key(campaign_id, day), self._counts_key(campaign_id)]
        try:
            return bool(self._spend(keys=keys, args=[cost_micros, cap_micros, _DAY_KEY_TTL_S]))
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error

    def click(self, campaign_id: str) -> None:
        """Count a click."""
        try:
            self._redis.client.hincrby(self._counts_key(campaign_id), "clicks", 1)
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error

    def counts(self, campaign_ids: Sequence[str], day: int) -> dict[str, CampaignCounts]:
        """Counters of each campaign (one round trip)."""
        try:
            pipe = self._redis.client.pipeline(transaction=False)
            for campaign_id in campaign_ids:
                pipe.hgetall(self._counts_key(campaign_id))
                pipe.get(self._spent_key(campaign_id, day))
            replies = pipe.execute()
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error
        counts = {}
        for k, campaign_id in enumerate(campaign_ids):
            totals, spent = replies[2 * k], replies[2 * k + 1]
            counts[campaign_id] = CampaignCounts(
                int(totals.get(b"impressions", 0)), int(totals.get(b"clicks", 0)), int(spent or 0)
            )
        return counts

    def reset(self, campaign_id: str) -> None:
        """Drop a campaign's counters (its spend keys expire by themselves)."""
        try:
            self._redis.client.delete(self._counts_key(campaign_id))
        except redis.RedisError as error:
            raise self._redis.unavailable(error) from error

    def close(self) -> None:
        """Nothing to release (the connection is the backends')."""
