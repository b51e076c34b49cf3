"""The models in service: versions, per-variant pipelines, atomic swaps and the reload watcher.

Models are swapped as whole :class:`Engine` objects (one pipeline per A/B variant, built
completely before the swap): a request holds the engine it started with, so a reload never
fails a request in flight. :class:`ModelEngine` owns the current engine and every way it
changes: a reload (on demand or from the watcher thread polling the ``CURRENT`` pointer),
new catalogue items learnt by text-aware models, and the aggregates fitted from the event log at
each build (co-visitation pairs, all-time popularity) refitted after a shopper is forgotten, so
their events stop counting at once (#18), with the same loaded models.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from shoprec.data import Interactions
from shoprec.errors import Problem, ValidationError
from shoprec.events import Item
from shoprec.jobs import METRICS_FILE
from shoprec.models import BaseRecommender, CoVisitation, FitOptions, ModelVersions, load_model
from shoprec.models.versions import POINTER
from shoprec.pipeline import Pipeline, Request
from shoprec.retrieval import CategoryAffinity, Trending
from shoprec.settings import ServingSettings, VariantSettings
from shoprec.types import HistoryEvent, ItemId, Query

from .backends import configured_variants
from .errors import NotReadyError
from .live import LiveData
from .metrics import ServiceMetrics

log = logging.getLogger("shoprec.serving")


@dataclass(frozen=True)
class Engine:
    """The models in service: one pipeline per variant, swapped as a whole.

    Attributes:
        version: Name of the current model version.
        pipelines: Pipeline per variant name.
    """

    version: str
    pipelines: Mapping[str, Pipeline]

    def pipeline(self, variant: str, scenario: str) -> Pipeline:
        """The pipeline of ``variant``, checked to know ``scenario``.

        Raises:
            ValidationError: The scenario is unknown.
        """
        pipeline = self.pipelines[variant]
        if scenario not in pipeline.config.scenarios:
            known = ", ".join(sorted(pipeline.config.scenarios))
            message = f"unknown scenario {scenario!r}; known: {known}"
            raise ValidationError([Problem("query", None, "scenario", message)])
        return pipeline


class ModelEngine:
    """The :class:`Engine` serving now, and its reloads, watcher and learnt items.

    Args:
        versions: The published model versions.
        config: Serving settings (variants, co-visitation, pipeline, reload interval).
        live: What the pipelines read: catalogue mirror, trending, text index, event log.
        metrics: Where the serving version is reported.
        on_new_version: Called with the version after each swap that changed it (the
            service tells the other replicas).
    """

    def __init__(
        self,
        versions: ModelVersions,
        config: ServingSettings,
        live: LiveData,
        metrics: ServiceMetrics,
        on_new_version: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.versions = versions
        self._on_new_version = on_new_version
        self._config = config
        self._variants = configured_variants(config)
        self._live = live
        self._metrics = metrics
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # serialises reloads and catalogue-driven swaps
        self._records: dict[str, dict[str, object]] = {}  # training record per version
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        # One worker: refits run one at a time, in the order asked for.
        self._refits = ThreadPoolExecutor(1, thread_name_prefix="shoprec-refit")
        self._refit: Future[None] | None = None
        self._refit_lock = threading.Lock()

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
        with self._lock:
            current = self.versions.current()
            old = self._engine
            if old is not None and old.version == current.name and not force:
                return old.version, False
            engine = self._build(current)
            self._warm_up(engine)
            self._engine = engine  # the swap: one reference
        changed = old is None or old.version != engine.version
        self._metrics.model_version(engine.version)
        log.info("serving model %s", engine.version)
        if changed:
            self._on_new_version(engine.version)
        return engine.version, changed

    def _build(self, current: Path) -> Engine:
        loaded: dict[Path, BaseRecommender] = {}

        def load(variant: VariantSettings) -> tuple[BaseRecommender, str]:
            path = self.versions.root / variant.model if variant.model else current
            if path not in loaded:
                loaded[path] = load_model(path)
            return loaded[path], path.name

        return self._assemble(current.name, load)

    def _assemble(
        self, version: str, models: Callable[[VariantSettings], tuple[BaseRecommender, str]]
    ) -> Engine:
        """Fit the log's aggregates and build each variant's pipeline around its model.

        Args:
            version: The engine's version.
            models: Each variant's model and the version name its pipeline reports.
        """
        pipelines: dict[str, Pipeline] = {}
        covisit: BaseRecommender | None = None
        live = self._live
        events = live.backends.events.frame()
        # All-time counts for cold start when nothing is trending (a shop whose log is old).
        popular = Trending(math.inf, self._config.pipeline.event_weights, resort_interval_s=0)
        popular.observe_frame(events)
        # Shopper overlap between categories, for the explore rails.
        affinity = CategoryAffinity.from_events(
            events,
            {i.item_id: i.category for i in live.listed_items() if i.category},
            self._config.pipeline.event_weights,
        )
        for variant in self._variants:
            model, name = models(variant)
            if covisit is None and self._config.covisit and model.key != CoVisitation.key:
                covisit = _fit_covisit(events)
            updates: dict[str, Any] = {}
            if variant.blend_weights is not None:
                updates["blend_weights"] = variant.blend_weights
            if variant.diversity is not None:
                updates["diversity"] = variant.diversity
            pipeline = Pipeline(
                model,
                self._config.pipeline.model_copy(update=updates),
                live.catalog,
                live.backends.trending,
                live.text,
                covisit if model.key != CoVisitation.key else None,
                name,
                popular,
                affinity,
            )
            pipelines[variant.name] = pipeline.with_items(live.listed_items())
        return Engine(version, pipelines)

    def refit(self) -> None:
        """Refit the aggregates from the event log now, keeping the models in service.

        After a shopper is forgotten their events must stop counting in the co-visitation
        pairs and popularity at once, not at the next model version. The models themselves
        (and the items they learnt since) are reused, not read from their files again.
        """
        with self._lock:
            old = self._engine
            if old is None:
                return
            self._engine = self._assemble(
                old.version,
                lambda variant: (
                    old.pipelines[variant.name].model,
                    old.pipelines[variant.name].version,
                ),
            )

    def refit_soon(self) -> Future[None]:
        """Run :meth:`refit` in the background (it reads the whole log); its future.

        A refit asked for while another waits to start is that one: it will read the log
        after whatever the caller changed.
        """
        with self._refit_lock:
            pending = self._refit
            if pending is None or pending.running() or pending.done():
                pending = self._refit = self._refits.submit(self._refit_logged)
            return pending

    def _refit_logged(self) -> None:
        try:
            self.refit()
        except Exception:  # the old aggregates keep serving; the next reload refits them
            log.exception("refitting co-visitation and popularity failed")
            raise

    def wait_refit(self, timeout: float | None = None) -> None:
        """Wait until the latest refit asked for has finished (tests, orderly shutdown)."""
        with self._refit_lock:
            pending = self._refit
        if pending is not None:
            pending.result(timeout)

    def _warm_up(self, engine: Engine) -> None:
        """Run each scenario of each pipeline once before the engine serves.

        First calls pay one-off costs (lazy imports, allocator growth, index and model
        caches: ~300 ms for the first Transformer request), which would otherwise fall on
        the first shoppers after a start or a swap.
        """
        items = tuple(self._live.catalog.item_ids()[:3])
        history = tuple(HistoryEvent(i) for i in items)
        for pipeline in engine.pipelines.values():
            for scenario in pipeline.config.scenarios:
                query = Query(history=history, context_items=items[:1], time=time.time())
                try:
                    pipeline.recommend(Request(query, n=10, scenario=scenario))
                except Exception:  # a warm-up must never keep a model from serving
                    log.exception("warm-up of scenario %s failed", scenario)

    def learn_items(self, items: Sequence[Item]) -> None:
        """Let every variant's model score new items (text-based models) with one swap.

        The items are already stored when this runs, so a model that fails to learn them must
        not fail the write: that variant keeps its model (logged), and the items reach it
        with its next fit.
        """
        with self._lock:
            engine = self._engine
            if engine is None:
                return
            pipelines = {n: self._grown(n, p, items) for n, p in engine.pipelines.items()}
            if any(pipelines[n] is not p for n, p in engine.pipelines.items()):
                self._engine = Engine(engine.version, pipelines)

    def _grown(self, variant: str, pipeline: Pipeline, items: Sequence[Item]) -> Pipeline:
        try:
            return pipeline.with_items(items)
        except Exception:
            self._metrics.item_learning_failures.labels(variant=variant).inc()
            log.exception(
                "variant %s could not learn %d new items; it keeps its model", variant, len(items)
            )
            return pipeline

    def knows_item(self, item_id: ItemId) -> bool:
        """Whether a model in service has the item in its vocabulary."""
        engine = self._engine
        return engine is not None and any(
            item_id in p.model.item_vocab for p in engine.pipelines.values()
        )

    def record(self, version: str) -> dict[str, object]:
        """The training record (``metrics.json``) of ``version``; empty when it has none."""
        if version not in self._records:
            path = self.versions.root / version / METRICS_FILE
            self._records[version] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        return self._records[version]

    # -- the watcher -----------------------------------------------------------------------
    def pointer_changed(self) -> bool:
        """Whether ``CURRENT`` names another version than the one serving."""
        pointer = self.versions.root / POINTER
        if not pointer.is_file():
            return False
        name = pointer.read_text(encoding="utf-8").strip()
        return self._engine is None or name != self._engine.version

    def start_watcher(self) -> None:
        """Poll the ``CURRENT`` pointer in a background thread and reload when it moves."""
        interval = self._config.reload_interval_s
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

    def close(self) -> None:
        """Stop the watcher and the refits (one running is finished first)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self._refits.shutdown(wait=True, cancel_futures=True)


def _fit_covisit(events: pl.DataFrame) -> BaseRecommender | None:
    if not events.height:
        return None
    model = CoVisitation()
    model.fit(Interactions(events), FitOptions())
    return model
