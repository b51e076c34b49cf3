"""Shops for the pipeline tests: the tiny shop of the original tests and a planted sports shop.

The tiny shop: every shopper goes a -> b, d is bought most. The planted shop: runners go
shoe i -> sock i -> (two in three) watch i -> (one in five) bag i -> shoe i+1 -> sock i+1,
fashion shoppers hat i -> bag i -> hat i+1 -> bag i+1, children toy i -> i+1 -> i+2; titles
are "blue ..." for items 0-2 of each category, "red ..." for 3-5. So shoppers of shoes share
most with socks, then watches, then bags (never hats or toys), and a learned ranker learns
that the item after a shoe is its sock (co-visitation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl
import pytest

from shoprec.data import Interactions
from shoprec.events import Item
from shoprec.features import HashingTextEncoder
from shoprec.models import BaseRecommender, CoVisitation, CoVisitationConfig, FitOptions
from shoprec.pipeline import Pipeline, PipelineConfig
from shoprec.ranking import RankedConfig, RankedRecommender, SourceSpec
from shoprec.retrieval import CategoryAffinity, TextIndex, Trending
from shoprec.rules import CatalogView

# -- the tiny shop -------------------------------------------------------------------------------
CATEGORIES = {"a": "shoes", "b": "socks", "c": "shoes", "d": "hats", "e": "hats", "f": "socks"}
PRICES = {"a": 50.0, "b": 5.0, "c": 60.0, "d": 20.0, "e": 25.0, "f": 6.0}


def tiny_items() -> list[Item]:
    return [
        Item(item_id=i, title=f"{c} {i}", category=c, price=PRICES[i])
        for i, c in CATEGORIES.items()
    ]


def tiny_events() -> pl.DataFrame:
    # Every shopper goes a -> b; d is the most popular item by far.
    rows = [(f"u{u}", i, "view", float(10 * u + t)) for u in range(20) for t, i in enumerate("ab")]
    rows += [(f"p{u}", "d", "purchase", 500.0 + u) for u in range(30)]
    rows += [(f"q{u}", i, "view", 900.0 + u) for u in range(3) for i in "cef"]
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )


def tiny_pipeline(
    trending_events: pl.DataFrame | None = None, texts: bool = True, **config: object
) -> Pipeline:
    events = tiny_events()
    data = Interactions(
        events, pl.DataFrame([i.model_dump() for i in tiny_items()]).drop("attributes")
    )
    model = CoVisitation(CoVisitationConfig.model_validate({"reverse_weight": 0.0}))
    model.fit(data, FitOptions())
    trending = Trending(24.0, {"view": 1.0, "purchase": 5.0}, resort_interval_s=0.0, now=1000.0)
    trending.observe_frame(events if trending_events is None else trending_events)
    popular = Trending(math.inf, {"view": 1.0, "purchase": 5.0}, resort_interval_s=0.0)
    popular.observe_frame(events)
    text = TextIndex(HashingTextEncoder(32))
    text.add([i.item_id for i in tiny_items()], [i.title or "" for i in tiny_items()])
    cfg = PipelineConfig.model_validate(config)
    return Pipeline(
        model,
        cfg,
        CatalogView(tiny_items()),
        trending,
        text if texts else None,
        version="v1",
        popular=popular,
    )


# -- the planted sports shop ---------------------------------------------------------------------
SPORTS = {"s": "shoes", "k": "socks", "w": "watches", "b": "bags", "h": "hats", "t": "toys"}
NOUNS = {"s": "shoe", "k": "sock", "w": "watch", "b": "bag", "h": "hat", "t": "toy"}
PER_CATEGORY = 6
NOW = 1.7e9


def sports_items() -> list[Item]:
    return [
        Item(
            item_id=f"{p}{j}",
            title=f"{'blue' if j < 3 else 'red'} {NOUNS[p]} model{p}{j}",
            category=category,
            brand=f"brand{p}",
            price=10.0 + 5 * j,
        )
        for p, category in SPORTS.items()
        for j in range(PER_CATEGORY)
    ]


def sports_events() -> pl.DataFrame:
    rows: list[tuple[str, str, str, float]] = []

    def visit(user: str, items: list[str], start: float) -> None:
        for step, item in enumerate(items):
            rows.append((user, item, "view", start + 60.0 * step))

    for u in range(60):
        i, j = u % PER_CATEGORY, (u + 1) % PER_CATEGORY
        path = [f"s{i}", f"k{i}"]
        path += [f"w{i}"] if u % 3 else []
        path += [f"b{i}"] if u % 5 == 0 else []
        visit(f"run{u}", [*path, f"s{j}", f"k{j}"], NOW - 86_400.0 + 600.0 * u)
    for u in range(40):
        i, j = u % PER_CATEGORY, (u + 1) % PER_CATEGORY
        visit(f"fash{u}", [f"h{i}", f"b{i}", f"h{j}", f"b{j}"], NOW - 80_000.0 + 600.0 * u)
    for u in range(20):
        i = u % PER_CATEGORY
        path = [f"t{(i + step) % PER_CATEGORY}" for step in range(3)]
        visit(f"kid{u}", path, NOW - 70_000.0 + 600.0 * u)
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )


def sports_data() -> Interactions:
    items = pl.DataFrame([i.model_dump() for i in sports_items()]).drop("attributes")
    return Interactions(sports_events(), items)


def sports_affinity() -> CategoryAffinity:
    return CategoryAffinity.from_events(
        sports_events(), {i.item_id: i.category or "" for i in sports_items()}
    )


@pytest.fixture(scope="session")
def ranked_model() -> RankedRecommender:
    """A LambdaRank ranker over co-visitation and popularity, fit on the sports shop.

    It learns the plant: after a shoe comes its sock, after a hat its bag.
    """
    config = RankedConfig.model_validate(
        {
            "sources": {
                "covisit": SourceSpec(key="covisit", k=20),
                "popularity": SourceSpec(key="popularity", k=36),
            },
            "text_encoder": "hashing",
            # Served sources as trained: refit on the whole of a log this small, popularity
            # would shift far from what the ranker learnt on the prefix.
            "refit_sources": False,
            # A log this small has few events per item: the plant is learnt from all of them.
            "cold_item_share": 0.0,
            "ranker_params": {
                "n_threads": 1,
                "n_estimators": 60,
                "min_child_samples": 5,
                "learning_rate": 0.3,
            },
        }
    )
    model = RankedRecommender(config)
    model.fit(sports_data(), FitOptions(seed=0, device="cpu"))
    return model


SportsPipeline = Callable[..., Pipeline]


@pytest.fixture
def sports_pipeline() -> SportsPipeline:
    """Builds a pipeline on the sports shop around a model (co-visitation by default)."""

    def build(
        model: BaseRecommender | None = None,
        affinity: CategoryAffinity | None = None,
        items: list[Item] | None = None,
        **config: object,
    ) -> Pipeline:
        events = sports_events()
        covisit = CoVisitation()
        covisit.fit(Interactions(events), FitOptions())
        trending = Trending(24.0, {"view": 1.0}, resort_interval_s=0.0, now=NOW)
        trending.observe_frame(events)
        popular = Trending(math.inf, {"view": 1.0}, resort_interval_s=0.0)
        popular.observe_frame(events)
        text = TextIndex(HashingTextEncoder(64))
        items = items or sports_items()
        text.add([i.item_id for i in items], [i.title or "" for i in items])
        return Pipeline(
            model or covisit,
            PipelineConfig.model_validate(config),
            CatalogView(items),
            trending,
            text,
            covisit if model is not None else None,
            "v1",
            popular,
            affinity,
        )

    return build
