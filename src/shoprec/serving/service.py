"""The running service: one method per operation of the HTTP API, independent of HTTP.

:class:`Service` is a thin facade over three parts, each owning one thing:

- :class:`~shoprec.serving.live.LiveData`: the stores (opened by
  :func:`~shoprec.serving.backends.open_backends`), shopper state, catalogue, trending, text
  index and A/B counters;
- :class:`~shoprec.serving.engine.ModelEngine`: the model versions and the per-variant
  pipelines in service, their reloads and watcher;
- :class:`~shoprec.serving.retraining.Retraining`: retraining runs in a child process;
- :class:`~shoprec.serving.promotions.Promotions`: coupons offered and redeemed, sponsored
  slots auctioned and paid for.

The facade composes them where an operation needs more than one (a recommendation takes the
variant from the live side and the pipeline from the engine; new items are stored by the live
side and learnt by the engine) and hands every other call to its owner.

With shared backends (docs/scaling.md) it also runs a :class:`BackendMonitor` (writes are
refused with 503 while a backend is gone; ``/health/ready`` says which) and, with Redis, a
:class:`ReplicaBus`: a new model version or a catalogue change made on this replica is
announced, and the others' announcements are applied here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shoprec.errors import ArtifactError
from shoprec.events import (
    REJECTS_FOLDER,
    Appended,
    Erasure,
    Event,
    Item,
    ShopperState,
    StateStore,
    unforget_shopper,
)
from shoprec.models import ModelVersions
from shoprec.models.demand import Forecast
from shoprec.pipeline import RecommendedItem, Request
from shoprec.promotions import CouponOffer
from shoprec.retrieval import RankedBrand
from shoprec.rules import CatalogView
from shoprec.settings import ServingSettings, Settings
from shoprec.types import ItemId, Query, UserId

from .backends import Backends, open_backends
from .engine import Engine, ModelEngine
from .errors import NotFoundError, NotReadyError
from .live import LiveData
from .metrics import ServiceMetrics
from .monitor import BackendMonitor
from .promotions import Promotions
from .replica_bus import ReplicaBus
from .retraining import Retraining
from .shops import Group, ShopInsights

log = logging.getLogger("shoprec.serving")

# Topics of the replica channel: a model version swapped in, catalogue items changed.
_MODEL = "model"
_ITEMS = "items"
#: Folder of the home where the demand forecast's artifact is kept.
DEMAND_FOLDER = "demand"


@dataclass(frozen=True)
class Served:
    """A recommendation response before it is turned into JSON."""

    items: list[RecommendedItem]
    recommendation_id: str
    variant: str
    model_version: str
    scenario: str
    sponsored: Mapping[int, str] = field(default_factory=dict)
    """Position -> campaign id of the sponsored items."""


class Service:
    """Everything the HTTP API does, independent of HTTP.

    Args:
        settings: Effective settings (the home folder with the store and the models).
        backends: The live side's stores (default: :func:`open_backends` of ``settings``).
    """

    def __init__(self, settings: Settings, backends: Backends | None = None) -> None:
        self.settings = settings
        self.config: ServingSettings = settings.serving
        self.metrics = ServiceMetrics()
        self.live = LiveData(backends or open_backends(settings), self.config, self.metrics)
        stores = self.live.backends
        self.monitor = BackendMonitor(stores.checks(), self.config.health_interval_s)
        self.bus: ReplicaBus | None = None
        if stores.redis is not None:
            self.bus = ReplicaBus(
                stores.redis,
                {_MODEL: lambda _: self.models.reload(), _ITEMS: self._items_changed},
                on_resync=self._resync,
            )
        self.models = ModelEngine(
            ModelVersions(settings.models_dir),
            self.config,
            self.live,
            self.metrics,
            on_new_version=self._announce_version,
        )
        self.retraining = Retraining(settings)
        self.promotions = Promotions(
            self.live.backends, self.config.promotions, self.live.catalog, self.live.listed_items
        )
        #: Shopper ids are replaced by these at the door (identity unless pseudonymizing).
        self.pseudonyms = settings.privacy.pseudonyms()
        #: Brand/seller rankings and the demand forecast (#21).
        self.insights = ShopInsights(
            self.live, self.config.pipeline.event_weights, settings.home / DEMAND_FOLDER
        )
        try:
            self.models.reload()
        except ArtifactError as exc:
            log.warning("not ready: %s", exc)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine serving now.

        Raises:
            NotReadyError: No model has been published yet.
        """
        return self.models.engine

    @property
    def state(self) -> StateStore:
        """The shoppers' live state."""
        return self.live.backends.state

    @property
    def catalog(self) -> CatalogView:
        """The catalogue as the rules see it (read it; change it through the item methods)."""
        return self.live.catalog

    def check_ready(self) -> str:
        """The model version serving, once the stores answer too.

        Raises:
            ShoprecError: No model is loaded, the store fails, or a shared backend was gone
                at its latest check.
        """
        version = self.models.engine.version
        if self.live.backends.checks():
            self.monitor.require_healthy()
        else:
            self.live.backends.events.last_seq()
        return version

    def reload(self, force: bool = False) -> tuple[str, bool]:
        """Swap in the version ``CURRENT`` names; see :meth:`ModelEngine.reload`."""
        return self.models.reload(force=force)

    def start_watcher(self) -> None:
        """Start the background threads: pointer watcher, health checks, replica channel.

        The last two run only with shared backends.
        """
        self.models.start_watcher()
        self.monitor.start()
        self.insights.start()
        if self.bus is not None:
            self.bus.start()

    def _announce_version(self, version: str) -> None:
        if self.bus is not None:
            self.bus.publish(_MODEL, version)

    def _items_changed(self, item_ids: list[ItemId]) -> None:
        self.models.learn_items(self.live.refresh_items(item_ids))

    def _resync(self) -> None:
        """Catch up on what other replicas announced while this one could not hear them."""
        self.models.learn_items(self.live.refresh_items())
        self.models.reload()

    def _announce_items(self, item_ids: list[ItemId]) -> None:
        if self.bus is not None:
            self.bus.publish(_ITEMS, item_ids)

    def start_retrain(self) -> int:
        """Start a retraining run in a child process; its pid (see :class:`Retraining`).

        Raises:
            BusyError: A retraining run started here is still going.
        """
        return self.retraining.start()

    def model_record(self) -> tuple[str, dict[str, object]] | None:
        """The version serving and its training record; ``None`` while no model is loaded."""
        try:
            version = self.models.engine.version
        except NotReadyError:
            return None
        return version, self.models.record(version)

    def close(self) -> None:
        """Stop the background threads and close the stores."""
        self.models.close()
        self.monitor.close()
        if self.bus is not None:
            self.bus.close()
        self.live.close()

    # -- events and shoppers ---------------------------------------------------------------
    def ingest(self, events: Sequence[Event]) -> Appended:
        """Store events durably, then update the live state; what was stored now.

        Raises:
            ValidationError: More events than ``max_batch_size``, or a time out of bounds.
            BackendUnavailableError: A shared backend is gone (nothing was stored).
        """
        self.monitor.require_healthy()
        appended = self.live.ingest(self.pseudonyms.events(events))
        self.promotions.observe(appended.events)
        return appended

    def shopper(self, user_id: UserId) -> ShopperState:
        """A shopper's live state."""
        return self.live.shopper(self.pseudonyms.of(user_id))

    def users(self, limit: int) -> list[UserId]:
        """Up to ``limit`` shoppers with stored events, the earliest first."""
        return self.live.backends.events.users()[:limit]

    def forget(self, user_id: UserId) -> Erasure:
        """Forget a shopper everywhere this service keeps them (#18).

        The stores forget them (tombstone, events, event ids, live state) and so do the
        rejects files under the home (the service writes none itself; ``shoprec data
        import`` writes them there by default). The co-visitation pairs and popularity are
        refitted in the background without the shopper (:meth:`ModelEngine.wait_refit`
        waits for it). The dashboard's recent events are the app's, forgotten by the route.
        The trained model files keep what they learnt until the next training run.

        Raises:
            BackendUnavailableError: A shared backend is gone (call again once it is back).
        """
        self.monitor.require_healthy()
        erased = self.live.forget(user_id, self.settings.home / REJECTS_FOLDER, self.pseudonyms)
        self.promotions.forget(self.pseudonyms.of(user_id))
        self.models.refit_soon()
        return erased

    def unforget(self, user_id: UserId) -> bool:
        """Accept a forgotten shopper's events again; whether they were forgotten.

        Raises:
            BackendUnavailableError: A shared backend is gone.
        """
        self.monitor.require_healthy()
        return unforget_shopper(self.pseudonyms.of(user_id), self.live.backends.events)

    # -- catalogue -------------------------------------------------------------------------
    def item(self, item_id: ItemId) -> Item:
        """One listed item (raises :class:`NotFoundError` when it is not listed)."""
        return self.live.item(item_id)

    def search_items(self, words: str | None, category: str | None) -> list[Item]:
        """Listed items in ``category`` (or below) whose texts contain every one of ``words``."""
        return self.live.search(words, category)

    def category_counts(self) -> list[tuple[str, int]]:
        """``(category, listed items)`` for every category, the largest first."""
        return self.live.category_counts()

    def upsert_items(self, items: Sequence[Item]) -> int:
        """Store items, then make them recommendable at once (text-aware models learn them)."""
        self.monitor.require_healthy()
        count = self.live.upsert_items(items)
        self.promotions.catalogue_changed()
        self.models.learn_items(items)
        self._announce_items([i.item_id for i in items])
        return count

    def patch_item(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item:
        """Change some fields of an item, effective from the next request (404 if unknown)."""
        self.monitor.require_healthy()
        item = self.live.patch_item(item_id, changes)
        self.promotions.catalogue_changed()
        self._announce_items([item_id])
        return item

    def delete_item(self, item_id: ItemId) -> None:
        """Remove an item; it leaves every result from the next request on."""
        self.monitor.require_healthy()
        self.live.delete_item(item_id)
        self.promotions.catalogue_changed()
        self._announce_items([item_id])

    def is_known_item(self, item_id: ItemId) -> bool:
        """Whether the catalogue, the model or the text index knows the item."""
        return self.live.knows_item(item_id) or self.models.knows_item(item_id)

    # -- recommendations -------------------------------------------------------------------
    def recommend(self, request: Request, assign_key: str | None) -> Served:
        """Answer a request with the pipeline of the shopper's variant and record it.

        When the scenario has sponsored slots and campaigns run, the pipeline ranks the
        relevance floor's depth and :meth:`Promotions.sponsor` fills the slots from it.

        Args:
            request: The pipeline request (``n`` already checked against the limit).
            assign_key: User or session id for the A/B assignment (``None``: random).

        Raises:
            NotReadyError: No model is loaded.
            ValidationError: The scenario is unknown.
        """
        engine = self.models.engine
        variant = self.live.assign(assign_key)
        pipeline = engine.pipeline(variant, request.scenario)
        depth = self.promotions.depth(request)
        sponsored: dict[int, str] = {}
        if depth is not None:
            ranked = pipeline.recommend(replace(request, n=depth))
            items, sponsored = self.promotions.sponsor(request, ranked)
        else:
            items = pipeline.recommend(request)
        rec_id = self.live.served(variant)
        return Served(items, rec_id, variant, pipeline.version, request.scenario, sponsored)

    def user_request(self, user_id: UserId, **fields: Any) -> Request:
        """A pipeline request from a known shopper's live state (history, cart, purchases)."""
        state = self.shopper(user_id)
        return Request(
            query=Query(user_id=state.user_id, history=state.history, time=time.time()),
            cart=state.cart,
            purchased=state.purchased,
            **fields,
        )

    def item_request(self, item_id: ItemId, n: int, scenario: str) -> Request:
        """A pipeline request for items that go with one item (no shopper).

        Raises:
            NotFoundError: Neither the catalogue, a model nor the text index knows the item.
        """
        if not self.is_known_item(item_id):
            raise NotFoundError(f"unknown item {item_id!r}")
        return Request(Query(context_items=(item_id,), time=time.time()), n=n, scenario=scenario)

    # -- shops, brands, demand (#21) -------------------------------------------------------
    def user_brands(self, user_id: UserId, group_by: Group, n: int) -> list[RankedBrand]:
        """A shopper's ``n`` best brands (or sellers): own history, then co-engagement."""
        return self.insights.rank(self.shopper(user_id).history, group_by, n)

    def demand_forecast(self) -> Forecast:
        """Tomorrow's demand per item (raises :class:`NotReadyError` while it is fitted)."""
        return self.insights.forecast()

    def coupon_offers(self, user_id: UserId) -> list[CouponOffer]:
        """The coupons a shopper can use now, by expected uplift (see :class:`Promotions`)."""
        state = self.shopper(user_id)
        return self.promotions.offers(self.pseudonyms.of(user_id), state.history)

    def experiment_counts(self) -> list[tuple[str, float, int, int, int]]:
        """``(variant, weight, impressions, clicks, conversions)`` per variant."""
        return [
            (name, weight, c.impressions, c.clicks, c.conversions)
            for name, weight, c in self.live.backends.experiment.snapshot()
        ]
