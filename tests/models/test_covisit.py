"""Co-visitation: planted followers, directed counts, event weights, decay, pruning, scoring."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions, UserSequences
from shoprec.models import CoVisitation, CoVisitationConfig, FitOptions
from shoprec.models.weighting import history_weights
from shoprec.types import HistoryEvent, Query

DAY = 86_400.0


def log(
    sessions: list[list[str]], kinds: list[list[str]] | None = None, day: float = 0.0
) -> pl.DataFrame:
    """One user per session, events one second apart (``kinds`` default to views)."""
    rows = []
    for u, items in enumerate(sessions):
        types = kinds[u] if kinds is not None else ["view"] * len(items)
        rows += [
            (f"u{u}", item, t, day + s)
            for s, (item, t) in enumerate(zip(items, types, strict=True))
        ]
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )


def fitted(events: pl.DataFrame, **config: object) -> CoVisitation:
    model = CoVisitation(CoVisitationConfig.model_validate(config))
    model.fit(Interactions(events), FitOptions())
    return model


def scores_by_id(model: CoVisitation, history: list[str]) -> dict[str, float]:
    scored = model.score(Query.from_items(history))
    return dict(zip(scored.item_ids, scored.scores.tolist(), strict=True))


def test_after_a_the_item_that_always_follows_it_ranks_first() -> None:
    rng = np.random.default_rng(0)
    noise = [f"n{i}" for i in range(8)]
    sessions = [[*rng.choice(noise, 3), "A", "B", *rng.choice(noise, 2)] for _ in range(30)]
    model = fitted(log(sessions))
    assert model.recommend(Query.from_items(["A"]), k=1).item_ids == ("B",)


def test_pairs_are_counted_forward_within_the_window_plus_a_reverse_share() -> None:
    events = log([["A", "B", "C"]])
    one = fitted(events, window=1, reverse_weight=0.0)
    after_a = scores_by_id(one, ["A"])
    assert after_a["B"] == 1.0
    assert np.isnan(after_a["C"])  # two steps away: outside a window of one
    assert np.isnan(scores_by_id(one, ["C"])["B"])  # purely sequential: no way back
    two = fitted(events, window=2, reverse_weight=0.5)
    assert {k: v for k, v in scores_by_id(two, ["A"]).items() if not np.isnan(v)} == {
        "B": 1.0,
        "C": 1.0,
    }
    assert {k: v for k, v in scores_by_id(two, ["C"]).items() if not np.isnan(v)} == {
        "A": 0.5,
        "B": 0.5,
    }


def test_a_purchase_after_a_outweighs_more_views_unless_weights_say_otherwise() -> None:
    sessions = [["A", "C"]] * 3 + [["A", "B"]] * 2
    kinds = [["view", "view"]] * 3 + [["view", "purchase"]] * 2
    events = log(sessions, kinds)
    assert fitted(events).recommend(Query.from_items(["A"]), k=1).item_ids == ("B",)
    flat = fitted(events, event_weights={"purchase": 1.0})
    assert flat.recommend(Query.from_items(["A"]), k=1).item_ids == ("C",)


def test_half_life_lets_recent_pairs_overtake_older_more_frequent_ones() -> None:
    old = log([["A", "B"]] * 3)
    recent = log([["A", "C"]] * 2, day=20 * DAY).with_columns(pl.col("user_id") + "-late")
    events = pl.concat([old, recent])
    assert fitted(events).recommend(Query.from_items(["A"]), k=1).item_ids == ("B",)
    decayed = fitted(events, half_life_days=10.0)
    scores = scores_by_id(decayed, ["A"])
    assert scores["C"] == pytest.approx(2.0, rel=1e-4)
    assert scores["B"] == pytest.approx(3.0 / 4.0, rel=1e-4)  # two half-lives old


def test_cosine_normalisation_keeps_a_best_seller_from_neighbouring_everything() -> None:
    sessions = [["A", "X"]] * 3 + [["A", "P"]] * 4 + [[f"q{i}", "P"] for i in range(40)]
    events = log(sessions)
    assert fitted(events).recommend(Query.from_items(["A"]), k=1).item_ids == ("P",)
    cosine = fitted(events, normalization="cosine")
    assert cosine.recommend(Query.from_items(["A"]), k=1).item_ids == ("X",)


def test_top_m_keeps_only_the_strongest_neighbours_per_item() -> None:
    events = log([["A", "B"]] * 3 + [["A", "C"]] * 2 + [["A", "D"]])
    scores = scores_by_id(fitted(events, top_m=2), ["A"])
    assert scores["B"] == 3.0 and scores["C"] == 2.0
    assert np.isnan(scores["D"])


def test_latest_history_events_weigh_most_and_only_the_last_n_count() -> None:
    events = log([["A", "B"]] * 2 + [["X", "Y"]] * 2)
    model = fitted(events, position_decay=0.5)
    assert model.recommend(Query.from_items(["A", "X"]), k=1).item_ids == ("Y",)
    assert model.recommend(Query.from_items(["X", "A"]), k=1).item_ids == ("B",)
    assert scores_by_id(model, ["A", "X"])["B"] == 1.0  # 2 pairs x decay 0.5
    latest_only = fitted(events, last_n=1)
    assert np.isnan(scores_by_id(latest_only, ["A", "X"])["B"])


def test_history_event_types_weigh_the_neighbour_rows() -> None:
    model = fitted(log([["A", "B"]] * 2 + [["X", "Y"]] * 2), position_decay=0.5)
    # A bought (weight 5, one step back: x0.5) outweighs X just viewed (weight 1).
    query = Query(history=(HistoryEvent("A", "purchase"), HistoryEvent("X", "view")))
    assert model.recommend(query, k=1).item_ids == ("B",)


def test_items_without_evidence_and_empty_histories_cannot_be_scored() -> None:
    model = fitted(log([["A", "B"], ["C", "D"]]), reverse_weight=0.0)
    assert np.isnan(model.score(Query()).scores).all()
    after_b = scores_by_id(model, ["B"])
    assert all(np.isnan(v) for v in after_b.values())  # B is never followed
    assert model.recommend(Query.from_items(["B"])).item_ids == ()


def test_a_history_scores_the_decayed_sum_of_its_neighbour_rows_whatever_the_batch() -> None:
    rng = np.random.default_rng(0)
    sessions = [[f"i{j}" for j in rng.integers(0, 40, 12)] for _ in range(80)]
    kinds = [rng.choice(["view", "addtocart", "purchase"], 12).tolist() for _ in sessions]
    model = fitted(log(sessions, kinds), last_n=4, position_decay=0.5)
    n = len(model.item_vocab)
    lists = [rng.integers(0, n, rng.integers(0, 9)).tolist() for _ in range(25)]
    types = [rng.integers(0, 3, len(h)).tolist() for h in lists]
    histories = UserSequences.from_lists(lists, None, types)
    scores = model.score_batch(histories)
    weights = history_weights(histories, n, model._type_table)
    dense = model._matrix.toarray()
    for b, items in enumerate(lists):
        lo = histories.offsets[b]
        expected = np.zeros(n)
        for back, i in enumerate(reversed(range(len(items)))):
            if back < 4:
                expected += weights[lo + i] * 0.5**back * dense[items[i]]
        np.testing.assert_allclose(scores[b], np.where(expected != 0, expected, np.nan), rtol=1e-6)
        alone = UserSequences.from_lists([items], None, [types[b]])
        np.testing.assert_array_equal(model.score_batch(alone)[0], scores[b])


def test_top_k_rows_is_the_top_k_of_the_whole_catalogue_scores() -> None:
    rng = np.random.default_rng(1)
    sessions = [[f"i{j}" for j in rng.integers(0, 40, 12)] for _ in range(80)]
    model = fitted(log(sessions), last_n=4, position_decay=0.5)
    n = len(model.item_vocab)
    histories = UserSequences.from_lists([rng.integers(0, n, 6).tolist() for _ in range(20)])
    exclude = [rng.integers(0, n, 5) for _ in range(20)]
    only = [rng.integers(0, n, 25) for _ in range(20)]
    scores = model.score_batch(histories)
    for banned, allowed in ((None, None), (exclude, None), (exclude, only)):
        b, rows, top = model.top_k_rows(histories, 7, banned, allowed)
        for h in range(len(histories)):
            ok = ~np.isnan(scores[h])
            if banned is not None:
                ok[banned[h]] = False
            if allowed is not None:
                ok &= np.isin(np.arange(n), allowed[h])
            cand = np.flatnonzero(ok)
            want = cand[np.lexsort((cand, -scores[h, cand]))][:7]
            assert rows[b == h].tolist() == want.tolist()
            np.testing.assert_array_equal(top[b == h], scores[h, want])
    assert np.all(np.diff(b) >= 0)  # grouped by history
