"""Category affinity on a planted log: shopper overlap, related categories, best-sellers."""

from __future__ import annotations

import polars as pl
import pytest

from shoprec.retrieval import CategoryAffinity

CATEGORY = {
    "s1": "shoes",
    "s2": "shoes",
    "k1": "socks",
    "w1": "watches",
    "h1": "hats",
    "t1": "toys",
}


def _log(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(u, i, e, float(t)) for t, (u, i, e) in enumerate(rows)],
        schema=["user_id", "item_id", "event_type", "timestamp"],
        orient="row",
    )


def _planted() -> pl.DataFrame:
    rows: list[tuple[str, str, str]] = []
    # Ten runners: all buy shoes and socks, six of them watches, two of them also hats.
    for u in range(10):
        rows += [(f"r{u}", "s1" if u % 2 else "s2", "view"), (f"r{u}", "k1", "view")]
        rows += [(f"r{u}", "w1", "view")] if u < 6 else []
        rows += [(f"r{u}", "h1", "view")] if u < 2 else []
    # Eight hat shoppers; three children who only touch toys.
    rows += [(f"f{u}", "h1", "purchase") for u in range(8)]
    rows += [(f"c{u}", "t1", "view") for u in range(3)]
    return _log(rows)


def test_jaccard_of_the_shopper_sets() -> None:
    affinity = CategoryAffinity.from_events(_planted(), CATEGORY)
    assert len(affinity) == 5
    assert affinity.affinity("shoes", "socks") == pytest.approx(1.0)  # the same ten shoppers
    assert affinity.affinity("shoes", "watches") == pytest.approx(6 / 10)
    assert affinity.affinity("shoes", "hats") == pytest.approx(2 / (10 + 10 - 2))
    assert affinity.affinity("watches", "hats") == pytest.approx(2 / (6 + 10 - 2))
    assert affinity.affinity("shoes", "toys") == 0.0
    assert affinity.affinity("shoes", "shoes") == 0.0
    assert affinity.affinity("shoes", "moon") == 0.0


def test_related_excludes_the_given_and_unrelated_categories_best_first() -> None:
    affinity = CategoryAffinity.from_events(_planted(), CATEGORY)
    assert [c for c, _ in affinity.related({"shoes"}, 5)] == ["socks", "watches", "hats"]
    assert [c for c, _ in affinity.related({"shoes"}, 2)] == ["socks", "watches"]
    # Mean affinity to the given categories: hats shares 2 shoppers with each of shoes, socks.
    both = dict(affinity.related({"shoes", "socks"}, 5))
    assert set(both) == {"watches", "hats"}
    assert both["watches"] == pytest.approx(0.6)
    assert both["hats"] == pytest.approx(2 / 18)
    assert affinity.related({"toys"}, 5) == []  # nobody shares toys
    assert affinity.related({"moon"}, 5) == []
    assert affinity.related(set(), 5) == []


def test_best_sellers_per_category_weigh_event_types() -> None:
    events = _log(
        [("a", "s1", "view"), ("b", "s1", "view"), ("c", "s2", "purchase"), ("d", "h1", "view")]
    )
    plain = CategoryAffinity.from_events(events, CATEGORY)
    assert plain.best_sellers("shoes", 5).item_ids == ("s1", "s2")
    weighted = CategoryAffinity.from_events(events, CATEGORY, {"purchase": 5.0})
    best = weighted.best_sellers("shoes", 5)
    assert best.item_ids == ("s2", "s1")
    assert best.scores.tolist() == pytest.approx([1.0, 0.4])
    assert weighted.best_sellers("shoes", 5, exclude={"s2"}).item_ids == ("s1",)
    assert weighted.best_sellers("shoes", 1).item_ids == ("s2",)
    assert weighted.best_sellers("moon", 5).item_ids == ()
    # Weight 0 drops an event type from both counts.
    no_views = CategoryAffinity.from_events(events, CATEGORY, {"view": 0.0})
    assert no_views.best_sellers("shoes", 5).item_ids == ("s2",)
    assert no_views.categories == ["shoes"]


def test_items_without_a_category_and_an_empty_log_count_nothing() -> None:
    events = _log([("a", "x", "view"), ("a", "s1", "view"), ("b", "x", "view")])
    affinity = CategoryAffinity.from_events(events, CATEGORY)
    assert affinity.categories == ["shoes"]
    assert affinity.related({"shoes"}, 3) == []
    empty = CategoryAffinity.from_events(events.clear(), CATEGORY)
    assert len(empty) == 0 and empty.related({"shoes"}, 3) == []
    assert len(CategoryAffinity.from_events(events, {})) == 0
