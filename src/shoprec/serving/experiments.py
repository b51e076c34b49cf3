"""A/B testing: stable assignment of shoppers to variants, and impressions, clicks, conversions.

A shopper (or an anonymous session) is assigned by a salted SHA-256 hash of their id, so the
same shopper always sees the same variant, in proportion to the configured weights. Every
response gets a recommendation id; click and purchase events that quote it in
``context.recommendation_id`` count for the variant that served it (each response counts at
most one click and one conversion). Counters live in memory and restart at zero.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from shoprec.events import Event
from shoprec.types import EventType

#: Context key of an event that refers to the response it came from.
RECOMMENDATION_ID = "recommendation_id"
_CLICK = EventType.CLICK.value
_PURCHASE = EventType.PURCHASE.value
_BUCKETS = 10_000


@dataclass
class VariantCounts:
    """Counters of one variant."""

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0


@dataclass
class _Served:
    variant: str
    kinds: set[str] = field(default_factory=set)  # "click", "purchase" already counted


class Experiment:
    """Variant assignment and counters (thread-safe).

    Args:
        variants: ``(name, weight)`` pairs; weights are relative.
        salt: Mixed into the hash, so changing it reshuffles shoppers.
        remember: Recommendation ids remembered for attributing later events.
    """

    def __init__(
        self, variants: Sequence[tuple[str, float]], salt: str = "shoprec", remember: int = 200_000
    ) -> None:
        if not variants:
            raise ValueError("an experiment needs at least one variant")
        self.names = [name for name, _ in variants]
        self.weights = [float(w) for _, w in variants]
        total = sum(self.weights)
        self._bounds = [round(_BUCKETS * c / total) for c in accumulate(self.weights)]
        self.salt = salt
        self._remember = remember
        self._served: OrderedDict[str, _Served] = OrderedDict()
        self.counts = {name: VariantCounts() for name in self.names}
        self._lock = threading.Lock()

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
        with self._lock:
            self.counts[variant].impressions += 1
            self._served[rec_id] = _Served(variant)
            while len(self._served) > self._remember:
                self._served.popitem(last=False)
        return rec_id

    def observe(self, events: Sequence[Event]) -> list[tuple[str, str]]:
        """Count clicks and purchases that quote a recommendation id this process served.

        Returns:
            ``(variant, "click" | "purchase")`` for each event that counted.
        """
        counted: list[tuple[str, str]] = []
        with self._lock:
            for event in events:
                rec_id = event.context.get(RECOMMENDATION_ID)
                kind = event.event_type.value
                if kind not in (_CLICK, _PURCHASE) or not isinstance(rec_id, str):
                    continue
                served = self._served.get(rec_id)
                if served is None or kind in served.kinds:
                    continue
                served.kinds.add(kind)
                counted.append((served.variant, kind))
                counts = self.counts[served.variant]
                if kind == _CLICK:
                    counts.clicks += 1
                else:
                    counts.conversions += 1
        return counted

    def snapshot(self) -> list[tuple[str, float, VariantCounts]]:
        """``(name, weight, counts)`` per variant (a copy)."""
        with self._lock:
            return [
                (n, w, VariantCounts(**vars(self.counts[n])))
                for n, w in zip(self.names, self.weights, strict=True)
            ]
