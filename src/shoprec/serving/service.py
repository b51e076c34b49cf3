"""The running service: stores, live state, the model engine and its atomic swaps.

:class:`Service` owns everything a request needs and offers one method per operation, so the
HTTP handlers stay thin. Writes go to the durable store first and only then to the in-memory
views (shopper state, catalogue mirror, trending, text index), so an acknowledged write is
both durable and visible to the very next request.

Models are swapped as whole :class:`Engine` objects (one pipeline per A/B variant, built
completely before the swap): a request holds the engine it started with, so a reload never
fails a request in flight.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shoprec.data import Interactions
from shoprec.errors import ArtifactError, Problem, ShoprecError, ValidationError
from shoprec.events import (
    Event,
    Item,
    MemoryStateStore,
    ShopperState,
    SQLiteCatalog,
    SQLiteEventStore,
)
from shoprec.features import make_text_encoder
from shoprec.models import BaseRecommender, CoVisitation, FitOptions, ModelVersions, load_model
from shoprec.models.versions import POINTER
from shoprec.pipeline import Pipeline, RecommendedItem, Request, item_text
from shoprec.retrieval import IndexConfig, TextIndex, Trending
from shoprec.rules import CatalogView
from shoprec.settings import ServingSettings, Settings, VariantSettings
from shoprec.types import ItemId, Query, UserId

from .experiments import Experiment
from .metrics import ServiceMetrics

log = logging.getLogger("shoprec.serving")

#: Name of the only variant when no A/B test is configured.
DEFAULT_VARIANT = "default"
# Trending starts from events younger than this many half-lives (older ones weigh < 1e-6).
_TRENDING_HORIZON = 20.0


class NotReadyError(ShoprecError):
    """The service has no model to recommend with yet (answered with 503)."""


class NotFoundError(ShoprecError):
    """The requested item does not exist (answered with 404)."""


class TooLargeError(ShoprecError):
    """A request carries more records than allowed (answered with 413)."""


class BusyError(ShoprecError):
    """The requested work is already running (answered with 409)."""


#: Settings handed to a retraining child process (written into the home).
RETRAIN_SETTINGS = "retrain-settings.json"


@dataclass(frozen=True)
class Engine:
    """The models in service: one pipeline per variant, swapped as a whole.

    Attributes:
        version: Name of the current model version.
        pipelines: Pipeline per variant name.
    """

    version: str
    pipelines: Mapping[str, Pipeline]


@dataclass(frozen=True)
class Served:
    """A recommendation response before it is turned into JSON."""

    items: list[RecommendedItem]
    recommendation_id: str
    variant: str
    model_version: str
    scenario: str


class Service:
    """Everything the HTTP API does, independent of HTTP.

    Args:
        settings: Effective settings (the home folder with the store and the models).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config: ServingSettings = settings.serving
        settings.home.mkdir(parents=True, exist_ok=True)
        self.store = SQLiteEventStore(settings.store_path)
        self.catalog_store = SQLiteCatalog(settings.store_path)
        self.versions = ModelVersions(settings.models_dir)
        self.state = MemoryStateStore(self.store, capacity=self.config.state_capacity)
        start = time.perf_counter()
        shoppers = self.state.preload()
        log.info("rebuilt %d shoppers' state in %.1f s", shoppers, time.perf_counter() - start)
        self.catalog = CatalogView.from_frame(self.catalog_store.frame())
        pipe = self.config.pipeline
        self.text: TextIndex | None = None
        if pipe.text_encoder is not None:
            self.text = TextIndex(
                make_text_encoder(pipe.text_encoder, device="cpu"),
                IndexConfig(pipe.ann_min_items, pipe.ann_nprobe),
            )
            self._index_texts([i for i in map(self.catalog.get, self.catalog.item_ids()) if i])
        self.trending = Trending(
            pipe.trending_half_life_hours, pipe.event_weights, pipe.trending_resort_s
        )
        now = time.time()
        horizon = _TRENDING_HORIZON * self.trending.half_life_s
        self.trending.observe_frame(self.store.range(now - horizon, float("inf")))
        self.variants = self.config.variants or [VariantSettings(name=DEFAULT_VARIANT)]
        self.experiment = Experiment(
            [(v.name, v.weight) for v in self.variants], self.config.experiment_salt
        )
        self.metrics = ServiceMetrics()
        self.metrics.watch_sizes(self.state.size, lambda: len(self.catalog))
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()  # serialises reloads and catalogue-driven swaps
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._retrain: subprocess.Popen[bytes] | None = None
        self._retrain_lock = threading.Lock()
        try:
            self.reload()
        except ArtifactError as exc:
            log.warning("not ready: %s", exc)

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine serving now.

        Raises:
            NotReadyError: No model has been published yet.
        """
        engine = self._engine
        if engine is None:
            raise NotReadyError(
                f"no model loaded from {self.versions.root}: run `shoprec train`, then reload"
            )
        return engine

    def reload(self, force: bool = False) -> tuple[str, bool]:
        """Load the version ``CURRENT`` names (if new, or ``force``) and swap it in atomically.

        Returns:
            The version serving afterwards, and whether it changed.

        Raises:
            ArtifactError: No usable model is published (the old engine keeps serving).
        """
        with self._engine_lock:
            current = self.versions.current()
            old = self._engine
            if old is not None and old.version == current.name and not force:
                return old.version, False
            engine = self._build(current)
            self._engine = engine  # the swap: one reference
        self.metrics.model_version(engine.version)
        log.info("serving model %s", engine.version)
        return engine.version, old is None or old.version != engine.version

    def _build(self, current: Path) -> Engine:
        models: dict[Path, BaseRecommender] = {}
        pipelines: dict[str, Pipeline] = {}
        covisit: BaseRecommender | None = None
        for variant in self.variants:
            path = self.versions.root / variant.model if variant.model else current
            if path not in models:
                models[path] = load_model(path)
            model = models[path]
            if covisit is None and self.config.covisit and model.key != CoVisitation.key:
                covisit = self._fit_covisit()
            updates: dict[str, Any] = {}
            if variant.blend_weights is not None:
                updates["blend_weights"] = variant.blend_weights
            if variant.diversity is not None:
                updates["diversity"] = variant.diversity
            pipeline = Pipeline(
                model,
                self.config.pipeline.model_copy(update=updates),
                self.catalog,
                self.trending,
                self.text,
                covisit if model.key != CoVisitation.key else None,
                path.name,
            )
            pipelines[variant.name] = pipeline.with_items(self._listed_items())
        return Engine(current.name, pipelines)

    def _fit_covisit(self) -> BaseRecommender | None:
        events = self.store.frame()
        if not events.height:
            return None
        model = CoVisitation()
        model.fit(Interactions(events), FitOptions())
        return model

    def _listed_items(self) -> list[Item]:
        return [i for i in map(self.catalog.get, self.catalog.item_ids()) if i is not None]

    def pointer_changed(self) -> bool:
        """Whether ``CURRENT`` names another version than the one serving."""
        pointer = self.versions.root / POINTER
        if not pointer.is_file():
            return False
        name = pointer.read_text(encoding="utf-8").strip()
        return self._engine is None or name != self._engine.version

    def start_watcher(self) -> None:
        """Poll the ``CURRENT`` pointer in a background thread and reload when it moves."""
        interval = self.config.reload_interval_s
        if interval <= 0 or self._watcher is not None:
            return

        def watch() -> None:
            while not self._stop.wait(interval):
                try:
                    if self.pointer_changed():
                        self.reload()
                except Exception:  # keep watching: the old model keeps serving
                    log.exception("model reload failed")

        self._watcher = threading.Thread(target=watch, name="shoprec-model-watcher", daemon=True)
        self._watcher.start()

    def start_retrain(self) -> int:
        """Start ``shoprec retrain --once`` on this home in a child process; its pid.

        Training runs outside the serving process so requests keep their CPU share and
        latency; the watcher swaps the new version in once it is published.

        Raises:
            BusyError: A retraining run started here is still going.
        """
        with self._retrain_lock:
            running = self._retrain
            if running is not None and running.poll() is None:
                raise BusyError(f"a retraining run is in progress (pid {running.pid})")
            config = self.settings.home / RETRAIN_SETTINGS
            values = self.settings.model_dump(mode="json", exclude={"serving"})
            values["home"] = str(self.settings.home.resolve())
            config.write_text(json.dumps(values, indent=2), encoding="utf-8")
            command = [sys.executable, "-m", "shoprec", "retrain", "--once"]
            command += ["--min-new-events", "0", "--config", str(config)]
            self._retrain = subprocess.Popen(command)
            log.info("retraining started (pid %d)", self._retrain.pid)
            return self._retrain.pid

    def close(self) -> None:
        """Stop the watcher and close the stores."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.store.close()
        self.catalog_store.close()

    # -- events and shoppers ---------------------------------------------------------------
    def _check_batch(self, size: int, what: str) -> None:
        if size > self.config.max_batch_size:
            raise TooLargeError(
                f"{size} {what} in one request; at most {self.config.max_batch_size} allowed"
            )

    def ingest(self, events: Sequence[Event]) -> int:
        """Store events durably, then update shopper state, trending and experiments.

        Returns:
            The sequence number of the last stored event.
        """
        self._check_batch(len(events), "events")
        last_seq = self.store.append(events)
        self.state.apply(events)
        self.trending.observe(events)
        for variant, kind in self.experiment.observe(events):
            counter = self.metrics.clicks if kind == "click" else self.metrics.conversions
            counter.labels(variant).inc()
        self.metrics.events.inc(len(events))
        return last_seq

    def shopper(self, user_id: UserId) -> ShopperState:
        """A shopper's live state."""
        return self.state.get(user_id)

    def forget(self, user_id: UserId) -> int:
        """Delete a shopper's stored events and live state; return how many events."""
        deleted = self.store.forget_user(user_id)
        self.state.forget(user_id)
        return deleted

    # -- catalogue -------------------------------------------------------------------------
    def _index_texts(self, items: Sequence[Item]) -> None:
        if self.text is not None and items:
            self.text.add([i.item_id for i in items], [item_text(i) for i in items])

    def _learn_items(self, items: Sequence[Item]) -> None:
        """Let every variant's model score new items (text-based models) with one swap."""
        with self._engine_lock:
            engine = self._engine
            if engine is None:
                return
            pipelines = {n: p.with_items(items) for n, p in engine.pipelines.items()}
            if any(pipelines[n] is not p for n, p in engine.pipelines.items()):
                self._engine = Engine(engine.version, pipelines)

    def upsert_items(self, items: Sequence[Item]) -> int:
        """Store items, then make them recommendable at once."""
        self._check_batch(len(items), "items")
        count = self.catalog_store.upsert(items)
        self.catalog.upsert(items)
        self._index_texts(items)
        self._learn_items(items)
        return count

    def patch_item(self, item_id: ItemId, changes: Mapping[str, Any]) -> Item:
        """Change some fields of an item (stock, price, ...), effective from the next request.

        Raises:
            NotFoundError: No such item.
        """
        item = self.catalog_store.patch(item_id, changes)
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
        existed = self.catalog_store.delete(item_id)
        if not existed and len(self.catalog):
            raise NotFoundError(f"no item {item_id!r} in the catalogue")
        self.catalog.delete([item_id])

    def is_known_item(self, item_id: ItemId) -> bool:
        """Whether the catalogue, the model or the text index knows the item."""
        if self.catalog.get(item_id) is not None:
            return True
        engine = self._engine
        in_model = engine is not None and any(
            item_id in p.model.item_vocab for p in engine.pipelines.values()
        )
        return in_model or (self.text is not None and item_id in self.text)

    # -- recommendations -------------------------------------------------------------------
    def recommend(self, request: Request, assign_key: str | None) -> Served:
        """Answer a request with the pipeline of the shopper's variant and record it.

        Args:
            request: The pipeline request (``n`` already checked against the limit).
            assign_key: User or session id for the A/B assignment (``None``: random).

        Raises:
            NotReadyError: No model is loaded.
            ValidationError: The scenario is unknown.
        """
        engine = self.engine
        variant = self.experiment.assign(assign_key)
        pipeline = engine.pipelines[variant]
        if request.scenario not in pipeline.config.scenarios:
            known = ", ".join(sorted(pipeline.config.scenarios))
            raise ValidationError(
                [
                    Problem(
                        "query",
                        None,
                        "scenario",
                        f"unknown scenario {request.scenario!r}; known: {known}",
                    )
                ]
            )
        items = pipeline.recommend(request)
        rec_id = self.experiment.served(variant)
        self.metrics.impressions.labels(variant).inc()
        return Served(items, rec_id, variant, pipeline.version, request.scenario)

    def user_request(self, user_id: UserId, **fields: Any) -> Request:
        """A pipeline request from a known shopper's live state (history, cart, purchases)."""
        state = self.state.get(user_id)
        return Request(
            query=Query(user_id=user_id, history=state.history, time=time.time()),
            cart=state.cart,
            purchased=state.purchased,
            **fields,
        )

    def experiment_counts(self) -> list[tuple[str, float, int, int, int]]:
        """``(variant, weight, impressions, clicks, conversions)`` per variant."""
        return [
            (name, weight, c.impressions, c.clicks, c.conversions)
            for name, weight, c in self.experiment.snapshot()
        ]
