"""Data layer: interaction datasets, id vocabularies, sequences, splits, loaders, synthetic shop.

Owns everything about turning files into the canonical event/item frames. Must not import
``features``, ``models`` or anything above them.
"""

from .files import Table, read_table
from .interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions, UserSequences, conform
from .loaders import DATASET_FORMATS, detect_format, load_dataset
from .splits import (
    SPLIT_PROTOCOLS,
    EvalSet,
    Split,
    cold_item_split,
    cold_user_split,
    leave_last_purchase_out,
    leave_one_out,
    make_split,
    temporal_split,
)
from .vocabulary import IdVocab

__all__ = [
    "DATASET_FORMATS",
    "EVENT_SCHEMA",
    "EvalSet",
    "ITEM_SCHEMA",
    "IdVocab",
    "Interactions",
    "SPLIT_PROTOCOLS",
    "Split",
    "Table",
    "UserSequences",
    "cold_item_split",
    "cold_user_split",
    "conform",
    "detect_format",
    "leave_last_purchase_out",
    "leave_one_out",
    "load_dataset",
    "make_split",
    "read_table",
    "temporal_split",
]
