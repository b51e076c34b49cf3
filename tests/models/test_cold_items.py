"""Cold items described by their text neighbours: the neighbours, the means, and the models
(co-visitation, EASE, popularity) that score a never-seen item as its nearest known item."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from shoprec.data import Interactions, UserSequences
from shoprec.models import EASE, CoVisitation, FitOptions, Popularity
from shoprec.models.cold_items import ImputesColdItems, TextNeighbours

#: Item -> text axis; "twin" reads like "b" but nobody touched it, "blank" has no text.
AXES = {"a": 0, "b": 1, "c": 2, "d": 3, "twin": 1, "blank": None}


def shop() -> Interactions:
    rows = []
    for u in range(12):  # a then b, again and again; c and d now and then
        rows += [(f"u{u}", "a", float(3 * u)), (f"u{u}", "b", 3.0 * u + 1)]
        rows.append((f"u{u}", "c" if u % 2 else "d", 3.0 * u + 2))
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    items = pl.DataFrame({"item_id": list(AXES), "title": list(AXES)})
    return Interactions(events.with_columns(event_type=pl.lit("view")), items)


def text_of(data: Interactions) -> np.ndarray:
    """Unit text vectors by :data:`AXES` (a slight tilt keeps the twin from being b itself)."""
    text = np.zeros((data.n_items, 5), dtype=np.float32)
    for row, item in enumerate(data.item_vocab.ids):
        if AXES[item] is not None:
            text[row, AXES[item]] = 1.0
    twin = data.item_vocab.ids.index("twin")
    text[twin, 4] = 0.3
    norms = np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)
    return np.asarray(text / norms, dtype=np.float32)


def known_of(data: Interactions) -> np.ndarray:
    return np.bincount(data.item_index, minlength=data.n_items) > 0


def row(data: Interactions, item: str) -> int:
    return data.item_vocab.ids.index(item)


def test_only_items_without_events_but_with_text_are_cold() -> None:
    data = shop()
    near = TextNeighbours.find(text_of(data), known_of(data), k=2, temperature=0.05)
    assert near.cold.tolist() == [row(data, "twin")]  # "blank" has no text to go by
    assert near.rows[0, 0] == row(data, "b")  # nearest first
    assert near.weights.sum(axis=1) == pytest.approx(1.0)
    assert near.weights[0, 0] > 0.99  # b is far closer than the second neighbour


def test_neighbours_are_capped_by_the_known_items() -> None:
    data = shop()
    near = TextNeighbours.find(text_of(data), known_of(data), k=50, temperature=1.0)
    assert near.rows.shape == (1, 4)  # a, b, c, d
    none = TextNeighbours.find(text_of(data), np.ones(data.n_items, dtype=bool), 3, 1.0)
    assert len(none) == 0
    assert none.mean(np.arange(6.0)).tolist() == list(np.arange(6.0))


def test_a_dense_and_a_sparse_matrix_are_imputed_alike_without_a_cold_cold_entry() -> None:
    rng = np.random.default_rng(0)
    known = np.array([True, True, True, False, False])
    m = rng.random((5, 5)).astype(np.float32) * np.outer(known, known)
    text = np.eye(5, dtype=np.float32)
    text[3] = text[4] = (text[0] + text[1]) / np.sqrt(2)
    near = TextNeighbours.find(text, known, k=2, temperature=1.0)
    dense = near.impute_square(m)
    np.testing.assert_allclose(dense[3], 0.5 * (m[0] + m[1]), rtol=1e-6)  # tied: half each
    np.testing.assert_allclose(dense[:, 4], 0.5 * (m[:, 0] + m[:, 1]), rtol=1e-6)
    assert dense[3:, 3:].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    np.testing.assert_array_equal(dense[:3, :3], m[:3, :3])  # known pairs untouched
    np.testing.assert_allclose(near.impute_sparse(sp.csr_matrix(m)).toarray(), dense, rtol=1e-6)


@pytest.mark.parametrize("model_cls", [CoVisitation, EASE, Popularity])
def test_a_cold_item_is_scored_as_its_nearest_known_item(
    model_cls: type[CoVisitation | EASE | Popularity],
) -> None:
    data = shop()
    model = model_cls()
    model.fit(data, FitOptions())
    assert isinstance(model, ImputesColdItems)  # what the ranker asks
    near = TextNeighbours.find(text_of(data), known_of(data), k=1, temperature=0.05)
    history = UserSequences.from_lists([[row(data, "a")]])
    before = model.score_batch(history)
    imputed = model.with_cold_items(near)
    after = imputed.score_batch(history)
    twin, b = row(data, "twin"), row(data, "b")
    assert np.nan_to_num(before[0, twin]) == 0.0  # never seen: no evidence
    assert after[0, twin] == pytest.approx(after[0, b]) and after[0, b] > 0
    np.testing.assert_array_equal(model.score_batch(history), before)  # the model is unchanged


def test_a_cold_item_in_a_history_leads_where_its_neighbour_would() -> None:
    data = shop()
    model = CoVisitation()
    model.fit(data, FitOptions())
    near = TextNeighbours.find(text_of(data), known_of(data), k=1, temperature=0.05)
    imputed = model.with_cold_items(near)
    from_twin = imputed.score_batch(UserSequences.from_lists([[row(data, "twin")]]))
    from_b = imputed.score_batch(UserSequences.from_lists([[row(data, "b")]]))
    known = known_of(data)
    np.testing.assert_allclose(from_twin[0, known], from_b[0, known])
