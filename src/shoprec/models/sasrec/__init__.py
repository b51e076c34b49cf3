"""SASRec-family Transformer over each shopper's latest actions, with text-fused item vectors.

Imports torch: reach it through the registry (``create_model("sasrec")``) so that
``import shoprec.models`` stays light.
"""

from .backends import Backend, HalfConfig, Int8Config, OnnxConfig
from .compressed import CompressedSASRec, SASRecHalf, SASRecInt8, SASRecOnnx
from .config import SASRecConfig
from .derived import DistilledConfig, PrunedConfig, SASRecDistilled, SASRecPruned, distill, prune
from .distributed import RankSpec, launch, process_group
from .scorer import SASRec

__all__ = [
    "Backend",
    "CompressedSASRec",
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
    "distill",
    "launch",
    "process_group",
    "prune",
]
