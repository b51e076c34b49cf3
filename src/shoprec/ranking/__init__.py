"""Ranking: turning the candidates of several sources into one scored list.

Owns the fixed-weight blend (the fallback) and the learned ranking stage: candidates from
several fitted sources (:mod:`.candidates`), their features (:mod:`.features`, one code path
offline and online), learners behind one protocol (LightGBM LambdaRank, DeepFM) and the
:class:`RankedRecommender` that fits it all without leakage (:mod:`.fit_protocol`,
``docs/ranking.md``). May import
``models`` and the layers below; must not import ``retrieval``, ``rules``, ``pipeline`` or
anything above. Torch and LightGBM load only when a learner is first used.
"""

from .blend import Blended, Ranker, WeightedBlend, normalised
from .candidates import CandidateGenerator, CandidateSet, SourceSpec, TextSimilarity, history_rows
from .features import EVENT_TYPE_FEATURES, FEATURE_NAMES, SCENARIOS, FeatureBuilder, feature_names
from .fit_protocol import (
    FittedSources,
    Targets,
    TargetSplit,
    TrainingSet,
    check_no_leakage,
    fit_sources,
    split_targets,
)
from .item_stats import ItemStats
from .learners import Learner, RankingData, create_learner, learner_class
from .ranked import RankedBatch, RankedConfig, RankedRecommender

__all__ = [
    "EVENT_TYPE_FEATURES",
    "FEATURE_NAMES",
    "SCENARIOS",
    "Blended",
    "CandidateGenerator",
    "CandidateSet",
    "FeatureBuilder",
    "FittedSources",
    "ItemStats",
    "Learner",
    "RankedBatch",
    "RankedConfig",
    "RankedRecommender",
    "Ranker",
    "RankingData",
    "SourceSpec",
    "TargetSplit",
    "Targets",
    "TextSimilarity",
    "TrainingSet",
    "WeightedBlend",
    "check_no_leakage",
    "create_learner",
    "feature_names",
    "fit_sources",
    "history_rows",
    "learner_class",
    "normalised",
    "split_targets",
]
