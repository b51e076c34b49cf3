"""Item text embeddings with brute-force cosine search, and the text-similar candidate source."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shoprec.data import IdVocab
from shoprec.features import TextEncoder
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved, anchors

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Table:
    vocab: IdVocab
    vectors: Vectors  # (N, D), unit norm (zero rows for empty texts)


class TextIndex:
    """Unit-norm text vectors of catalogue items, growing as items are added.

    Readers see a consistent table while items are added: a write builds a new table and
    swaps one reference.

    Args:
        encoder: Turns item texts into vectors.
    """

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self._table = _Table(IdVocab(), np.zeros((0, 0), dtype=np.float32))
        self._lock = threading.Lock()

    def add(self, item_ids: Sequence[ItemId], texts: Sequence[str]) -> None:
        """Embed and add (or re-embed) items."""
        if not item_ids:
            return
        fresh = _unit(np.asarray(self.encoder.encode(list(texts)), dtype=np.float32))
        with self._lock:
            old = self._table
            vocab = IdVocab(old.vocab.ids)
            rows = vocab.add(item_ids)
            dim = fresh.shape[1]
            vectors = np.zeros((len(vocab), dim), dtype=np.float32)
            vectors[: len(old.vocab)] = old.vectors if old.vectors.shape[1] == dim else 0.0
            vectors[rows] = fresh
            self._table = _Table(vocab, vectors)

    def __len__(self) -> int:
        return len(self._table.vocab)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._table.vocab

    def vectors_of(self, item_ids: Sequence[ItemId]) -> Vectors:
        """``(len(item_ids), D)`` vectors; zero rows for items not indexed."""
        table = self._table
        idx = table.vocab.lookup(item_ids)
        out = np.zeros((len(item_ids), table.vectors.shape[1]), dtype=np.float32)
        out[idx >= 0] = table.vectors[idx[idx >= 0]]
        return out

    def search(
        self, probes: Vectors, k: int, exclude: Collection[ItemId] = ()
    ) -> tuple[Candidates, list[int]]:
        """The ``k`` items most similar to any probe (largest cosine), and each one's probe.

        Args:
            probes: ``(P, D)`` unit vectors.
            k: How many items.
            exclude: Items never returned.

        Returns:
            The items with their cosine, best first, and the row of the probe that found each.
        """
        table = self._table
        if not len(table.vocab) or not len(probes):
            return Candidates(()), []
        sims = probes @ table.vectors.T  # (P, N)
        best = sims.max(axis=0).astype(np.float32)
        which = sims.argmax(axis=0)
        if exclude:
            idx = table.vocab.lookup(exclude)
            best[idx[idx >= 0]] = np.nan
        best[best <= 0] = np.nan
        found = Candidates(tuple(table.vocab.ids), best).top(k)
        rows = table.vocab.lookup(found.item_ids)
        return found, [int(which[r]) for r in rows]

    def encode_text(self, text: str) -> Vectors:
        """One free text (e.g. a search query) as a ``(1, D)`` unit vector."""
        return _unit(np.asarray(self.encoder.encode([text]), dtype=np.float32))


def _unit(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out = np.zeros_like(vectors)
    np.divide(vectors, norms, out=out, where=norms > 0)
    return out


class TextSource:
    """Items whose text is closest to the query's anchors (or to a search text).

    Args:
        index: The catalogue's text vectors.
        n_anchors: Latest distinct history items used as anchors (context items always are).
        name: The source's name in blend weights and responses.
    """

    def __init__(self, index: TextIndex, n_anchors: int = 5, name: str = "text") -> None:
        self.index = index
        self.n_anchors = n_anchors
        self.name = name

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` text neighbours of the anchors, ``exclude`` and the anchors left out."""
        ids = [event.item_id for event, _ in anchors(query, self.n_anchors)]
        probes = self.index.vectors_of(ids)
        found, rows = self.index.search(probes, k, {*exclude, *ids})
        return Retrieved(found, {i: ids[r] for i, r in zip(found.item_ids, rows, strict=True)})

    def search(self, text: str, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` items for a free-text query."""
        found, _ = self.index.search(self.index.encode_text(text), k, exclude)
        return Retrieved(found)
