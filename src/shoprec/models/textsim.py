"""Text similarity: the items whose texts read most like the shopper's latest items.

The content-based model: it learns nothing from events, so it scores an item nobody has
interacted with yet exactly like any other, and serves a shop from its first day. Item texts
(title | brand | category | description) are encoded once by a pretrained sentence encoder
(all-MiniLM-L6-v2 by default, :mod:`shoprec.features.text`); a history's query is the
``0.5 ** k``-weighted sum of the unit vectors of its latest :data:`TEXT_RECENT` distinct
items (``k = 0`` the latest), and an item's score is its cosine to that query.

The learned ranker's ``"text"`` candidate source and text features use the same vectors and
queries (:func:`unit_text_vectors`, :func:`text_queries`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import DataError
from shoprec.features import MINILM, EmbeddingCache, encode_texts, make_text_encoder
from shoprec.types import ItemId

from .base import BaseRecommender, Scores, new_items
from .config import BaseConfig, FitOptions
from .registry import register
from .weighting import check_history

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: Latest distinct history items a text query averages (weights ``0.5 ** k``).
TEXT_RECENT = 5


def unit_text_vectors(
    texts: list[str], encoder: str, cache_dir: str | None, device: str
) -> FloatArray | None:
    """``(N, D)`` unit vectors of ``texts`` (zero rows for empty texts); ``None`` if all empty.

    Args:
        texts: One text per item row.
        encoder: Text encoder spec (:func:`~shoprec.features.make_text_encoder`).
        cache_dir: Directory of the on-disk embedding cache (``None``: no cache).
        device: ``FitOptions.device`` (``"auto"`` lets the encoder choose).
    """
    if not any(t.strip() for t in texts):
        return None
    model = make_text_encoder(encoder, device=None if device == "auto" else device)
    cache = EmbeddingCache(Path(cache_dir)) if cache_dir else None
    logger.info("encoding %d item texts with %s", len(texts), model.name)
    vectors = encode_texts(model, texts, cache)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: FloatArray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit


def text_queries(vectors: FloatArray, histories: UserSequences) -> FloatArray:
    """``(B, D)`` unit query vectors of the histories; zero rows where no recent item has text."""
    b, k, items = recent_distinct(histories, TEXT_RECENT)
    # (B, TEXT_RECENT) slots; an empty slot points at row 0 with weight 0 (adds exactly 0).
    slots = np.zeros((len(histories), TEXT_RECENT), dtype=np.int64)
    weights = np.zeros((len(histories), TEXT_RECENT), dtype=np.float32)
    slots[b, k] = items
    weights[b, k] = 0.5**k
    # A sum over the slot axis adds each row's terms in slot order, whatever the batch.
    query = (weights[:, :, None] * vectors[slots]).sum(axis=1)  # (B, D)
    norms = np.linalg.norm(query, axis=1, keepdims=True)
    unit: FloatArray = np.divide(query, norms, out=np.zeros_like(query), where=norms > 0)
    return unit


def recent_distinct(histories: UserSequences, n: int) -> tuple[IntArray, IntArray, IntArray]:
    """The latest ``n`` distinct items of every history, as flat arrays.

    Returns:
        ``(b, k, items)``: history row, recency (0 = the latest distinct item) and item row of
        each kept entry, grouped by history row and ordered by recency within it.
    """
    lengths = histories.lengths()
    total = len(histories.items)
    b = np.repeat(np.arange(len(histories), dtype=np.int64), lengths)
    back = np.repeat(histories.offsets[1:], lengths) - 1 - np.arange(total)  # 0 = latest event
    items = histories.items
    # Each (history, item) pair once, at its latest occurrence.
    order = np.lexsort((back, items, b))
    first = np.ones(total, dtype=bool)
    first[1:] = (b[order][1:] != b[order][:-1]) | (items[order][1:] != items[order][:-1])
    keep = order[first]
    keep = keep[np.lexsort((back[keep], b[keep]))]
    kb = b[keep]
    k = np.arange(len(keep)) - np.searchsorted(kb, kb, side="left")
    sel = k < n
    return kb[sel], k[sel].astype(np.int64), items[keep][sel]


class TextSimConfig(BaseConfig):
    """Configuration of :class:`TextSim`."""

    text_encoder: str = MINILM
    """Text encoder spec (``make_text_encoder``): the bundled all-MiniLM-L6-v2, a
    sentence-transformers model directory, or ``hashing-<dim>``."""

    text_cache_dir: str | None = None
    """Directory of the on-disk text-embedding cache (``None``: no cache)."""


@register
class TextSim(BaseRecommender):
    """Cosine between item text vectors and the shopper's recent items (see the module).

    Items without text, and histories whose recent items have none, cannot be scored (NaN).

    Example:
        >>> model = TextSim(TextSimConfig(text_cache_dir="cache"))  # doctest: +SKIP
    """

    key: ClassVar[str] = "textsim"
    config_cls: ClassVar[type[TextSimConfig]] = TextSimConfig
    config: TextSimConfig
    #: No grid: nothing is learnt, the encoder is the product's own.
    search_space: ClassVar[dict[str, list[Any]]] = {}

    def __init__(self, config: TextSimConfig | None = None) -> None:
        super().__init__(config)
        self._vectors = np.zeros((0, 0), dtype=np.float32)  # (N, D) unit or zero rows

    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:  # noqa: B008
        """Encode the catalogue's item texts (the events are not used).

        Raises:
            DataError: No item of the catalogue has a text.
        """
        cfg = self.config
        vectors = unit_text_vectors(
            data.item_texts(), cfg.text_encoder, cfg.text_cache_dir, opts.device
        )
        if vectors is None:
            raise DataError("textsim needs item texts (title, brand, category or description)")
        self.item_vocab = IdVocab(data.item_vocab.ids)
        self._vectors = vectors
        self._fitted = True

    def score_batch(self, histories: UserSequences) -> Scores:
        """Cosine ``(B, N)`` of every item to each history's text query (NaN: no text)."""
        self._require_fitted()
        check_history(histories, len(self._vectors))
        query = text_queries(self._vectors, histories)
        scores: Scores = (query @ self._vectors.T).astype(np.float32)
        scores[:, ~self._vectors.any(axis=1)] = np.nan
        scores[~query.any(axis=1)] = np.nan
        return scores

    def add_items(
        self,
        item_ids: Sequence[ItemId],
        texts: Sequence[str],
        catalogue: pl.DataFrame | None = None,
    ) -> None:
        """Add new items by their text: scored from the next call on, without a refit.

        Items already in the vocabulary are left as they are; an empty text gives an item that
        cannot be scored (as at fit). ``catalogue`` is not read: the text is all this model
        knows of an item.

        Raises:
            DataError: When ``item_ids`` and ``texts`` differ in length.
        """
        self._require_fitted()
        fresh = new_items(self.item_vocab, item_ids, texts)
        if not fresh:
            return
        cfg = self.config
        vectors = unit_text_vectors(
            list(fresh.values()), cfg.text_encoder, cfg.text_cache_dir, "cpu"
        )
        if vectors is None:  # only empty texts
            vectors = np.zeros((len(fresh), self._vectors.shape[1]), dtype=np.float32)
        self._vectors = np.concatenate([self._vectors, vectors])
        self.item_vocab.add(list(fresh))

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"vectors": self._vectors}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self._vectors = arrays["vectors"]
