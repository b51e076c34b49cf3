"""Cold items described by their text neighbours: the neighbours, the means, and the models
(co-visitation, EASE, popularity) that score a never-seen item as its nearest known item."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from shoprec.data import Interactions, UserSequences
from shoprec.errors import ModelError
from shoprec.models import EASE, CoVisitation, FitOptions, Popularity
from shoprec.models.cold_items import ImputesColdItems, TextNeighbours

#: Item -> text axis; "twin" reads like "b" but nobody touched it, "blank" has no text.
AXES = {"a": 0, "b": 1, "c": 2, "d": 3, "twin": 1, "blank": None}


def shop(listed: tuple[str, ...] = tuple(AXES)) -> Interactions:
    rows = []
    for u in range(12):  # a then b, again and again; c and d now and then
        rows += [(f"u{u}", "a", float(3 * u)), (f"u{u}", "b", 3.0 * u + 1)]
        rows.append((f"u{u}", "c" if u % 2 else "d", 3.0 * u + 2))
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    items = pl.DataFrame({"item_id": list(listed), "title": list(listed)})
    return Interactions(events.with_columns(event_type=pl.lit("view")), items)


def text_of(data: Interactions, ids: list[str] | None = None) -> np.ndarray:
    """Unit text vectors by :data:`AXES` (a slight tilt keeps the twin from being b itself).

    Rows follow ``ids`` (default: ``data``'s vocabulary).
    """
    ids = ids if ids is not None else data.item_vocab.ids
    text = np.zeros((len(ids), 5), dtype=np.float32)
    for row, item in enumerate(ids):
        if AXES[item] is not None:
            text[row, AXES[item]] = 1.0
    text[ids.index("twin"), 4] = 0.3
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
    given = m.copy()
    dense = near.impute_square(given)
    assert dense is given  # in place: a catalogue-sized matrix is not copied again
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


@pytest.mark.parametrize("model_cls", [CoVisitation, EASE, Popularity])
def test_items_added_after_the_fit_are_scored_by_their_neighbours_or_not_at_all(
    model_cls: type[CoVisitation | EASE | Popularity],
) -> None:
    data = shop(listed=("a", "b", "c", "d"))  # twin and blank are listed after the fit
    model = model_cls()
    model.fit(data, FitOptions())
    ids = [*data.item_vocab.ids, "twin", "blank"]
    known = np.arange(len(ids)) < data.n_items
    near = TextNeighbours.find(text_of(data, ids), known, k=1, temperature=0.05)
    grown = model.with_cold_items(near, added=["twin", "blank"])
    assert grown.item_vocab.ids == ids and model.item_vocab.ids == ids[:-2]
    history = UserSequences.from_lists([[ids.index("a")]])
    scores = grown.score_batch(history)
    assert scores.shape == (1, len(ids))
    b, twin, blank = ids.index("b"), ids.index("twin"), ids.index("blank")
    assert scores[0, twin] == pytest.approx(scores[0, b]) and scores[0, b] > 0
    assert np.nan_to_num(scores[0, blank]) == 0.0  # no text: nothing to go by
    with pytest.raises(ModelError, match="catalogue of 6"):
        model.with_cold_items(near, added=["twin"])


def test_only_keeps_the_cold_items_asked_for() -> None:
    data = shop()
    known = known_of(data)
    known[row(data, "d")] = False
    near = TextNeighbours.find(text_of(data), known, k=2, temperature=0.05)
    assert sorted(near.cold.tolist()) == sorted([row(data, "twin"), row(data, "d")])
    only = near.only(np.asarray([row(data, "d")]))
    assert only.cold.tolist() == [row(data, "d")] and only.rows.shape == (1, 2)
    assert len(near.only(np.zeros(0, dtype=np.int64))) == 0
