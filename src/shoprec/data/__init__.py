"""Data layer: interaction datasets, id vocabularies, sequences, splits, importers and the synthetic shop.

Owns everything about turning files into the canonical event/item frames. Must not import
``features``, ``models`` or anything above them.
"""

from .interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions, UserSequences, conform
from .splits import EvalSet, Split, leave_one_out
from .vocabulary import IdVocab

__all__ = [
    "EVENT_SCHEMA",
    "EvalSet",
    "ITEM_SCHEMA",
    "IdVocab",
    "Interactions",
    "Split",
    "UserSequences",
    "conform",
    "leave_one_out",
]
