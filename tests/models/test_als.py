"""ALS: planted clusters, history-solved user vectors, event weights, unscorable items."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions
from shoprec.models import ALS, ALSConfig, FitOptions
from shoprec.types import HistoryEvent, Query

#: Two factors for two planted clusters.
SMALL = {"factors": 2, "iterations": 10, "regularization": 1.0}


def cluster_log(rng: np.random.Generator, n_users: int = 120) -> Interactions:
    """Users of cluster ``x`` view 4-6 of the items x0..x9; nobody crosses clusters."""
    rows = []
    for u in range(n_users):
        cluster = "ab"[u % 2]
        picks = rng.choice(10, size=rng.integers(4, 7), replace=False)
        rows += [(f"u{u}", f"{cluster}{i}", "view", float(t)) for t, i in enumerate(picks)]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    catalogue = pl.DataFrame({"item_id": [f"{c}{i}" for c in "ab" for i in range(10)] + ["cold"]})
    return Interactions(events, catalogue)


@pytest.fixture(scope="module")
def model() -> ALS:
    als = ALS(ALSConfig.model_validate(SMALL))
    als.fit(cluster_log(np.random.default_rng(7)), FitOptions(seed=3))
    return als


@pytest.mark.parametrize("cluster", ["a", "b"])
def test_recommendations_stay_in_the_histories_cluster(model: ALS, cluster: str) -> None:
    top = model.recommend(Query.from_items([f"{cluster}1", f"{cluster}2"]), k=6)
    assert len(top) == 6
    assert all(item.startswith(cluster) for item in top.item_ids), top.item_ids


def test_a_known_users_history_and_an_anonymous_copy_score_alike(model: ALS) -> None:
    history = ("a3", "a4", "a5")
    known = model.score(Query.from_items(history, user_id="u0"))
    anonymous = model.score(Query.from_items(history))
    np.testing.assert_array_equal(known.scores, anonymous.scores)


def test_the_stronger_event_type_decides_a_mixed_history(model: ALS) -> None:
    bought_a = Query(history=(HistoryEvent("a1", "purchase"), HistoryEvent("b1", "view")))
    bought_b = Query(history=(HistoryEvent("a1", "view"), HistoryEvent("b1", "purchase")))
    assert model.recommend(bought_a, k=1).item_ids[0].startswith("a")
    assert model.recommend(bought_b, k=1).item_ids[0].startswith("b")


def test_never_interacted_items_and_empty_histories_cannot_be_scored(model: ALS) -> None:
    scored = model.score(Query.from_items(["a1"]))
    cold = scored.item_ids.index("cold")
    assert np.isnan(scored.scores[cold])
    assert np.isfinite(np.delete(scored.scores, cold)).all()
    assert np.isnan(model.score(Query()).scores).all()


def test_different_seeds_give_different_factors() -> None:
    data = cluster_log(np.random.default_rng(7))
    fits = []
    for seed in (0, 1):
        als = ALS(ALSConfig.model_validate(SMALL))
        als.fit(data, FitOptions(seed=seed))
        fits.append(als.score_batch(data.sequences))
    assert not np.array_equal(fits[0], fits[1])
