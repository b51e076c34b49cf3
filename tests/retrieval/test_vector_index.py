"""VectorIndex: exact below the size threshold, faiss IVF above it, with measured recall."""

from __future__ import annotations

import numpy as np
import polars as pl

from shoprec.data import Interactions
from shoprec.models import ALS, ALSConfig, FitOptions
from shoprec.retrieval import IndexConfig, ModelSource, VectorIndex
from shoprec.types import Query


def _clustered(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    centres = rng.standard_normal((50, dim))
    return (centres[rng.integers(50, size=n)] + 0.3 * rng.standard_normal((n, dim))).astype(
        np.float32
    )


def test_exact_search_is_the_brute_force_top_k_of_valid_rows(rng: np.random.Generator) -> None:
    vectors = _clustered(rng, 500)
    valid = np.ones(500, dtype=bool)
    valid[::2] = False  # even rows may never be returned
    index = VectorIndex(vectors, valid, IndexConfig(min_items=10_000))
    assert not index.approximate
    query = vectors[7]
    rows, scores = index.search(query, 5)
    expected = np.flatnonzero(valid)[np.argsort(-(vectors[valid] @ query))[:5]]
    assert rows.tolist() == expected.tolist()
    np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5)
    assert index.recall(vectors[:20], k=10) == 1.0


def test_ivf_index_finds_nearly_all_of_the_exact_top_10(rng: np.random.Generator) -> None:
    vectors = _clustered(rng, 20_000)
    index = VectorIndex(vectors, config=IndexConfig(min_items=1_000, nprobe=16))
    assert index.approximate
    queries = vectors[rng.choice(20_000, size=50, replace=False)]
    assert index.recall(queries, k=10) >= 0.95
    rows, scores = index.search(queries[0], 10)
    assert len(rows) == 10 and np.all(np.diff(scores) <= 1e-6)  # best first


def test_model_source_searches_the_index_and_honours_exclusions() -> None:
    rows = [(f"u{u}", f"i{(u + t) % 40}", float(t)) for u in range(200) for t in range(6)]
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    model = ALS(ALSConfig(factors=8, iterations=5))
    model.fit(Interactions(events.with_columns(event_type=pl.lit("view"))), FitOptions(seed=0))
    indexed = ModelSource(model, index=IndexConfig(min_items=10, nprobe=64))  # every cell
    exact = ModelSource(model)
    assert indexed.index is not None and exact.index is None
    query = Query.from_items(["i3", "i4"])
    assert (
        indexed.retrieve(query, 5).candidates.item_ids
        == exact.retrieve(query, 5).candidates.item_ids
    )
    top = exact.retrieve(query, 5).candidates.item_ids
    assert top[0] not in indexed.retrieve(query, 5, exclude={top[0]}).candidates.item_ids


def test_text_index_uses_the_vector_index_and_searches_later_items_exactly() -> None:
    from shoprec.features import HashingTextEncoder
    from shoprec.retrieval import TextIndex

    words = ["shoe", "tea", "lamp", "sofa", "cable", "phone", "shirt", "pan"]
    ids = [f"i{n}" for n in range(400)]
    texts = [f"{words[n % 8]} model {n}" for n in range(400)]
    index = TextIndex(HashingTextEncoder(64), IndexConfig(min_items=100, nprobe=64))
    index.add(ids, texts)
    found, _ = index.similar(["i0"], 5)
    assert all(int(i[1:]) % 8 == 0 for i in found.item_ids)  # other shoes
    index.add(["new"], ["green tea model"])  # after the index: searched exactly beside it
    found, _ = index.similar(["i1"], 400)
    assert "new" in found.item_ids
    assert index.search(index.encode_text("green tea"), 1)[0].item_ids == ("new",)
    index.add([f"more{n}" for n in range(60)], ["lamp model 2"] * 60)  # > a tenth: rebuilt
    assert all(i.startswith("more") for i in index.similar(["i2"], 60)[0].item_ids)
