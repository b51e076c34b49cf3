"""Text similarity: new items found by their text (listed after the fit too), recency
weighting, no-text items, and the ranked recommender's text source ranking as the model does."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions, UserSequences
from shoprec.errors import DataError
from shoprec.models import FitOptions, TextSim, TextSimConfig
from shoprec.ranking import TextSimilarity
from shoprec.types import Query

TITLES = {
    "red1": "red running shoe",
    "red2": "red running shoe light",
    "blue1": "blue silk scarf",
    "blue2": "blue silk scarf long",
    "new_red": "red running shoe trail",  # nobody has interacted with it
    "new_blue": "blue silk scarf wide",  # nobody has interacted with it
    "blank": "",
}


def shop() -> Interactions:
    events = pl.DataFrame(
        [
            ("u0", "red1", "view", 1.0),
            ("u0", "red2", "purchase", 2.0),
            ("u1", "blue1", "view", 3.0),
            ("u1", "blue2", "view", 4.0),
        ],
        schema=["user_id", "item_id", "event_type", "timestamp"],
        orient="row",
    )
    items = pl.DataFrame({"item_id": list(TITLES), "title": list(TITLES.values())})
    return Interactions(events, items)


@pytest.fixture(scope="module")
def model() -> TextSim:
    fitted = TextSim(TextSimConfig(text_encoder="hashing-64"))
    fitted.fit(shop(), FitOptions())
    return fitted


def ranked(model: TextSim, history: list[str]) -> list[str]:
    return list(model.recommend(Query.from_items(history), k=3).item_ids)


def test_an_item_nobody_interacted_with_is_found_by_its_text(model: TextSim) -> None:
    assert set(ranked(model, ["red1"])[:2]) == {"red2", "new_red"}
    assert set(ranked(model, ["blue1"])[:2]) == {"blue2", "new_blue"}


def test_the_latest_item_weighs_most(model: TextSim) -> None:
    assert set(ranked(model, ["red1", "blue1"])[:2]) == {"blue2", "new_blue"}
    assert set(ranked(model, ["blue1", "red1"])[:2]) == {"red2", "new_red"}


def test_items_without_text_cannot_be_scored(model: TextSim) -> None:
    vocab = model.item_vocab
    scores = model.score_batch(UserSequences.from_lists([[vocab.index_of("red1")]]))[0]
    assert np.isnan(scores[vocab.index_of("blank")])
    assert np.isfinite(np.delete(scores, vocab.index_of("blank"))).all()
    # A history of text-less items has no query: nothing can be scored.
    only_blank = UserSequences.from_lists([[vocab.index_of("blank")]])
    assert np.isnan(model.score_batch(only_blank)).all()


def test_a_catalogue_without_any_text_is_refused() -> None:
    data = shop()
    blank = Interactions(data.events, data.items.with_columns(pl.lit("").alias("title")))
    with pytest.raises(DataError, match="item texts"):
        TextSim(TextSimConfig(text_encoder="hashing-64")).fit(blank, FitOptions())


def test_the_ranked_text_source_ranks_as_the_model() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    model = TextSim()
    model._vectors, model._fitted = vectors, True
    histories = UserSequences.from_lists([rng.integers(0, 500, 7).tolist() for _ in range(10)])
    b, rows, scores = TextSimilarity(vectors).top_k_rows(histories, 20)
    expected = model.score_batch(histories)
    for i in range(len(histories)):
        mine = rows[b == i]
        np.testing.assert_array_equal(mine, np.argsort(-expected[i], kind="stable")[:20])
        np.testing.assert_allclose(scores[b == i], expected[i, mine], rtol=1e-5)


def test_items_listed_after_the_fit_are_found_at_once(model: TextSim, tmp_path: Path) -> None:
    grown = copy.deepcopy(model)
    grown.add_items(
        ["red1", "newer_red", "no_text"], ["ignored: already known", "red running shoe sprint", ""]
    )
    assert len(grown.item_vocab) == len(model.item_vocab) + 2
    assert "newer_red" in ranked(grown, ["red1"])
    scores = grown.score_batch(UserSequences.from_lists([[grown.item_vocab.index_of("red1")]]))
    assert np.isnan(scores[0, grown.item_vocab.index_of("no_text")])
    # Known items keep their vectors; the grown model saves and loads like any.
    np.testing.assert_array_equal(grown._vectors[: len(model._vectors)], model._vectors)
    grown.save(tmp_path / "grown")
    again = TextSim.load(tmp_path / "grown")
    assert ranked(again, ["red1"]) == ranked(grown, ["red1"])
    with pytest.raises(DataError, match="2 item ids but 1 texts"):
        grown.add_items(["p", "q"], ["only one"])
