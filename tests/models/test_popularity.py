"""Popularity: weighted counts, time decay, per-category ranking and the Beauty anchor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions, leave_one_out
from shoprec.evaluation import evaluate
from shoprec.models import FitOptions, Popularity, PopularityConfig
from shoprec.types import HistoryEvent, Query

DAY = 86_400.0


def log(
    rows: list[tuple[str, str, str, float]], categories: dict[str, str] | None = None
) -> Interactions:
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    items = None
    if categories is not None:
        items = pl.DataFrame({"item_id": list(categories), "category": list(categories.values())})
    return Interactions(events, items)


def fitted(data: Interactions, **config: object) -> Popularity:
    model = Popularity(PopularityConfig.model_validate(config))
    model.fit(data, FitOptions())
    return model


def scores_by_id(model: Popularity, query: Query | None = None) -> dict[str, float]:
    scored = model.score(query or Query())
    return dict(zip(scored.item_ids, scored.scores.tolist(), strict=True))


def test_counts_rank_items_and_score_relative_to_the_best_seller() -> None:
    rows = [(f"u{u}", "a", "view", 0.0) for u in range(4)]
    rows += [(f"u{u}", "b", "view", 0.0) for u in range(2)]
    rows += [("u0", "c", "view", 0.0)]
    model = fitted(log(rows))
    assert model.recommend(Query(), k=3).item_ids == ("a", "b", "c")
    assert scores_by_id(model) == {"a": 1.0, "b": 0.5, "c": 0.25}


def test_one_purchase_outweighs_three_views_unless_weights_say_otherwise() -> None:
    rows = [(f"u{u}", "viewed", "view", 0.0) for u in range(3)]
    rows += [("u9", "bought", "purchase", 0.0)]
    assert fitted(log(rows)).recommend(Query(), k=1).item_ids == ("bought",)
    flat = fitted(log(rows), event_weights={"purchase": 1.0, "view": 1.0})
    assert flat.recommend(Query(), k=1).item_ids == ("viewed",)


def test_half_life_lets_a_recent_item_overtake_an_old_best_seller() -> None:
    # "old": 4 views 10 days before the newest event; "new": 2 views on the newest day.
    rows = [(f"u{u}", "old", "view", 0.0) for u in range(4)]
    rows += [(f"u{u}", "new", "view", 10 * DAY) for u in range(2)]
    assert fitted(log(rows)).recommend(Query(), k=1).item_ids == ("old",)
    decayed = fitted(log(rows), half_life_days=5.0)
    # 4 views at two half-lives weigh 4 / 4 = 1 against 2 fresh ones.
    assert scores_by_id(decayed) == pytest.approx({"new": 1.0, "old": 0.5})


def test_per_category_ranks_the_history_categories_first_by_their_share() -> None:
    rows = [(f"u{u}", "lip1", "view", 0.0) for u in range(3)]
    rows += [(f"u{u}", "lip2", "view", 0.0) for u in range(1)]
    rows += [(f"u{u}", "eye1", "view", 0.0) for u in range(2)]
    rows += [(f"u{u}", "hair", "view", 0.0) for u in range(8)]
    rows += [(f"u{u}", "nocat", "view", 0.0) for u in range(6)]
    cats = {"lip1": "lips", "lip2": "lips", "eye1": "eyes", "hair": "hair"}
    model = fitted(log(rows, cats), per_category=True)
    # Two lips events and one eyes event: shares 2/3 and 1/3.
    query = Query.from_items(["lip2", "lip2", "eye1"])
    scores = scores_by_id(model, query)
    assert scores["lip1"] == pytest.approx(2 / 3 * 3 / 4)
    assert scores["eye1"] == pytest.approx(1 / 3 * 2 / 2)
    # Other categories and uncategorised items follow, by global popularity.
    assert model.recommend(query, k=4, exclude_seen=False).item_ids == (
        "lip1",
        "eye1",
        "lip2",
        "hair",
    )
    assert scores["hair"] > scores["nocat"]
    assert max(scores["hair"], scores["nocat"]) < min(scores["lip1"], scores["lip2"])


def test_per_category_weighs_history_events_by_type() -> None:
    rows = [("u0", "lip", "view", 0.0), ("u1", "eye", "view", 0.0)]
    model = fitted(log(rows, {"lip": "lips", "eye": "eyes"}), per_category=True)
    history = (HistoryEvent("lip", "view"), HistoryEvent("lip", "view"))
    query = Query(history=(*history, HistoryEvent("eye", "purchase")))
    # A purchase (5) outweighs two views (2): eyes first.
    assert model.recommend(query, k=2, exclude_seen=False).item_ids == ("eye", "lip")


def test_per_category_without_category_information_is_global_popularity() -> None:
    rows = [("u0", "a", "view", 0.0), ("u1", "a", "view", 0.0), ("u2", "b", "view", 0.0)]
    model = fitted(log(rows, {"a": "x"}), per_category=True)
    plain = fitted(log(rows, {"a": "x"}))
    for query in (Query(), Query.from_items(["b"])):
        np.testing.assert_array_equal(model.score(query).scores, plain.score(query).scores)


@pytest.mark.slow
def test_beauty_leave_one_out_matches_the_published_popularity_anchor(
    shared_data: Path,
) -> None:
    folder = shared_data / "amazon_beauty"
    strings = {"user_id": pl.String, "item_id": pl.String}
    events = pl.read_csv(
        folder / "events.csv.gz", schema_overrides={**strings, "value": pl.Float64}
    )
    items = pl.read_csv(folder / "items.csv.gz", schema_overrides={"item_id": pl.String})
    split = leave_one_out(Interactions(events, items))
    model = Popularity()
    model.fit(split.test_train, FitOptions())
    metrics = evaluate(model, split.test, ks=(10,))
    # BENCHMARK_PROTOCOL.md: popularity HR@10 = 0.0141 on this file.
    assert metrics["HR@10"] == pytest.approx(0.0141, abs=0.002)
