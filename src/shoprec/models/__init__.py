"""Models: the Recommender protocol, the registry, the baselines and (lazily) the Transformer.

Owns fitting and scoring. Must not import ``retrieval``, ``ranking``, ``rules``, ``pipeline``,
``serving`` or the CLI; torch is imported only inside ``models/sasrec``.
"""

from .base import BaseRecommender, Recommender, Scores, read_artifact_meta
from .config import BaseConfig, FitOptions, WeightedConfig, default_event_weights
from .registry import create_model, load_model, model_class, model_keys, register, register_lazy

__all__ = [
    "BaseConfig",
    "BaseRecommender",
    "FitOptions",
    "Recommender",
    "Scores",
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
