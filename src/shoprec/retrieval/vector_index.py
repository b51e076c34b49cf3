"""Maximum-inner-product search over item vectors: exact below a size, faiss IVF above it.

Models that score an item as ``query_vector · item_vector`` (ALS, the Transformer) can answer
"top k of the catalogue" without scoring the catalogue. Below ``min_items`` items a brute-force
product is exact and already fast; above it a faiss inverted-file index (IVF, flat vectors,
inner product) scans only the ``nprobe`` cells nearest to the query. faiss was chosen over
HNSW libraries for this: an IVF index builds in seconds from k-means (HNSW inserts took
minutes per 200k vectors here) and its recall on recommendation vectors stays near 1 at a
few percent of the catalogue scanned; see ``docs/serving.md`` for the measured recall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

#: Vectors the k-means of the coarse quantiser trains on (a sample: enough for stable cells).
TRAIN_SAMPLE = 100_000


@dataclass(frozen=True)
class IndexConfig:
    """When and how to index.

    Attributes:
        min_items: Catalogues at least this large get an approximate index; smaller ones are
            searched exactly.
        nprobe: Cells scanned per query (recall against speed).
        seed: Seeds the training sample and k-means.
    """

    min_items: int = 200_000
    nprobe: int = 32
    seed: int = 0


class VectorIndex:
    """Top-k inner-product search over fixed item vectors (rows of ``vectors``).

    Args:
        vectors: ``(N, D)`` item vectors.
        valid: ``(N,)`` which rows may be returned (default: all).
        config: Index settings.
    """

    def __init__(
        self,
        vectors: Vectors,
        valid: npt.NDArray[np.bool_] | None = None,
        config: IndexConfig = IndexConfig(),
    ) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n = len(self.vectors)
        self.rows = np.flatnonzero(valid) if valid is not None else np.arange(n)
        self.config = config
        self._ivf = self._build() if len(self.rows) >= config.min_items else None

    @property
    def approximate(self) -> bool:
        """Whether searches go through the IVF index (else exact)."""
        return self._ivf is not None

    def _build(self) -> object:
        import faiss  # heavy, and only needed for large catalogues

        data = self.vectors[self.rows]
        n, dim = data.shape
        nlist = max(1, int(4 * math.sqrt(n)))
        rng = np.random.default_rng(self.config.seed)
        sample = data[rng.choice(n, size=min(n, max(TRAIN_SAMPLE, 40 * nlist)), replace=False)]
        quantiser = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantiser, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = self.config.seed
        index.train(sample)
        index.add(data)
        index.nprobe = self.config.nprobe
        return index

    def search(self, query: Vectors, k: int) -> tuple[npt.NDArray[np.int64], Vectors]:
        """Rows of the ``k`` best vectors for one ``(D,)`` query, best first, with scores."""
        k = min(k, len(self.rows))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32)
        if self._ivf is None:
            scores = self.vectors[self.rows] @ q
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(k)
            top = top[np.argsort(-scores[top], kind="stable")]
            return self.rows[top], scores[top].astype(np.float32)
        found_scores, found = self._ivf.search(q[None], k)  # type: ignore[attr-defined]
        keep = found[0] >= 0  # fewer than k in the scanned cells: padding of -1
        return self.rows[found[0][keep]], found_scores[0][keep].astype(np.float32)

    def recall(self, queries: Vectors, k: int = 10) -> float:
        """Mean share of the exact top ``k`` that :meth:`search` returns, over ``queries``."""
        data = self.vectors[self.rows]
        hits = 0
        for q in queries:
            scores = data @ q
            exact = set(self.rows[np.argpartition(-scores, k - 1)[:k]].tolist())
            hits += len(exact & set(self.search(q, k)[0].tolist()))
        return hits / (k * len(queries)) if len(queries) else 1.0
