"""The CandidateSource protocol and what a source returns."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shoprec.data import IdVocab
from shoprec.types import Candidates, HistoryEvent, ItemId, Query


@dataclass(frozen=True)
class Retrieved:
    """A source's candidates, best first, and for some the item that brought them.

    Attributes:
        candidates: Items with the source's own scores.
        because: Candidate -> the history or context item it was found from (for reasons).
    """

    candidates: Candidates
    because: Mapping[ItemId, ItemId] = field(default_factory=dict)


@runtime_checkable
class CandidateSource(Protocol):
    """A named way of finding candidate items for a query; safe to share between threads."""

    name: str

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Up to ``k`` candidates for ``query``, none of them in ``exclude``."""


def anchors(query: Query, n: int) -> list[tuple[HistoryEvent, float]]:
    """The items a query is about, with weights: its context items, then latest history items.

    Context items (on screen, in the cart) weigh 1; the ``n`` latest distinct history items
    weigh ``0.5 ** k`` (``k = 0`` for the latest). Each item appears once.
    """
    out: list[tuple[HistoryEvent, float]] = []
    seen: set[ItemId] = set()
    for item_id in query.context_items:
        if item_id not in seen:
            seen.add(item_id)
            out.append((HistoryEvent(item_id, "context"), 1.0))
    k = 0
    for event in reversed(query.history):
        if k >= n:
            break
        if event.item_id not in seen:
            seen.add(event.item_id)
            out.append((event, 0.5**k))
            k += 1
    return out


def exclusion_mask(vocab: IdVocab, item_ids: Iterable[ItemId]) -> npt.NDArray[np.bool_]:
    """A mask over the vocabulary's rows, true at ``item_ids`` (unknown ids ignored).

    Indexing it with candidate rows is cheaper per request than ``np.isin``, which sorts.
    """
    rows = vocab.lookup(item_ids)
    mask = np.zeros(len(vocab), dtype=bool)
    mask[rows[rows >= 0]] = True
    return mask
