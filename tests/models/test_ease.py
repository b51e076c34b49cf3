"""EASE: the closed form, a planted block structure, weight scaling and the catalogue limit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions
from shoprec.errors import ConfigError
from shoprec.models import EASE, EASEConfig, FitOptions
from shoprec.types import Query


def block_log(rng: np.random.Generator, n_users: int = 80) -> Interactions:
    """Users of block ``x`` view 2-4 of the items x0..x5; nobody mixes blocks."""
    rows = []
    for u in range(n_users):
        block = "ab"[u % 2]
        picks = rng.choice(6, size=rng.integers(2, 5), replace=False)
        rows += [(f"u{u}", f"{block}{i}", "view", float(t)) for t, i in enumerate(picks)]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    catalogue = pl.DataFrame({"item_id": [f"{b}{i}" for b in "ab" for i in range(6)] + ["cold"]})
    return Interactions(events, catalogue)


def fitted(data: Interactions, **config: object) -> EASE:
    model = EASE(EASEConfig.model_validate(config))
    model.fit(data, FitOptions())
    return model


def test_scores_are_the_closed_form_solution(rng: np.random.Generator) -> None:
    data = block_log(rng)
    l2 = 3.0
    model = fitted(data, l2=l2, dtype="float64")
    seqs = data.sequences
    x = np.zeros((len(seqs), data.n_items))
    x[np.repeat(np.arange(len(seqs)), seqs.lengths()), seqs.items] = 1.0
    p = np.linalg.inv(x.T @ x + l2 * np.eye(data.n_items))
    b = np.eye(data.n_items) - p / np.diag(p)
    expected = x @ b
    cold = data.item_vocab.index_of("cold")
    expected[:, cold] = np.nan
    np.testing.assert_allclose(model.score_batch(seqs), expected, rtol=1e-5, atol=1e-6)


def test_planted_blocks_are_recovered_and_never_mixed(rng: np.random.Generator) -> None:
    model = fitted(block_log(rng), l2=1.0)
    for block, other in (("a", "b"), ("b", "a")):
        query = Query.from_items([f"{block}0", f"{block}1"])
        top = model.recommend(query, k=4)
        assert all(item.startswith(block) for item in top.item_ids)
        scores = dict(zip(model.item_vocab.ids, model.score(query).scores.tolist(), strict=True))
        assert max(abs(scores[f"{other}{i}"]) for i in range(6)) < 1e-6
        assert min(scores[f"{block}{i}"] for i in range(2, 6)) > 0.0


def test_never_interacted_items_and_empty_histories_cannot_be_scored(
    rng: np.random.Generator,
) -> None:
    model = fitted(block_log(rng))
    scored = model.score(Query.from_items(["a0"]))
    scores = dict(zip(scored.item_ids, scored.scores, strict=True))
    assert np.isnan(scores["cold"])
    assert np.isfinite([v for k, v in scores.items() if k != "cold"]).all()
    assert np.isnan(model.score(Query()).scores).all()


def test_event_weights_are_rescaled_so_l2_keeps_its_meaning(rng: np.random.Generator) -> None:
    data = block_log(rng)
    base = fitted(data, l2=5.0)
    tenfold = fitted(data, l2=5.0, event_weights={"view": 10.0})
    assert tenfold.weight_scale == 10.0
    np.testing.assert_allclose(
        tenfold.score_batch(data.sequences), base.score_batch(data.sequences), rtol=1e-5
    )


def test_catalogues_above_max_items_are_refused_with_the_alternatives() -> None:
    events = pl.DataFrame({"user_id": ["u"] * 6, "item_id": [f"i{i}" for i in range(6)]})
    with pytest.raises(ConfigError) as info:
        fitted(Interactions(events), max_items=5)
    message = str(info.value)
    assert "6 items, above max_items=5" in message
    assert "'covisit' or 'sasrec'" in message


def test_one_history_scores_like_the_same_history_in_a_batch(rng: np.random.Generator) -> None:
    data = block_log(rng)
    model = fitted(data, l2=10.0, event_weights={"view": 1.0, "purchase": 4.0})
    seqs = data.sequences
    batch = model.score_batch(seqs.take(np.arange(5)))
    for row in range(5):  # repeated items and mixed event types take their strongest weight
        np.testing.assert_allclose(model.score_batch(seqs.take([row]))[0], batch[row], rtol=1e-5)
