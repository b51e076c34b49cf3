"""The stores the live side runs on, chosen and opened in one place: :func:`open_backends`.

Events and the catalogue live where ``Settings.events_url`` says (``None``: the home's SQLite
file). Shopper state, trending counts and A/B counters live where ``Settings.state_url`` says:
``None``, this process's memory, as caches of the event store (so opening them also rebuilds
them from it); ``redis://...``, Redis, shared by every replica (trending is seeded from the
store by the first replica only). Nothing else in the service opens a store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from shoprec.events import (
    BudgetLedger,
    CampaignStore,
    Catalog,
    CouponStore,
    EventStore,
    MemoryCampaignStore,
    MemoryCouponStore,
    MemoryLedger,
    MemoryStateStore,
    RedisConnection,
    RedisLedger,
    RedisStateStore,
    SQLiteCampaignStore,
    SQLiteCouponStore,
    SQLiteLedger,
    StateStore,
    connect_redis,
    open_catalog,
    open_event_store,
)
from shoprec.pipeline import PipelineConfig
from shoprec.retrieval import RedisTrending, Trending, TrendingCounts
from shoprec.settings import ServingSettings, Settings, VariantSettings

from .experiments import Experiment, RedisCounters

log = logging.getLogger("shoprec.serving")

#: Name of the only variant when no A/B test is configured.
DEFAULT_VARIANT = "default"

# Trending starts from events younger than this many half-lives.
_TRENDING_HORIZON = 20.0


@dataclass(frozen=True)
class Backends:
    """The live side's stores, opened and (where they are caches) rebuilt.

    Attributes:
        events: The durable event log (the source of truth).
        catalogue: The durable catalogue.
        state: Each shopper's recent events, cart and purchases.
        trending: Time-decayed item counts.
        experiment: A/B assignment and its impression, click and conversion counters.
        redis: The Redis the shared ones live in (``None``: they are in this process).
        shared: Whether the events live in a shared store (not the embedded file).
        coupons: The coupons and their redemption counts.
        campaigns: The sponsored-product campaigns.
        ledger: The campaigns' daily spend, impressions and clicks.
    """

    events: EventStore
    catalogue: Catalog
    state: StateStore
    trending: TrendingCounts
    experiment: Experiment
    redis: RedisConnection | None = None
    shared: bool = False
    coupons: CouponStore = field(default_factory=MemoryCouponStore)
    campaigns: CampaignStore = field(default_factory=MemoryCampaignStore)
    ledger: BudgetLedger = field(default_factory=MemoryLedger)

    def checks(self) -> dict[str, Callable[[], object]]:
        """A cheap check per shared backend, raising ``StoreError`` when it does not answer."""
        checks: dict[str, Callable[[], object]] = {}
        if self.shared:
            checks["events"] = self.events.last_seq
        if self.redis is not None:
            checks["state"] = self.redis.ping
        return checks

    def close(self) -> None:
        """Close the stores."""
        self.trending.close()
        self.experiment.counters.close()
        self.events.close()
        self.catalogue.close()
        self.coupons.close()
        self.campaigns.close()
        self.ledger.close()
        if self.redis is not None:
            self.redis.close()


def open_backends(settings: Settings) -> Backends:
    """Open the stores ``settings`` name and rebuild the in-memory ones from the event store.

    Args:
        settings: Effective settings: ``events_url`` (``None``: SQLite in the home folder),
            ``[serving]`` sizes and pipeline.

    Returns:
        The backends.

    Raises:
        ConfigError: ``events_url`` or ``state_url`` names an unsupported kind of store.
        StoreError: A store cannot be opened (``BackendUnavailableError``: not reached).
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    serving = settings.serving
    events = open_event_store(settings.events_url, settings.store_path)
    catalogue = open_catalog(settings.events_url, settings.store_path)
    variants = [(v.name, v.weight) for v in configured_variants(serving)]
    shared = settings.events_url is not None
    # Coupons and campaigns live in the home's SQLite file (with shared PostgreSQL events too:
    # docs/promotions.md); campaign budgets are charged in Redis when the state is there.
    coupons = SQLiteCouponStore(settings.store_path)
    campaigns = SQLiteCampaignStore(settings.store_path)
    if settings.state_url is None:
        return Backends(
            events=events,
            catalogue=catalogue,
            state=_memory_state(events, serving.state_capacity),
            trending=_memory_trending(events, serving.pipeline),
            experiment=Experiment(variants, serving.experiment_salt),
            shared=shared,
            coupons=coupons,
            campaigns=campaigns,
            ledger=SQLiteLedger(settings.store_path),
        )
    redis = connect_redis(settings.state_url)
    redis.ping()
    pipe = serving.pipeline
    trending = RedisTrending(
        redis, pipe.trending_half_life_hours, pipe.event_weights, pipe.trending_resort_s
    )
    trending.seed(lambda: _recent_events(events, trending.half_life_s))
    return Backends(
        events=events,
        catalogue=catalogue,
        state=RedisStateStore(redis, events, ttl_s=serving.state_ttl_s),
        trending=trending,
        experiment=Experiment(variants, serving.experiment_salt, RedisCounters(redis)),
        redis=redis,
        shared=shared,
        coupons=coupons,
        campaigns=campaigns,
        ledger=RedisLedger(redis),
    )


def configured_variants(config: ServingSettings) -> list[VariantSettings]:
    """The configured A/B variants, or the one :data:`DEFAULT_VARIANT` when there are none."""
    return config.variants or [VariantSettings(name=DEFAULT_VARIANT)]


def _memory_state(events: EventStore, capacity: int) -> MemoryStateStore:
    state = MemoryStateStore(events, capacity=capacity)
    start = time.perf_counter()
    shoppers = state.preload()
    log.info("rebuilt %d shoppers' state in %.1f s", shoppers, time.perf_counter() - start)
    return state


def _recent_events(events: EventStore, half_life_s: float) -> pl.DataFrame:
    """The events trending starts from (older ones would weigh < 1e-6)."""
    return events.range(time.time() - _TRENDING_HORIZON * half_life_s, float("inf"))


def _memory_trending(events: EventStore, pipeline: PipelineConfig) -> Trending:
    trending = Trending(
        pipeline.trending_half_life_hours, pipeline.event_weights, pipeline.trending_resort_s
    )
    trending.observe_frame(_recent_events(events, trending.half_life_s))
    return trending
