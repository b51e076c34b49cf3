"""The explore rail: categories the shopper has not touched, closest by shopper overlap first."""

from __future__ import annotations

import pytest

from shoprec.models import BaseRecommender
from shoprec.pipeline import Request, default_scenarios
from shoprec.pipeline.explore import explore_categories
from shoprec.ranking import RankedRecommender
from shoprec.types import HistoryEvent, Query

from .conftest import NOW, SPORTS, SportsPipeline, sports_affinity


def _categories_in_order(item_ids: list[str]) -> list[str]:
    seen: list[str] = []
    for item_id in item_ids:
        if SPORTS[item_id[0]] not in seen:
            seen.append(SPORTS[item_id[0]])
    return seen


@pytest.mark.parametrize("ranked", [True, False])
def test_explore_mixes_untouched_categories_in_affinity_order(
    ranked: bool, ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    model: BaseRecommender | None = ranked_model if ranked else None
    pipe = sports_pipeline(model, sports_affinity())
    query = Query(history=(HistoryEvent("s1", "view", NOW),))
    out = pipe.recommend(Request(query, n=8, scenario="explore"))
    ids = [r.item_id for r in out]
    assert len(ids) == 8
    categories = _categories_in_order(ids)
    assert "shoes" not in categories
    # Runners share most with socks, then watches, then bags; a fourth comes from trending.
    assert categories[:3] == ["socks", "watches", "bags"]
    assert len(categories) == 4
    assert [SPORTS[i[0]] for i in ids[:4]] == categories  # round-robin: one of each first
    assert out[0].reason == "shoppers like you also browse socks"
    if ranked:  # the ranker still orders within a category: the sock after shoe 1 first
        assert ids[0] == "k1"


def test_without_affinity_explore_shows_trending_categories_not_touched(
    sports_pipeline: SportsPipeline,
) -> None:
    pipe = sports_pipeline()
    query = Query(history=(HistoryEvent("h2", "view", NOW), HistoryEvent("t1", "view", NOW)))
    out = pipe.recommend(Request(query, n=8, scenario="explore"))
    categories = _categories_in_order([r.item_id for r in out])
    assert len(out) == 8
    assert not {"hats", "toys"} & set(categories)
    assert len(categories) > 1


def test_explore_categories_pad_related_with_trending_ones(sports_pipeline: SportsPipeline) -> None:
    pipe = sports_pipeline()
    query = Query(history=(HistoryEvent("h1"),))
    found = explore_categories(query, pipe.catalog, 3, sports_affinity(), [pipe.trending])
    assert found[0] == "bags"  # fashion shoppers' other category
    assert len(found) == 3 and "hats" not in found
    anonymous = explore_categories(Query(), pipe.catalog, 2, sports_affinity(), [pipe.trending])
    assert len(anonymous) == 2  # nothing touched: the trending categories


def test_search_and_explore_are_default_scenarios() -> None:
    scenarios = default_scenarios()
    assert scenarios["search"].search_only and not scenarios["search"].explore
    assert scenarios["explore"].explore and scenarios["explore"].exclude_seen
