"""Data layer: interaction datasets, id vocabularies, sequences, splits, loaders, synthetic shop.

Owns everything about turning files into the canonical event/item frames. Must not import
``features``, ``models`` or anything above them.
"""

from .interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions, UserSequences, conform
from .splits import (
    SPLIT_PROTOCOLS,
    EvalSet,
    Split,
    cold_item_split,
    cold_user_split,
    leave_one_out,
    make_split,
    temporal_split,
)
from .vocabulary import IdVocab

__all__ = [
    "EVENT_SCHEMA",
    "EvalSet",
    "ITEM_SCHEMA",
    "IdVocab",
    "Interactions",
    "SPLIT_PROTOCOLS",
    "Split",
    "UserSequences",
    "cold_item_split",
    "cold_user_split",
    "conform",
    "leave_one_out",
    "make_split",
    "temporal_split",
]
