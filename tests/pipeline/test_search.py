"""Search re-ranking: a text query retrieves by text, the ranker (or the blend) personalises."""

from __future__ import annotations

import pytest

from shoprec.models import BaseRecommender
from shoprec.pipeline import Pipeline, Request
from shoprec.ranking import RankedRecommender
from shoprec.types import HistoryEvent, Query

from .conftest import NOW, SportsPipeline, tiny_pipeline


def _matches(pipe: Pipeline, text: str) -> set[str]:
    assert pipe.text is not None
    found, _ = pipe.text.search(pipe.text.encode_text(text), 100)
    return set(found.item_ids)


def _search(pipe: Pipeline, history: str, text: str = "blue", n: int = 30) -> list[str]:
    query = Query(history=(HistoryEvent(history, "view", NOW),))
    return [r.item_id for r in pipe.recommend(Request(query, n=n, scenario="search", search=text))]


@pytest.mark.parametrize("ranked", [True, False])
def test_search_returns_only_matches_in_each_shoppers_own_order(
    ranked: bool, ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    model: BaseRecommender | None = ranked_model if ranked else None
    pipe = sports_pipeline(model)
    matches = _matches(pipe, "blue")
    assert len(matches) < 36  # not the whole catalogue
    runner, fashion = _search(pipe, "s1"), _search(pipe, "h1")
    assert set(runner) <= matches and set(fashion) <= matches
    assert len(runner) > 5 and len(fashion) > 5
    # The same words, each shopper's own order: after a shoe its sock, after a hat its bag.
    assert runner[0] == "k1" and fashion[0] == "b1"
    assert runner != fashion


def test_the_ranker_is_asked_for_the_matches_only(
    ranked_model: RankedRecommender,
    sports_pipeline: SportsPipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe = sports_pipeline(ranked_model)
    asked: list[set[str]] = []
    real = ranked_model.candidates

    def spy(histories, exclude=None, only=None):  # type: ignore[no-untyped-def]
        asked.append({ranked_model.item_vocab.ids[r] for r in only[0]} if only else set())
        return real(histories, exclude, only)

    monkeypatch.setattr(ranked_model, "candidates", spy)
    out = _search(pipe, "s1", "red sock", n=3)
    assert asked == [_matches(pipe, "red sock")]
    assert set(out) <= asked[0]


def test_a_search_text_on_another_scenario_leads_with_matches_then_fills(
    ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    pipe = sports_pipeline(ranked_model)
    query = Query(history=(HistoryEvent("s1", "view", NOW),))
    matches = _matches(pipe, "red toy") - {"s1"}  # home leaves out what was seen
    out = pipe.recommend(Request(query, n=len(matches) + 3, search="red toy"))
    ids = [r.item_id for r in out]
    assert set(ids[: len(matches)]) == matches
    assert len(ids) == len(matches) + 3  # the home rail is filled up
    assert not set(ids[len(matches) :]) & matches


def test_without_item_texts_a_search_retrieves_as_any_request() -> None:
    query = Query(history=(HistoryEvent("a"),))
    with_texts = tiny_pipeline().recommend(Request(query, n=5, scenario="search", search="hats"))
    assert [r.item_id for r in with_texts] == ["d", "e", "a"]  # the text's matches only
    blind = tiny_pipeline(texts=False).recommend(Request(query, n=5, scenario="search", search="x"))
    assert len(blind) == 5  # no text to match: ranked and filled as usual
    assert blind[0].item_id == "b"
