"""Retrieval: candidate sources that find items worth ranking for a query.

Owns the :class:`CandidateSource` protocol and its implementations: model scores over the
catalogue, co-visitation, text similarity and trending. May import ``models`` and the layers
below; must not import ``ranking``, ``rules``, ``pipeline`` or anything above.
"""

from .brand_affinity import BrandAffinity, BrandAffinityConfig, RankedBrand
from .category_affinity import CategoryAffinity
from .covisitation import CoVisitSource
from .model_scores import ModelSource
from .redis_trending import RedisTrending
from .source import CandidateSource, Retrieved, anchors
from .text_index import TextIndex, TextSource
from .trending import Trending, TrendingCounts, TrendingSource
from .vector_index import IndexConfig, VectorIndex

__all__ = [
    "BrandAffinity",
    "BrandAffinityConfig",
    "CandidateSource",
    "CategoryAffinity",
    "CoVisitSource",
    "IndexConfig",
    "ModelSource",
    "RankedBrand",
    "RedisTrending",
    "Retrieved",
    "TextIndex",
    "TextSource",
    "Trending",
    "TrendingCounts",
    "TrendingSource",
    "VectorIndex",
    "anchors",
]
