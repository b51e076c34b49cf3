"""SASRec-family Transformer over each shopper's latest actions, with text-fused item vectors.

Imports torch: reach it through the registry (``create_model("sasrec")``) so that
``import shoprec.models`` stays light.
"""

from .config import SASRecConfig
from .scorer import SASRec

__all__ = ["SASRec", "SASRecConfig"]
