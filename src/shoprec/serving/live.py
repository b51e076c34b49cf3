"""The live side of the service: events, the catalogue and shoppers as they change.

:class:`LiveData` runs on the stores of :class:`~shoprec.serving.backends.Backends` and keeps
the process-local views a pipeline reads: the catalogue mirror the rules filter with and the
text index over item texts. Writes go to the durable store first and only then to the views
(shopper state, catalogue mirror, trending, text index), so an acknowledged write is both
durable and visible to the very next request. Only the events the store actually stored reach
the views: a client's retry of an event id already stored, or an event of a forgotten shopper,
is acknowledged and counted nowhere (#18). It also counts A/B impressions, clicks and
conversions into the Prometheus metrics.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shoprec.errors import Problem, ValidationError
from shoprec.events import (
    Appended,
    Erasure,
    Event,
    Item,
    Pseudonyms,
    ShopperState,
    forget_shopper,
)
from shoprec.features import make_text_encoder
from shoprec.pipeline import item_text
from shoprec.retrieval import IndexConfig, TextIndex
from shoprec.rules import CatalogView, in_category
from shoprec.settings import ServingSettings
from shoprec.types import ItemId, UserId

from .backends import Backends
from .errors import NotFoundError
from .metrics import ServiceMetrics

# Enough to read every event of one shopper.
_ALL_EVENTS = 10_000_000
#: The earliest event time the API accepts: 2000-01-01T00:00:00Z.
EARLIEST_TIMESTAMP = 946_684_800.0
# The latest accepted time moves in steps of this many seconds, so the OpenAPI document, which
# states it, stays true for a while after a client has read it.
_LATEST_STEP_S = 600.0


def latest_event_time(max_skew_s: float, now: float | None = None) -> float:
    """The latest event time accepted now: now plus the skew, rounded up to 10 minutes."""
    latest = (time.time() if now is None else now) + max_skew_s
    return math.ceil(latest / _LATEST_STEP_S) * _LATEST_STEP_S


class LiveData:
    """Event log, catalogue, shopper state, trending, text index and A/B counters.

    Args:
        backends: The opened stores (see :func:`~shoprec.serving.backends.open_backends`).
        config: Serving settings (batch limit, the pipeline's text encoder).
        metrics: Where events, clicks, conversions and impressions are counted.
    """

    def __init__(
        self, backends: Backends, config: ServingSettings, metrics: ServiceMetrics
    ) -> None:
        self.backends = backends
        self._max_batch = config.max_batch_size
        self._max_skew = config.max_clock_skew_s
        self._metrics = metrics
        self.catalog = CatalogView.from_frame(backends.catalogue.frame())
        pipe = config.pipeline
        self.text: TextIndex | None = None
        if pipe.text_encoder is not None:
            self.text = TextIndex(
                make_text_encoder(pipe.text_encoder, device="cpu"),
                IndexConfig(pipe.ann_min_items, pipe.ann_nprobe),
            )
            self._index_texts(self.listed_items())
        metrics.watch_sizes(backends.state.size, lambda: len(self.catalog))

    def close(self) -> None:
        """Close the stores."""
        self.backends.close()

    def _check_batch(self, size: int, what: str) -> None:
        # A 422 like any other declared limit (the OpenAPI document states maxItems).
        if size > self._max_batch:
            message = f"{size} {what} in one request; at most {self._max_batch} allowed"
            raise ValidationError([Problem("body", None, what, message)])

    def _check_times(self, events: Sequence[Event]) -> None:
        """Refuse timestamps before 2000 or later than now plus the allowed clock skew."""
        latest = latest_event_time(self._max_skew)
        problems = [
            Problem(
                "body",
                None,
                f"events.{row}.timestamp" if len(events) > 1 else "timestamp",
                f"{e.timestamp:.0f} is outside {EARLIEST_TIMESTAMP:.0f} (2000-01-01) .. "
                f"{latest:.0f} (now + {self._max_skew:g} s, to the next 10 minutes)",
            )
            for row, e in enumerate(events)
            if not EARLIEST_TIMESTAMP <= e.timestamp <= latest
        ]
        if problems:
            raise ValidationError(problems)

    # -- events and shoppers ---------------------------------------------------------------
    def ingest(self, events: Sequence[Event]) -> Appended:
        """Store events durably, then update shopper state, trending and experiments.

        Returns:
            What was stored: the events new to the store, with their last sequence number.

        Raises:
            TooLargeError: More events than ``max_batch_size``.
        """
        self._check_batch(len(events), "events")
        self._check_times(events)
        appended = self.backends.events.append_new(events)
        stored = appended.events
        if stored:
            # Only what was stored, with its real numbers: live state applies each once.
            self.backends.state.apply(stored, appended.last_seq)
            self.backends.trending.observe(stored)
            for variant, kind in self.backends.experiment.observe(stored):
                counter = self._metrics.clicks if kind == "click" else self._metrics.conversions
                counter.labels(variant).inc()
            self._metrics.events.inc(len(stored))
        return appended

    def forget(self, user_id: UserId, rejects: Path, pseudonyms: Pseudonyms) -> Erasure:
        """Forget a shopper: tombstone, events, live state, rejected rows, trending weight.

        Args:
            user_id: The shopper (their real id).
            rejects: The folder of rejects files to clean.
            pseudonyms: How the stores name shoppers.
        """
        events = self.backends.events
        stored_as = pseudonyms.of(user_id)
        events.tombstone(stored_as)  # first: nothing of theirs is counted after the read below
        counted = events.tail(stored_as, _ALL_EVENTS)
        erased = forget_shopper(user_id, events, self.backends.state, rejects, pseudonyms)
        self.backends.trending.discount(counted)
        return erased

    def shopper(self, user_id: UserId) -> ShopperState:
        """A shopper's live state."""
        return self.backends.state.get(user_id)

    # -- A/B experiment --------------------------------------------------------------------
    def assign(self, key: str | None) -> str:
        """The variant of a shopper or session id (``None``: a random one, weighted)."""
        return self.backends.experiment.assign(key)

    def served(self, variant: str) -> str:
        """Count an impression of ``variant``; return the new recommendation id."""
        rec_id = self.backends.experiment.served(variant)
        self._metrics.impressions.labels(variant).inc()
        return rec_id

    # -- catalogue -------------------------------------------------------------------------
    def listed_items(self) -> list[Item]:
        """Every item the catalogue lists, in its order."""
        return [i for i in map(self.catalog.get, self.catalog.item_ids()) if i is not None]

    def item(self, item_id: ItemId) -> Item:
        """One listed item.

        Raises:
            NotFoundError: The catalogue does not list it.
        """
        item = self.catalog.get(item_id)
        if item is None:
            raise NotFoundError(f"no item {item_id!r} in the catalogue")
        return item

    def search(self, words: str | None, category: str | None) -> list[Item]:
        """Listed items in ``category`` (or one below it) whose texts contain every word."""
        terms = (words or "").lower().split()
        return [
            item
            for item in self.listed_items()
            if (category is None or in_category(item.category, category)) and _matches(item, terms)
        ]

    def category_counts(self) -> list[tuple[str, int]]:
        """``(category, listed items)`` for every category, the largest first."""
        counts = Counter(item.category for item in self.listed_items() if item.category)
        return counts.most_common()

    def knows_item(self, item_id: ItemId) -> bool:
        """Whether the catalogue lists the item or the text index holds it."""
        listed = self.catalog.get(item_id) is not None
        return listed or (self.text is not None and item_id in self.text)

    def upsert_items(self, items: Sequence[Item]) -> int:
        """Store items, then list and index them at once; how many were written.

        Raises:
            ValidationError: More items than ``max_batch_size``.
        """
        self._check_batch(len(items), "items")
        count = self.backends.catalogue.upsert(items)
        self.catalog.upsert(items)
        self._index_texts(items)
        return count

    def patch_item(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item:
        """Change some fields of an item (stock, price, ...), effective from the next request.

        Raises:
            NotFoundError: No such item.
        """
        item = self.backends.catalogue.patch(item_id, changes)
        if item is None:
            raise NotFoundError(f"no item {item_id!r} in the catalogue")
        self.catalog.upsert([item])
        if changes.keys() & {"title", "brand", "category", "description"}:
            self._index_texts([item])
        return item

    def delete_item(self, item_id: ItemId) -> None:
        """Remove an item; it leaves every result from the next request on.

        Raises:
            NotFoundError: The catalogue lists items but not this one.
        """
        existed = self.backends.catalogue.delete(item_id)
        if not existed and len(self.catalog):
            raise NotFoundError(f"no item {item_id!r} in the catalogue")
        self.catalog.delete([item_id])

    def refresh_items(self, item_ids: Sequence[ItemId] | None = None) -> list[Item]:
        """Re-read items another replica changed from the shared catalogue store.

        Args:
            item_ids: The changed items (``None``: the whole catalogue, after this replica may
                have missed changes).

        Returns:
            The items now listed among those re-read (for the models to learn).
        """
        if item_ids is None:
            items = [Item.from_row(row) for row in self.backends.catalogue.frame().iter_rows()]
            gone = set(self.catalog.item_ids()) - {i.item_id for i in items}
        else:
            found = {i: self.backends.catalogue.get(i) for i in item_ids}
            items = [item for item in found.values() if item is not None]
            gone = {i for i, item in found.items() if item is None}
        self.catalog.upsert(items)
        self.catalog.delete(list(gone))
        self._index_texts(items)
        return items

    def _index_texts(self, items: Sequence[Item]) -> None:
        if self.text is not None and items:
            self.text.add([i.item_id for i in items], [item_text(i) for i in items])


def _matches(item: Item, terms: list[str]) -> bool:
    """Whether every search term occurs in the item's id, title, brand or category."""
    text = " ".join(filter(None, (item.item_id, item.title, item.brand, item.category))).lower()
    return all(term in text for term in terms)
