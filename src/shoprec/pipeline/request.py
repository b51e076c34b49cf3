"""A request as the pipeline sees it, what it answers, and the context every stage reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shoprec.rules import Boosts, FilterSpec
from shoprec.types import HistoryEvent, ItemId, Query

from .config import PipelineConfig, ScenarioConfig


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
        search: Free text the results should match (retrieves by text; see
            :class:`~shoprec.pipeline.ScenarioConfig`).
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
        score: Its ranked score: the ranker's, or the blended one (fallback items: their
            trending score; pins: 0).
        source: The source that counted most (or the fallback / ``pinned``).
        reason: A short explanation for the shopper.
    """

    item_id: ItemId
    score: float
    source: str
    reason: str


@dataclass(frozen=True)
class Context:
    """What the stages of one request read, derived once from the request and the config.

    Attributes:
        request: The request.
        scenario: Its scenario.
        query: The history the sources read (:func:`model_query`).
        spec: The request's filters with the scenario's exclusions added (:func:`filters`).
        diversity: The MMR weight in force.
        n_anchors: Latest distinct history items that reasons and sources start from.
    """

    request: Request
    scenario: ScenarioConfig
    query: Query
    spec: FilterSpec
    diversity: float
    n_anchors: int = 5

    @property
    def search(self) -> str | None:
        """The request's search text, when it has one."""
        return self.request.search or None


def context(request: Request, config: PipelineConfig) -> Context:
    """The context of ``request`` under ``config``.

    Raises:
        KeyError: The request names an unknown scenario.
    """
    scenario = config.scenarios[request.scenario]
    diversity = scenario.diversity if scenario.diversity is not None else config.diversity
    return Context(
        request,
        scenario,
        model_query(request.query, scenario, config.event_weights),
        filters(request, scenario),
        diversity,
        config.n_anchors,
    )


def model_query(
    query: Query, scenario: ScenarioConfig, event_weights: Mapping[str, float]
) -> Query:
    """The history the sources read: weighted events, then the context items as views."""
    history = (
        tuple(e for e in query.history if event_weights.get(e.event_type, 1.0) > 0)
        if scenario.personal
        else ()
    )
    viewed = tuple(HistoryEvent(i, "view", query.time) for i in query.context_items)
    return Query(query.user_id, history + viewed, query.context_items, query.time)


def filters(request: Request, scenario: ScenarioConfig) -> FilterSpec:
    """The request's filters, excluding what the scenario leaves out (seen, bought, cart)."""
    spec = request.filters
    exclude = set(spec.exclude) | set(request.query.context_items)
    if scenario.exclude_seen:
        exclude.update(request.query.history_items)
    if scenario.exclude_purchased:
        exclude.update(request.purchased)
    if scenario.exclude_cart:
        exclude.update(request.cart)
    return FilterSpec(spec.category, spec.min_price, spec.max_price, frozenset(exclude))
