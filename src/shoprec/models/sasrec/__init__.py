"""SASRec-family Transformer over each shopper's latest actions, with text-fused item vectors.

Imports torch: reach it through the registry (``create_model("sasrec")``) so that
``import shoprec.models`` stays light.
"""

from .config import SASRecConfig
from .distributed import RankSpec, launch, process_group
from .scorer import SASRec
from .variants import (
    DistilledConfig,
    HalfConfig,
    Int8Config,
    OnnxConfig,
    PrunedConfig,
    SASRecDistilled,
    SASRecHalf,
    SASRecInt8,
    SASRecOnnx,
    SASRecPruned,
)

__all__ = [
    "DistilledConfig",
    "HalfConfig",
    "Int8Config",
    "OnnxConfig",
    "PrunedConfig",
    "RankSpec",
    "SASRec",
    "SASRecConfig",
    "SASRecDistilled",
    "SASRecHalf",
    "SASRecInt8",
    "SASRecOnnx",
    "SASRecPruned",
    "launch",
    "process_group",
]
