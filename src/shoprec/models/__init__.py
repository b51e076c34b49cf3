"""Models: the Recommender protocol, the registry, the baselines and (lazily) the Transformer.

Owns fitting and scoring. Must not import ``retrieval``, ``ranking``, ``rules``, ``pipeline``,
``serving`` or the CLI; torch is imported only inside ``models/sasrec``.
"""

# The baselines (als, covisit, ease, popularity) and the content-based text model register
# themselves when imported.
from .als import ALS, ALSConfig
from .base import (
    BaseRecommender,
    EmbeddingModel,
    GrowsCatalogue,
    Recommender,
    Scores,
    read_artifact_meta,
)
from .config import (
    BaseConfig,
    FitOptions,
    Progress,
    ProgressUpdate,
    WeightedConfig,
    default_event_weights,
)
from .covisit import CoVisitation, CoVisitationConfig
from .ease import EASE, EASEConfig
from .popularity import Popularity, PopularityConfig
from .registry import create_model, load_model, model_class, model_keys, register, register_lazy
from .textsim import TextSim, TextSimConfig
from .versions import ModelVersions

# The Transformer imports torch: registered by name, imported on first use.
register_lazy("sasrec", "shoprec.models.sasrec", "SASRec")
register_lazy("sasrec-id", "shoprec.models.sasrec", "SASRec", item_repr="id")
register_lazy("sasrec-text", "shoprec.models.sasrec", "SASRec", item_repr="text")
# Compressed and derived SASRec models (issues #7, #20): made from a fitted SASRec by
# `shoprec optimize`.
register_lazy("sasrec-int8", "shoprec.models.sasrec", "SASRecInt8")
register_lazy("sasrec-fp16", "shoprec.models.sasrec", "SASRecHalf")
register_lazy("sasrec-bf16", "shoprec.models.sasrec", "SASRecHalf", dtype="bfloat16")
register_lazy("sasrec-pruned", "shoprec.models.sasrec", "SASRecPruned")
register_lazy("sasrec-distilled", "shoprec.models.sasrec", "SASRecDistilled")
register_lazy("sasrec-onnx", "shoprec.models.sasrec", "SASRecOnnx")
# The learned ranking stage (issue #19): candidates from several models, ordered by a learned
# ranker. The class lives in the ranking layer above (it composes models), so it is named here
# and imported on first use, never by `import shoprec.models`.
register_lazy("ranked", "shoprec.ranking.ranked", "RankedRecommender")
register_lazy("ranked-deepfm", "shoprec.ranking.ranked", "RankedRecommender", ranker="deepfm")

__all__ = [
    "ALS",
    "ALSConfig",
    "BaseConfig",
    "BaseRecommender",
    "EmbeddingModel",
    "CoVisitation",
    "CoVisitationConfig",
    "EASE",
    "EASEConfig",
    "FitOptions",
    "GrowsCatalogue",
    "ModelVersions",
    "Popularity",
    "PopularityConfig",
    "Progress",
    "ProgressUpdate",
    "Recommender",
    "Scores",
    "TextSim",
    "TextSimConfig",
    "WeightedConfig",
    "create_model",
    "default_event_weights",
    "load_model",
    "model_class",
    "model_keys",
    "read_artifact_meta",
    "register",
    "register_lazy",
]
