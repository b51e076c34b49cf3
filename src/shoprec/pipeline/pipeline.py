"""The Pipeline: one model, its sources and the shared live data, composed into stages.

``recommend`` is the composition of the stages, each a function from a :class:`Slate` to a
new one: retrieve -> featurize -> rank (a learned ranker; otherwise the weighted blend) ->
rules -> diversify -> fill -> pins -> explain.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property, partial

import numpy as np
import polars as pl

from shoprec.data import ITEM_SCHEMA
from shoprec.events import Item
from shoprec.models import BaseRecommender, GrowsCatalogue
from shoprec.retrieval import (
    CandidateSource,
    CategoryAffinity,
    CoVisitSource,
    IndexConfig,
    ModelSource,
    Retrieved,
    TextIndex,
    TextSource,
    TrendingCounts,
    TrendingSource,
)
from shoprec.rules import CatalogView
from shoprec.types import ItemId

from .capabilities import Explains, HasSourceModels, RankedModel, Rows
from .config import PipelineConfig, ScenarioConfig
from .diversify import category_of, diversify, interleave
from .explain import Attribute, attribution, contribute, explain
from .explore import best_sellers, category_rows, explore_categories
from .exposure import rebalance
from .fill import fill
from .rank import blend, featurize, rank
from .request import Context, RecommendedItem, Request, context
from .retrieve import blend_weights, restrict, retrieve, retrieve_ranked, vocabulary_rows
from .rules_stage import apply_rules, pin
from .slate import Slate

#: Blend weight of an explore rail's best-sellers (unless the scenario's weights name
#: ``bestseller``).
EXPLORE_BESTSELLER_WEIGHT = 0.1


def item_text(item: Item) -> str:
    """An item's text for encoders: title, brand, category, description (as in training)."""
    parts = (item.title, item.brand, item.category, item.description)
    return " | ".join(p.strip() for p in parts if p and p.strip())


class Pipeline:
    """Sources, ranking and rules around one model (see the package docs).

    A pipeline is immutable once built: the service swaps whole pipelines (a new model
    version, new items for a text-based model) by replacing one reference.

    Args:
        model: The fitted live model; a learned ranker (:class:`RankedModel`) ranks its own
            candidates, any other model is one source of the weighted blend.
        config: Pipeline settings.
        catalog: The catalogue mirror the rules read (shared, updated by the service).
        trending: Live trending counts (shared, updated by the service).
        text: Item text vectors (shared), or ``None`` for no text source.
        covisit: A fitted co-visitation model for the co-visitation source and the anchors
            of reasons (default: the live model's item-to-item similarity).
        version: Name of the model version, reported with responses.
        popular: All-time (event-weighted) item counts over the training log: the fallback
            when nothing is trending (``None``: none).
        affinity: Shopper overlap between categories, for explore rails (``None``: they show
            the trending categories the shopper has not touched).
    """

    def __init__(
        self,
        model: BaseRecommender,
        config: PipelineConfig,
        catalog: CatalogView,
        trending: TrendingCounts,
        text: TextIndex | None = None,
        covisit: BaseRecommender | None = None,
        version: str = "",
        popular: TrendingCounts | None = None,
        affinity: CategoryAffinity | None = None,
    ) -> None:
        self.model = model
        self.popular = popular
        self.config = config
        self.catalog = catalog
        self.trending = trending
        self.text = text
        self.covisit = covisit
        self.version = version
        self.affinity = affinity
        self.ranker: RankedModel | None = model if isinstance(model, RankedModel) else None
        self._text_source = TextSource(text, config.n_anchors) if text is not None else None
        self._covisit_source = CoVisitSource(
            covisit or model, config.event_weights, config.n_anchors
        )
        sources: list[CandidateSource] = [
            ModelSource(model, index=IndexConfig(config.ann_min_items, config.ann_nprobe)),
            self._covisit_source,
            TrendingSource(trending),
        ]
        if self._text_source is not None:
            sources.append(self._text_source)
        self.sources: dict[str, CandidateSource] = {s.name: s for s in sources}

    # -- catalogue growth ------------------------------------------------------------------
    def with_items(self, items: Sequence[Item]) -> Pipeline:
        """This pipeline, or a new one whose model also scores ``items`` from their text.

        Only models that grow their catalogue (the text-based Transformer, ``textsim``, the
        learned ranker) learn new items this way; the model is copied first, so requests in
        flight keep a consistent one.
        """
        fresh = [i for i in items if i.item_id not in self.model.item_vocab]
        if not isinstance(self.model, GrowsCatalogue) or not fresh:
            return self
        model = copy.deepcopy(self.model)
        rows = pl.DataFrame([i.to_row() for i in fresh], schema=ITEM_SCHEMA, orient="row")
        model.add_items([i.item_id for i in fresh], [item_text(i) for i in fresh], rows)
        return Pipeline(
            model,
            self.config,
            self.catalog,
            self.trending,
            self.text,
            self.covisit,
            self.version,
            self.popular,
            self.affinity,
        )

    # -- requests --------------------------------------------------------------------------
    def scenario(self, name: str) -> ScenarioConfig:
        """The named scenario.

        Raises:
            KeyError: No such scenario is configured.
        """
        return self.config.scenarios[name]

    def recommend(self, request: Request) -> list[RecommendedItem]:
        """Up to ``request.n`` items for the request, best first, each with source and reason.

        Raises:
            KeyError: The request names an unknown scenario.
        """
        ctx = context(request, self.config)
        explore = self._explore(ctx)
        if self.ranker is not None:
            slate = self._ranked(ctx, self.ranker, explore)
        else:
            slate = self._blended(ctx, explore)
        slate = apply_rules(slate, ctx, self.catalog, everything=bool(explore))
        if explore:
            slate = interleave(slate, explore, request.n, self.catalog)
        elif ctx.scenario.exposure.active:
            slate = rebalance(slate, request.n, ctx.scenario.exposure, self.catalog, self.popular)
        else:
            slate = diversify(slate, request.n, ctx.diversity, self.catalog, self.text)
        if not (ctx.scenario.search_only and self._searches(ctx)):
            slate = fill(slate, ctx, self.catalog, self.trending, self.popular, explore or None)
        slate = pin(slate, ctx, self.catalog)
        unseen: set[ItemId] = set()
        if self.ranker is not None:
            slate = contribute(self._anchors(slate, ctx), self.ranker)
            unseen = self._unseen(slate, self.ranker)
        slate = explain(slate, ctx, self.catalog, self._attribute(ctx), explore, unseen)
        return [
            RecommendedItem(i, float(s), source, reason)
            for i, s, source, reason in zip(
                slate.item_ids, slate.scores, slate.sources, slate.reasons, strict=True
            )
        ]

    def _blended(self, ctx: Context, explore: list[str]) -> Slate:
        """Retrieve from the blend's sources and rank by their weighted scores."""
        weights = blend_weights(ctx, self.config.blend_weights, self._text_source is not None)
        extra: dict[str, Retrieved] = {}
        if explore:
            # The categories' best-sellers weigh as little as trending by default: they fill
            # the rail where the shopper's own sources find nothing in a category.
            extra["bestseller"] = self._best_sellers(ctx, explore)
            weights.setdefault("bestseller", EXPLORE_BESTSELLER_WEIGHT)
        k = self.config.candidates_per_source
        slate = blend(retrieve(ctx, self.sources, weights, k, self._text_source, extra), weights)
        found = slate.column("search")
        if ctx.scenario.search_only and found is not None:
            slate = restrict(slate, lambda r: not np.isnan(found[r]))
        return self._within(slate, explore)

    def _ranked(self, ctx: Context, ranker: RankedModel, explore: list[str]) -> Slate:
        """Retrieve the ranker's candidates, featurize and rank them.

        A search text restricts the candidates to its matches; an explore rail to the items of
        its categories (each source then proposes its best within them: the popularity
        source, the categories' best-sellers).
        """
        histories = ranker.encode(ctx.query)
        only = self._search_rows(ctx)
        if explore:
            rows = category_rows(ranker.item_stats, explore)
            only = rows if only is None else np.intersect1d(only, rows)
        slate = retrieve_ranked(ctx, ranker, self.model.item_vocab, histories, only)
        slate = rank(featurize(slate, ranker, histories, ctx.request.scenario), ranker)
        return self._within(slate, explore)

    def _unseen(self, slate: Slate, ranker: RankedModel) -> set[ItemId]:
        """The slate's items that have had no event (the ranker knows them by their text)."""
        rows = self.model.item_vocab.lookup(slate.item_ids)
        unseen = ranker.item_stats.unseen
        return {i for i, r in zip(slate.item_ids, rows, strict=True) if r >= 0 and unseen[r]}

    def _anchors(self, slate: Slate, ctx: Context) -> Slate:
        """The slate with co-visitation's anchors of its ranked items (reasons of those items).

        Asked for the shown items only: a whole co-visitation retrieval cost a ranked request
        ~0.2 ms (0.07 ms this way, docs/benchmarks.md), and the reasons need at most ``n``.
        """
        if self.covisit is None or slate.features is None:  # no co-visitation model of its own
            return slate
        ranked = np.flatnonzero(~np.isnan(slate.features).all(axis=1)).tolist()
        items = [slate.item_ids[r] for r in ranked]
        found = self._covisit_source.strongest_anchors(ctx.query, items, ctx.spec.exclude)
        return replace(slate, anchors={**slate.anchors, "covisit": found})

    def _searches(self, ctx: Context) -> bool:
        """Whether the request retrieves by a search text (not without item texts)."""
        return ctx.search is not None and self._text_source is not None

    def _search_rows(self, ctx: Context) -> Rows | None:
        """The ranker's rows of a search text's matches (``None`` without a search)."""
        if ctx.search is None or self._text_source is None:
            return None
        found = self._text_source.search(
            ctx.search, self.config.candidates_per_source, ctx.spec.exclude
        )
        return vocabulary_rows(self.model.item_vocab, found.candidates.item_ids)

    def _explore(self, ctx: Context) -> list[str]:
        """The explore rail's categories (empty for other scenarios)."""
        scenario = ctx.scenario
        if not scenario.explore:
            return []
        counts = [self.trending] + ([self.popular] if self.popular is not None else [])
        return explore_categories(
            ctx.request.query, self.catalog, scenario.explore_categories, self.affinity, counts
        )

    def _best_sellers(self, ctx: Context, categories: list[str]) -> Retrieved:
        counts = self.popular if self.popular is not None else self.trending
        return best_sellers(
            categories, ctx.request.n, self.catalog, counts, ctx.spec.exclude, self.affinity
        )

    def _within(self, slate: Slate, categories: list[str]) -> Slate:
        """Only the slate's items in ``categories`` (all of them when none are given)."""
        if not categories:
            return slate
        wanted = set(categories)
        return restrict(slate, lambda r: category_of(self.catalog, slate.item_ids[r]) in wanted)

    def _attribute(self, ctx: Context) -> Attribute | None:
        """How the explain stage learns which history item drove a model-found item."""
        if not self.config.model_attribution or self._explainer is None:
            return None
        return partial(attribution, self._explainer, ctx.query, n_last=self.config.n_anchors)

    @cached_property
    def _explainer(self) -> Explains | None:
        """The model asked for attributions, found once (protocol checks cost ~10 µs each).

        A model that explains itself (the Transformer's leave-one-out attribution); for a
        learned ranker, the first of its sources that can (without one, its items found by a
        sequence model name the latest history item).
        """
        model: object = self.model
        if self.ranker is not None:
            sources = self.ranker.source_models if isinstance(self.ranker, HasSourceModels) else {}
            model = next((m for m in sources.values() if isinstance(m, Explains)), None)
        return model if isinstance(model, Explains) else None
