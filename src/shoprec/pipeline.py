"""The one place a recommendation request is wired: query -> sources -> blend -> rules -> items.

A :class:`Pipeline` holds one model and the sources built on it (model scores over the
catalogue, co-visitation, text similarity, trending). For each request it retrieves candidates
from every source with a weight, blends them (:mod:`shoprec.ranking`), applies the business
rules (:mod:`shoprec.rules`: availability, scenario exclusions, filters, boosts, diversity,
pins) and explains each item ("because you viewed X"). A fallback chain (trending in the
categories the shopper is looking at, then trending, then the catalogue) guarantees ``n``
items whenever the catalogue has that many eligible ones.

A pipeline is immutable once built: the service swaps whole pipelines (a new model version,
new items for a text-based model) by replacing one reference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shoprec.events import Item
from shoprec.models import BaseRecommender, default_event_weights
from shoprec.ranking import WeightedBlend
from shoprec.retrieval import (
    CandidateSource,
    CoVisitSource,
    IndexConfig,
    ModelSource,
    Retrieved,
    TextIndex,
    TextSource,
    TrendingCounts,
    TrendingSource,
    anchors,
)
from shoprec.rules import Boosts, CatalogView, FilterSpec, apply_boosts, apply_pins, mmr, passes
from shoprec.types import Candidates, HistoryEvent, ItemId, Query

#: Source names of the fallback chain, in the order they are tried.
FALLBACK_SOURCES = ("contextual", "bestseller", "trending", "popular", "new")

T = TypeVar("T")


class ScenarioConfig(BaseModel):
    """How one placement (home page, product page, cart, ...) treats a request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    personal: bool = True
    """Use the shopper's history (``False``: only the items on screen count)."""
    exclude_seen: bool = False
    """Leave out items in the shopper's history."""
    exclude_purchased: bool = True
    """Leave out items the shopper bought."""
    exclude_cart: bool = False
    """Leave out items in the cart."""
    blend_weights: dict[str, float] | None = None
    """Source weights for this scenario (``None``: the pipeline's)."""
    diversity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """MMR weight for this scenario (``None``: the pipeline's)."""
    reason: str = "because you {verb} {title}"
    """Template of an explanation from a shopper's own event (``{verb}``, ``{title}``)."""
    context_reason: str = "goes well with {title}"
    """Template of an explanation from an item on screen or in the cart (``{title}``)."""


def default_scenarios() -> dict[str, ScenarioConfig]:
    """The built-in scenarios: home, product, similar, bought_together, cart, rebuy."""
    covisit_first = {"covisit": 1.0, "model": 0.5, "text": 0.1, "trending": 0.05}
    return {
        "home": ScenarioConfig(exclude_seen=True),
        "product": ScenarioConfig(),
        "similar": ScenarioConfig(
            personal=False,
            exclude_purchased=False,
            blend_weights={"model": 1.0, "covisit": 0.7, "text": 0.5},
            context_reason="similar to {title}",
        ),
        "bought_together": ScenarioConfig(
            personal=False,
            exclude_purchased=False,
            blend_weights=covisit_first,
            context_reason="often bought with {title}",
        ),
        "cart": ScenarioConfig(
            exclude_cart=True, blend_weights=covisit_first, context_reason="goes with {title}"
        ),
        "rebuy": ScenarioConfig(exclude_purchased=False, blend_weights={"model": 1.0}),
    }


class PipelineConfig(BaseModel):
    """Sources, weights and rules of the recommendation pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blend_weights: dict[str, float] = Field(
        default_factory=lambda: {"model": 1.0, "covisit": 0.6, "text": 0.2, "trending": 0.1}
    )
    """Weight of each source (``model``, ``covisit``, ``text``, ``trending``, ``search``)."""
    event_weights: dict[str, float] = Field(default_factory=default_event_weights)
    """Strength of each event type in anchors and trending; 0 drops the event from queries."""
    diversity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    """MMR weight: 0 keeps the blended order, 1 spreads categories (and embeddings) most."""
    candidates_per_source: Annotated[int, Field(ge=1)] = 100
    """Candidates each source contributes before blending."""
    n_anchors: Annotated[int, Field(ge=1)] = 5
    """Latest distinct history items that co-visitation and text similarity start from."""
    model_attribution: bool = True
    """Ask a model that can explain itself which history event drove each of its items (for
    the Transformer, one more forward pass per request); off, its items take their reason
    from the co-visitation or text anchors that also found them."""
    text_encoder: str | None = "hashing-64"
    """Encoder of item texts for the text source and diversity (``None``: no text source)."""
    ann_min_items: Annotated[int, Field(ge=1)] = 200_000
    """Catalogues this large are searched through a vector index (faiss IVF) when the model
    scores by inner products (ALS, the Transformer); smaller ones are scored exactly."""
    ann_nprobe: Annotated[int, Field(ge=1)] = 32
    """Index cells scanned per request: recall against speed (see ``docs/serving.md``)."""
    trending_half_life_hours: Annotated[float, Field(gt=0.0)] = 24.0
    """Age at which an event counts half in trending."""
    trending_resort_s: Annotated[float, Field(ge=0.0)] = 1.0
    """The trending ranking is re-sorted at most this often."""
    scenarios: dict[str, ScenarioConfig] = Field(default_factory=default_scenarios)
    """Placements by name; a request names one (default ``home``)."""


@dataclass(frozen=True)
class Request:
    """One recommendation request as the pipeline sees it.

    Attributes:
        query: The shopper's history and the items on screen or in the cart (context).
        n: How many items to return.
        scenario: Name of a configured scenario.
        cart: Items in the cart (excluded when the scenario says so).
        purchased: Items bought (excluded when the scenario says so).
        filters: Category, price and explicit exclusions.
        boosts: Score multipliers.
        pins: Items placed at fixed 0-based positions.
        search: Free text the results should match (adds the ``search`` source).
    """

    query: Query
    n: int = 10
    scenario: str = "home"
    cart: tuple[ItemId, ...] = ()
    purchased: frozenset[ItemId] = frozenset()
    filters: FilterSpec = FilterSpec()
    boosts: Boosts = field(default_factory=Boosts)
    pins: Mapping[ItemId, int] = field(default_factory=dict)
    search: str | None = None


@dataclass(frozen=True)
class RecommendedItem:
    """One item of a response.

    Attributes:
        item_id: The item.
        score: Its blended score (fallback items: their trending score; pins: 0).
        source: The source that counted most (or the fallback / ``pinned``).
        reason: A short explanation for the shopper.
    """

    item_id: ItemId
    score: float
    source: str
    reason: str


_VERBS = {
    "view": "viewed",
    "click": "viewed",
    "addtocart": "added to your cart",
    "removefromcart": "looked at",
    "purchase": "bought",
    "favorite": "liked",
    "review": "reviewed",
    "rating": "rated",
    "search": "searched for",
}


def item_text(item: Item) -> str:
    """An item's text for encoders: title, brand, category, description (as in training)."""
    parts = (item.title, item.brand, item.category, item.description)
    return " | ".join(p.strip() for p in parts if p and p.strip())


class Pipeline:
    """Sources, blending and rules around one model (see the module docs).

    Args:
        model: The fitted live model.
        config: Pipeline settings.
        catalog: The catalogue mirror the rules read (shared, updated by the service).
        trending: Live trending counts (shared, updated by the service).
        text: Item text vectors (shared), or ``None`` for no text source.
        covisit: A fitted co-visitation model for the co-visitation source (default: the
            live model's item-to-item similarity).
        version: Name of the model version, reported with responses.
        popular: All-time (event-weighted) item counts over the training log: the fallback
            when nothing is trending (``None``: none).
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
    ) -> None:
        self.model = model
        self.popular = popular
        self.config = config
        self.catalog = catalog
        self.trending = trending
        self.text = text
        self.covisit = covisit
        self.version = version
        self._text_source = TextSource(text, config.n_anchors) if text is not None else None
        sources: list[CandidateSource] = [
            ModelSource(model, index=IndexConfig(config.ann_min_items, config.ann_nprobe)),
            CoVisitSource(covisit or model, config.event_weights, config.n_anchors),
            TrendingSource(trending),
        ]
        if self._text_source is not None:
            sources.append(self._text_source)
        self.sources: dict[str, CandidateSource] = {s.name: s for s in sources}

    # -- catalogue growth ------------------------------------------------------------------
    def with_items(self, items: Sequence[Item]) -> Pipeline:
        """This pipeline, or a new one whose model also scores ``items`` from their text.

        Only models with ``add_items`` (the text-based Transformer) learn new items this
        way; the model is copied first, so requests in flight keep a consistent one.
        """
        add = getattr(self.model, "add_items", None)
        fresh = [i for i in items if i.item_id not in self.model.item_vocab]
        if add is None or not fresh:
            return self
        model = copy.deepcopy(self.model)
        model.add_items([i.item_id for i in fresh], [item_text(i) for i in fresh])  # type: ignore[attr-defined]
        return Pipeline(
            model,
            self.config,
            self.catalog,
            self.trending,
            self.text,
            self.covisit,
            self.version,
            self.popular,
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
        scenario = self.scenario(request.scenario)
        query = self._model_query(request.query, scenario)
        spec = self._filters(request, scenario)
        weights = scenario.blend_weights or self.config.blend_weights
        k = self.config.candidates_per_source
        found: dict[str, Retrieved] = {
            name: self.sources[name].retrieve(query, k, spec.exclude)
            for name, w in weights.items()
            if w > 0 and name in self.sources
        }
        if request.search and self._text_source is not None:
            found["search"] = self._text_source.search(request.search, k, spec.exclude)
            weights = {**weights, "search": weights.get("search", 1.0)}
        blended = WeightedBlend(weights).rank({n: r.candidates for n, r in found.items()})
        diversity = scenario.diversity if scenario.diversity is not None else self.config.diversity
        # The blend is best first: without boosts (which reorder it) only as many eligible
        # candidates as the answer (or the diversity pool) needs are checked against the rules.
        wanted = len(blended) if request.boosts else _pool_size(request.n, diversity)
        keep = _first(
            range(len(blended)), lambda c: passes(blended.item_ids[c], self.catalog, spec), wanted
        )
        ids = [blended.item_ids[c] for c in keep]
        sources = [blended.sources[c] for c in keep]
        scores = blended.scores[keep]
        if request.boosts:
            scores = apply_boosts(ids, scores, self.catalog, request.boosts)
        picks = self._diversify(ids, scores, request.n, diversity)
        chosen = [(ids[p], float(scores[p]), sources[p]) for p in picks]  # (item, score, source)
        if len(chosen) < request.n:
            chosen += self._fallback(query, spec, request.n - len(chosen), {c[0] for c in chosen})
        return self._finish(request, query, scenario, chosen, found, spec)

    def _model_query(self, query: Query, scenario: ScenarioConfig) -> Query:
        """The history the sources read: weighted events, then the context items as views."""
        weights = self.config.event_weights
        history = (
            tuple(e for e in query.history if weights.get(e.event_type, 1.0) > 0)
            if scenario.personal
            else ()
        )
        context = tuple(HistoryEvent(i, "view", query.time) for i in query.context_items)
        return Query(query.user_id, history + context, query.context_items, query.time)

    @staticmethod
    def _filters(request: Request, scenario: ScenarioConfig) -> FilterSpec:
        spec = request.filters
        exclude = set(spec.exclude) | set(request.query.context_items)
        if scenario.exclude_seen:
            exclude.update(request.query.history_items)
        if scenario.exclude_purchased:
            exclude.update(request.purchased)
        if scenario.exclude_cart:
            exclude.update(request.cart)
        return FilterSpec(spec.category, spec.min_price, spec.max_price, frozenset(exclude))

    def _diversify(self, ids: list[ItemId], scores: np.ndarray, n: int, weight: float) -> list[int]:
        if weight <= 0 or len(ids) <= 1:
            return list(np.argsort(-scores, kind="stable")[:n])
        pool = list(np.argsort(-scores, kind="stable")[: _pool_size(n, weight)])
        pool_ids = [ids[p] for p in pool]
        categories = [
            item.category if (item := self.catalog.get(i)) is not None else None for i in pool_ids
        ]
        vectors = self.text.vectors_of(pool_ids) if self.text is not None else None
        picked = mmr(scores[pool], n, weight, categories, vectors)
        return [pool[p] for p in picked]

    def _fallback(
        self, query: Query, spec: FilterSpec, missing: int, taken: set[ItemId]
    ) -> list[tuple[ItemId, float, str]]:
        """Fill up to ``missing`` items, never in catalogue order (see :data:`FALLBACK_SOURCES`).

        Trending, then all-time best-sellers, in the categories the shopper is looking at;
        then trending and best-sellers overall (a shop whose events are weeks old has nothing
        trending); last, when nothing was ever bought or viewed, the newest listed items.
        """
        out: list[tuple[ItemId, float, str]] = []

        def eligible(item_id: ItemId) -> bool:
            return item_id not in taken and passes(item_id, self.catalog, spec)

        def take(found: Candidates, source: str) -> None:
            for item_id, score in zip(found.item_ids, found.scores, strict=True):
                taken.add(item_id)
                out.append((item_id, float(score), source))

        categories = {
            item.category
            for event, _ in anchors(query, self.config.n_anchors)
            if (item := self.catalog.get(event.item_id)) is not None and item.category
        }
        counts: list[tuple[TrendingCounts, str, str]] = [(self.trending, "contextual", "trending")]
        if self.popular is not None:
            counts.append((self.popular, "bestseller", "popular"))
        if categories:
            for ranking, source, _ in counts:
                take(
                    ranking.top(
                        missing - len(out),
                        keep=lambda i: eligible(i) and self._category(i) in categories,
                    ),
                    source,
                )
        for ranking, _, source in counts:
            take(ranking.top(missing - len(out), keep=eligible), source)
        if len(out) < missing:
            newest = _first(self.catalog.item_ids()[::-1], eligible, missing - len(out))
            take(Candidates(tuple(newest), np.zeros(len(newest), np.float32)), "new")
        return out

    def _category(self, item_id: ItemId) -> str | None:
        item = self.catalog.get(item_id)
        return item.category if item is not None else None

    def _finish(
        self,
        request: Request,
        query: Query,
        scenario: ScenarioConfig,
        chosen: list[tuple[ItemId, float, str]],
        found: Mapping[str, Retrieved],
        spec: FilterSpec,
    ) -> list[RecommendedItem]:
        """Apply pins and write each item's reason."""
        pins = {
            i: p
            for i, p in request.pins.items()
            if i not in spec.exclude and self.catalog.is_available(i)
        }
        by_id = {c[0]: c for c in chosen}
        order = apply_pins([c[0] for c in chosen], pins, request.n)
        events = {e.item_id: e.event_type for e in query.history}
        context = set(query.context_items)
        attributed = self._attribution(
            query, [i for i in order if by_id.get(i, ("", 0, ""))[2] == "model"]
        )
        out: list[RecommendedItem] = []
        for item_id in order:
            if item_id not in by_id:
                out.append(RecommendedItem(item_id, 0.0, "pinned", "featured"))
                continue
            _, score, source = by_id[item_id]
            anchor = attributed.get(item_id) or _anchor_of(item_id, source, found)
            reason = self._reason(item_id, source, anchor, events, context, scenario)
            out.append(RecommendedItem(item_id, score, source, reason))
        return out

    def _attribution(self, query: Query, item_ids: list[ItemId]) -> dict[ItemId, ItemId]:
        """The history item that drove each model-sourced item, when the model can tell."""
        explain: Callable[..., dict[ItemId, list[tuple[ItemId, float]]]] | None = getattr(
            self.model, "explain", None
        )
        if explain is None or not (self.config.model_attribution and item_ids and query.history):
            return {}
        drivers = explain(query, item_ids, self.config.n_anchors)
        return {i: pairs[0][0] for i, pairs in drivers.items() if pairs and pairs[0][1] > 0}

    def _reason(
        self,
        item_id: ItemId,
        source: str,
        anchor: ItemId | None,
        events: Mapping[ItemId, str],
        context: set[ItemId],
        scenario: ScenarioConfig,
    ) -> str:
        if anchor is not None:
            title = self.catalog.title(anchor)
            if anchor in context:
                return scenario.context_reason.format(title=title)
            verb = _VERBS.get(events.get(anchor, "view"), "viewed")
            return scenario.reason.format(verb=verb, title=title)
        if source == "contextual":
            return f"popular in {self._category(item_id)}"
        if source == "bestseller":
            return f"a best-seller in {self._category(item_id)}"
        if source == "trending":
            return "trending now"
        if source == "popular":
            return "popular in our shop"
        if source == "search":
            return "matches your search"
        if source == "new":
            return "new in our shop"
        return "picked for you"


def _anchor_of(item_id: ItemId, source: str, found: Mapping[str, Retrieved]) -> ItemId | None:
    """The anchor that brought ``item_id``: from its own source, else co-visitation, else text."""
    for name in (source, "covisit", "text"):
        if name in found and item_id in found[name].because:
            return found[name].because[item_id]
    return None


def _pool_size(n: int, diversity: float) -> int:
    """How many candidates to rank before picking ``n``.

    A few times ``n`` when diversifying: room to spread while keeping the relevance of what is
    shown.
    """
    return max(3 * n, 30) if diversity > 0 else n


def _first(items: Sequence[T], keep: Callable[[T], bool], n: int) -> list[T]:
    """The first ``n`` of ``items`` that ``keep`` accepts, checking no more than needed."""
    out: list[T] = []
    for item_id in items:
        if len(out) == n:
            break
        if keep(item_id):
            out.append(item_id)
    return out
