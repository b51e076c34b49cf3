"""A/B testing: stable assignment of shoppers to variants, and impressions, clicks, conversions.

A shopper (or an anonymous session) is assigned by a salted SHA-256 hash of their id, so the
same shopper always sees the same variant, in proportion to the configured weights. Every
response gets a recommendation id; click and purchase events that quote it in
``context.recommendation_id`` count for the variant that served it (each response counts at
most one click and one conversion). The counters live in this process's memory
(:class:`MemoryCounters`, restarting at zero) or in Redis (:class:`RedisCounters`), where every
replica counts into the same totals and they survive restarts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Protocol

import redis

from shoprec.events import Event, RedisConnection
from shoprec.types import EventType

#: Context key of an event that refers to the response it came from.
RECOMMENDATION_ID = "recommendation_id"
_CLICK = EventType.CLICK.value
_PURCHASE = EventType.PURCHASE.value
# The kind each counted event type credits (a coupon redemption is a purchase with a coupon).
_CREDITS = {_CLICK: _CLICK, _PURCHASE: _PURCHASE, EventType.COUPON_REDEEM.value: _PURCHASE}
_BUCKETS = 10_000
#: How long a response's id can still be credited with a click or a purchase (seconds).
ATTRIBUTION_WINDOW_S = 7 * 86_400

log = logging.getLogger("shoprec.serving")


@dataclass
class VariantCounts:
    """Counters of one variant."""

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0


class ExperimentCounters(Protocol):
    """Where impressions, clicks and conversions are counted (thread-safe)."""

    def served(self, variant: str, rec_id: str) -> None:
        """Count an impression of ``variant`` under the new recommendation id ``rec_id``."""

    def credit(self, quoted: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Count each ``(rec_id, "click" | "purchase")`` once per response it quotes.

        Returns:
            ``(variant, kind)`` for each that counted (the id was served and not yet credited
            with that kind).
        """

    def totals(self, names: Sequence[str]) -> dict[str, VariantCounts]:
        """The counts of each named variant."""

    def close(self) -> None:
        """Write what is pending and stop any background work."""


@dataclass
class _Served:
    variant: str
    kinds: set[str] = field(default_factory=set)  # "click", "purchase" already counted


class MemoryCounters:
    """Counters in this process's memory; the latest ``remember`` responses can be credited."""

    def __init__(self, remember: int = 200_000) -> None:
        self._remember = remember
        self._served: OrderedDict[str, _Served] = OrderedDict()
        self._counts: dict[str, VariantCounts] = {}
        self._lock = threading.Lock()

    def _of(self, variant: str) -> VariantCounts:
        return self._counts.setdefault(variant, VariantCounts())

    def served(self, variant: str, rec_id: str) -> None:
        """Count an impression (see :class:`ExperimentCounters`)."""
        with self._lock:
            self._of(variant).impressions += 1
            self._served[rec_id] = _Served(variant)
            while len(self._served) > self._remember:
                self._served.popitem(last=False)

    def credit(self, quoted: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Count clicks and purchases once per response (see :class:`ExperimentCounters`)."""
        counted: list[tuple[str, str]] = []
        with self._lock:
            for rec_id, kind in quoted:
                served = self._served.get(rec_id)
                if served is None or kind in served.kinds:
                    continue
                served.kinds.add(kind)
                counted.append((served.variant, kind))
                counts = self._of(served.variant)
                if kind == _CLICK:
                    counts.clicks += 1
                else:
                    counts.conversions += 1
        return counted

    def totals(self, names: Sequence[str]) -> dict[str, VariantCounts]:
        """A copy of each named variant's counts."""
        with self._lock:
            return {n: VariantCounts(**vars(self._of(n))) for n in names}

    def close(self) -> None:
        """Nothing to write: the counts live in this object."""


# KEYS: the counts hash, then per quoted id its "served" key (holding the variant) and its
# "credited" key for that kind. ARGV: the kinds. ``SET NX`` credits each (id, kind) once.
_CREDIT = f"""
local counted = {{}}
for i = 1, #ARGV do
  local variant = redis.call('GET', KEYS[2 * i])
  local kind = ARGV[i]
  if variant and redis.call('SET', KEYS[2 * i + 1], 1, 'NX', 'EX', {ATTRIBUTION_WINDOW_S}) then
    local field = kind == '{_CLICK}' and 'clicks' or 'conversions'
    redis.call('HINCRBY', KEYS[1], variant .. ':' .. field, 1)
    table.insert(counted, variant)
    table.insert(counted, kind)
  end
end
return counted
"""


class RedisCounters:
    """Counters in Redis, shared by every replica and kept across restarts.

    Impressions are written by a background thread every ``flush_interval_s`` (one pipelined
    round trip for all of them), not on the request path: on a busy machine each round trip a
    request waits for costs a scheduling delay. Before crediting clicks and before reading the
    totals this replica writes its pending impressions, so its own responses are always
    credited; another replica's response is credited once that replica has written it (within
    the interval). While Redis is unreachable nothing is counted (logged), so memory stays
    bounded and recommendations never fail for it.

    Args:
        connection: The Redis connection (and key prefix).
        flush_interval_s: How often pending impressions are written (0: at once, for tests).
    """

    def __init__(self, connection: RedisConnection, flush_interval_s: float = 0.1) -> None:
        self._redis = connection
        self._counts = connection.key("ab", "counts")
        self._credit = connection.client.register_script(_CREDIT)
        self._interval = flush_interval_s
        self._pending: list[tuple[str, str]] = []  # (variant, recommendation id)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    def _served_key(self, rec_id: str) -> str:
        return self._redis.key("ab", "served", rec_id)

    def served(self, variant: str, rec_id: str) -> None:
        """Count an impression (see :class:`ExperimentCounters`)."""
        with self._lock:
            self._pending.append((variant, rec_id))
            if self._interval > 0 and self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._keep_flushing, name="shoprec-ab-counters", daemon=True
                )
                self._flusher.start()
        if self._interval <= 0:
            self.flush()

    def _keep_flushing(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> None:
        """Write the pending impressions in one round trip."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            pipe = self._redis.client.pipeline(transaction=False)
            for variant, shown in Counter(v for v, _ in batch).items():
                pipe.hincrby(self._counts, f"{variant}:impressions", shown)
            for variant, rec_id in batch:
                pipe.set(self._served_key(rec_id), variant, ex=ATTRIBUTION_WINDOW_S)
            pipe.execute()
        except redis.RedisError as error:
            log.warning("%d impressions not counted: %s", len(batch), error)

    def credit(self, quoted: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Count clicks and purchases once per response (see :class:`ExperimentCounters`)."""
        if not quoted:
            return []
        self.flush()
        keys = [self._counts]
        for rec_id, kind in quoted:
            keys += [self._served_key(rec_id), self._redis.key("ab", "credited", rec_id, kind)]
        try:
            flat = self._credit(keys=keys, args=[kind for _, kind in quoted])
        except redis.RedisError as error:
            log.warning("%d clicks/purchases not credited: %s", len(quoted), error)
            return []
        return [(flat[i].decode(), flat[i + 1].decode()) for i in range(0, len(flat), 2)]

    def totals(self, names: Sequence[str]) -> dict[str, VariantCounts]:
        """Each named variant's counts (zeros while Redis is unreachable)."""
        self.flush()
        raw: dict[bytes, bytes] = {}
        try:
            raw = self._redis.client.hgetall(self._counts)  # type: ignore[assignment]
        except redis.RedisError as error:
            log.warning("experiment counts unavailable: %s", error)
        values = {k.decode(): int(v) for k, v in raw.items()}
        return {
            n: VariantCounts(
                values.get(f"{n}:impressions", 0),
                values.get(f"{n}:clicks", 0),
                values.get(f"{n}:conversions", 0),
            )
            for n in names
        }

    def close(self) -> None:
        """Stop the background thread and write what is pending."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self.flush()


class Experiment:
    """Variant assignment, and the counters of each variant (thread-safe).

    Args:
        variants: ``(name, weight)`` pairs; weights are relative.
        salt: Mixed into the hash, so changing it reshuffles shoppers.
        counters: Where the counts are kept (default: this process's memory).
    """

    def __init__(
        self,
        variants: Sequence[tuple[str, float]],
        salt: str = "shoprec",
        counters: ExperimentCounters | None = None,
    ) -> None:
        if not variants:
            raise ValueError("an experiment needs at least one variant")
        self.names = [name for name, _ in variants]
        self.weights = [float(w) for _, w in variants]
        total = sum(self.weights)
        self._bounds = [round(_BUCKETS * c / total) for c in accumulate(self.weights)]
        self.salt = salt
        self.counters = counters if counters is not None else MemoryCounters()

    def assign(self, key: str | None) -> str:
        """The variant of a shopper or session id (``None``: a random one, weighted)."""
        if key is None:
            key = uuid.uuid4().hex
        digest = hashlib.sha256(f"{self.salt}:{key}".encode()).digest()
        bucket = int.from_bytes(digest[:8], "big") % _BUCKETS
        return self.names[min(bisect_right(self._bounds, bucket), len(self.names) - 1)]

    def served(self, variant: str) -> str:
        """Record an impression of ``variant``; return the new recommendation id."""
        rec_id = uuid.uuid4().hex
        self.counters.served(variant, rec_id)
        return rec_id

    def observe(self, events: Sequence[Event]) -> list[tuple[str, str]]:
        """Count clicks and purchases that quote a recommendation id that was served.

        Returns:
            ``(variant, "click" | "purchase")`` for each event that counted.
        """
        quoted = [
            (rec_id, _CREDITS[kind])
            for event in events
            if (kind := event.event_type.value) in _CREDITS
            and isinstance(rec_id := event.context.get(RECOMMENDATION_ID), str)
        ]
        return self.counters.credit(quoted)

    def snapshot(self) -> list[tuple[str, float, VariantCounts]]:
        """``(name, weight, counts)`` per variant (a copy)."""
        counts = self.counters.totals(self.names)
        return [(n, w, counts[n]) for n, w in zip(self.names, self.weights, strict=True)]
