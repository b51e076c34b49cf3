"""Item text vectors with cosine search, and the text-similar candidate source.

Search is exact, or goes through a vector index for large catalogues.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shoprec.data import IdVocab
from shoprec.features import TextEncoder
from shoprec.types import Candidates, ItemId, Query

from .source import Retrieved, anchors, exclusion_mask
from .vector_index import IndexConfig, VectorIndex

Vectors = npt.NDArray[np.float32]


#: Neighbour lists kept per table; beyond this many anchors the cache starts afresh.
NEIGHBOUR_CACHE_SIZE = 50_000
#: Neighbours kept per item beyond the ``k`` asked for, so that excluded items (seen, in the
#: cart, the other anchors) rarely leave fewer than ``k``.
EXTRA_NEIGHBOURS = 30


@dataclass(frozen=True)
class _Table:
    vocab: IdVocab
    vectors: Vectors  # (N, D), unit norm (zero rows for empty texts)
    # Large catalogues: an index over rows [0, indexed); rows added since are searched exactly.
    ann: VectorIndex | None = None
    indexed: int = 0
    # Per item row: its nearest rows and their cosines, filled on first use. A new table
    # (items added) starts with an empty cache, so cached lists never miss a new item.
    neighbours: dict[int, tuple[npt.NDArray[np.int64], Vectors]] = field(default_factory=dict)


class TextIndex:
    """Unit-norm text vectors of catalogue items, growing as items are added.

    Readers see a consistent table while items are added: a write builds a new table and
    swaps one reference. Catalogues of ``index.min_items`` items or more are searched through
    a :class:`VectorIndex`; items added later are searched exactly beside it until they pass a
    tenth of the indexed ones, when the index is rebuilt (within that write). An item whose
    text changes keeps its old vector in the index until then.

    Args:
        encoder: Turns item texts into vectors.
        index: When and how to index the vectors.
    """

    def __init__(self, encoder: TextEncoder, index: IndexConfig = IndexConfig()) -> None:
        self.encoder = encoder
        self.index_config = index
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
            ann, indexed = old.ann, old.indexed
            if len(vocab) < self.index_config.min_items:
                ann, indexed = None, 0
            elif ann is None or len(vocab) - indexed > indexed // 10:
                ann, indexed = VectorIndex(vectors, config=self.index_config), len(vocab)
            self._table = _Table(vocab, vectors, ann, indexed)

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
        if not len(table.vocab):
            return Candidates(()), []
        depth = k + len(exclude)
        lists = [(p, *_nearest(table, probe, depth)) for p, probe in enumerate(probes)]
        return _merge(table, lists, k, exclude)

    def similar(
        self, item_ids: Sequence[ItemId], k: int, exclude: Collection[ItemId] = ()
    ) -> tuple[Candidates, list[int]]:
        """The ``k`` items most similar to any of ``item_ids``, and each one's anchor position.

        Like :meth:`search` with the items' own vectors as probes, but from per-item neighbour
        lists cached on first use (``k + EXTRA_NEIGHBOURS`` deep: room for the exclusions):
        serving asks about the same popular anchors again and again.
        """
        table = self._table
        idx = table.vocab.lookup(item_ids)
        depth = k + EXTRA_NEIGHBOURS
        lists = [(a, *_neighbours(table, int(r), depth)) for a, r in enumerate(idx) if r >= 0]
        return _merge(table, lists, k, [*exclude, *item_ids])

    def encode_text(self, text: str) -> Vectors:
        """One free text (e.g. a search query) as a ``(1, D)`` unit vector."""
        return _unit(np.asarray(self.encoder.encode([text]), dtype=np.float32))


def _nearest(table: _Table, vector: Vectors, depth: int) -> tuple[npt.NDArray[np.int64], Vectors]:
    """The ``depth`` rows of largest cosine with ``vector``, best first."""
    depth = min(depth, len(table.vocab))
    if table.ann is None:
        sims = table.vectors @ vector  # (N,)
        near = np.argpartition(-sims, depth - 1)[:depth] if depth < len(sims) else np.arange(depth)
        near = near[np.argsort(-sims[near], kind="stable")]
        return near.astype(np.int64), sims[near].astype(np.float32)
    rows, sims = table.ann.search(vector, depth)
    late = table.vectors[table.indexed :] @ vector  # rows added since the index was built
    rows = np.concatenate([rows, table.indexed + np.arange(len(late))])
    sims = np.concatenate([sims, late.astype(np.float32)])
    order = np.argsort(-sims, kind="stable")[:depth]
    return rows[order], sims[order]


def _neighbours(table: _Table, row: int, depth: int) -> tuple[npt.NDArray[np.int64], Vectors]:
    """:func:`_nearest` of an item's own vector, itself left out, cached on the table."""
    cached = table.neighbours.get(row)
    if cached is not None and len(cached[0]) >= min(depth, len(table.vocab) - 1):
        return cached
    rows, sims = _nearest(table, table.vectors[row], depth + 1)
    keep = rows != row
    if len(table.neighbours) >= NEIGHBOUR_CACHE_SIZE:
        table.neighbours.clear()
    table.neighbours[row] = (rows[keep][:depth], sims[keep][:depth])
    return table.neighbours[row]


def _merge(
    table: _Table,
    lists: list[tuple[int, npt.NDArray[np.int64], Vectors]],
    k: int,
    exclude: Collection[ItemId],
) -> tuple[Candidates, list[int]]:
    """The ``k`` best of several probes' neighbour lists, each item with its best probe."""
    if not lists:
        return Candidates(()), []
    rows = np.concatenate([r for _, r, _ in lists])
    sims = np.concatenate([s for _, _, s in lists])
    probe = np.concatenate([np.full(len(r), p) for p, r, _ in lists])
    ok = (sims > 0) & ~exclusion_mask(table.vocab, exclude)[rows]
    rows, sims, probe = rows[ok], sims[ok], probe[ok]
    order = np.argsort(-sims, kind="stable")
    _, first = np.unique(rows[order], return_index=True)  # best probe per item
    best = order[first]
    top = best[np.argsort(-sims[best], kind="stable")][:k]
    found = Candidates(tuple(table.vocab.ids[r] for r in rows[top]), sims[top])
    return found, [int(p) for p in probe[top]]


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
        found, rows = self.index.similar(ids, k, exclude)
        return Retrieved(found, {i: ids[r] for i, r in zip(found.item_ids, rows, strict=True)})

    def search(self, text: str, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        """Top ``k`` items for a free-text query."""
        found, _ = self.index.search(self.index.encode_text(text), k, exclude)
        return Retrieved(found)
