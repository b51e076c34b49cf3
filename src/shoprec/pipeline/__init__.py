"""Pipeline: the one place a recommendation request is wired, as stages over a Slate.

A :class:`Pipeline` holds one model and the sources built on it. For each request one
:class:`Slate` (candidates with their scores, sources, anchors, features and reasons) flows
through pure stages::

    retrieve -> featurize -> rank -> rules -> diversify -> fill -> pins -> explain

A learned ranker (:class:`RankedModel`: ``shoprec.ranking.RankedRecommender``) retrieves and
ranks its own candidates by their features, the same code path as offline; any other model is
ranked by the weighted blend of its sources (model scores over the catalogue, co-visitation,
text similarity, trending). The business rules (:mod:`shoprec.rules`: availability, scenario
exclusions, filters, boosts, diversity, pins) run after either, a fallback chain (trending in
the categories the shopper is looking at, then trending, then the catalogue) guarantees ``n``
items whenever the catalogue has that many eligible ones, and each item gets a reason from
what ranked it. Scenarios (:class:`ScenarioConfig`) include search re-ranking and an explore
rail of categories the shopper has not touched.

Owns the request wiring; may import ``retrieval``, ``ranking``, ``rules`` and the layers
below, never ``settings``, ``serving`` or anything above.
"""

from .capabilities import CandidateSetLike, Explains, RankedModel
from .config import PipelineConfig, ScenarioConfig, default_scenarios
from .fill import FALLBACK_SOURCES, fill
from .pipeline import Pipeline, item_text
from .request import Context, RecommendedItem, Request, context
from .slate import Slate

__all__ = [
    "FALLBACK_SOURCES",
    "CandidateSetLike",
    "Context",
    "Explains",
    "Pipeline",
    "PipelineConfig",
    "RankedModel",
    "RecommendedItem",
    "Request",
    "ScenarioConfig",
    "Slate",
    "context",
    "default_scenarios",
    "fill",
    "item_text",
]
