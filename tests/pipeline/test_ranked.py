"""A pipeline around a real learned ranker: its order, rules after it, reasons from its features."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions
from shoprec.events import Item
from shoprec.models import CoVisitation, FitOptions
from shoprec.pipeline import FALLBACK_SOURCES, RankedModel, Request
from shoprec.ranking import RankedConfig, RankedRecommender, SourceSpec
from shoprec.rules import FilterSpec
from shoprec.types import HistoryEvent, Query

from .conftest import NOW, SportsPipeline, sports_events, sports_items

#: A runner who looked at shoe 0, its sock and watch, then shoe 1: the plant says sock 1.
RUNNER = ("s0", "k0", "w0", "s1")
#: What a reason drawn from a feature reads like (``explain``'s templates).
FEATURE_REASONS = re.compile(
    "bought together with .+|popular in .+ this week|popular this week|matches your price "
    "range|more from .+|similar to .+|because you .+|popular in our shop|new in our shop|"
    "you .+ before"
)


def _catalogue(items: list[Item]) -> pl.DataFrame:
    return pl.DataFrame([i.model_dump() for i in items]).drop("attributes")


def _query(items: tuple[str, ...] = RUNNER) -> Query:
    return Query(history=tuple(HistoryEvent(i, "view", NOW + k) for k, i in enumerate(items)))


def test_a_ranked_model_is_recognised_by_its_methods(
    ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    assert isinstance(ranked_model, RankedModel)
    assert sports_pipeline(ranked_model).ranker is ranked_model
    assert not isinstance(CoVisitation(), RankedModel)
    assert sports_pipeline().ranker is None  # the blend ranks


def test_the_pipeline_shows_the_rankers_order(
    ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    histories = ranked_model.encode(_query())
    seen = ranked_model.item_vocab.lookup(RUNNER)
    cands = ranked_model.candidates(histories, exclude=[seen])[0]
    scores = ranked_model.rank(ranked_model.features(histories, [cands], "home")[0])
    order = np.argsort(-scores, kind="stable")
    expected = [ranked_model.item_vocab.ids[cands.rows[r]] for r in order]
    out = sports_pipeline(ranked_model).recommend(Request(_query(), n=len(expected)))
    assert [r.item_id for r in out] == expected
    np.testing.assert_allclose([r.score for r in out], scores[order], rtol=1e-6)
    assert out[0].item_id == "k1"  # the plant
    assert not {r.source for r in out} & set(FALLBACK_SOURCES)


def test_rules_and_pins_apply_after_the_ranker(
    ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    pipe = sports_pipeline(ranked_model)
    pipe.catalog.upsert(
        [Item(item_id="k1", title="blue sock modelk1", category="socks", in_stock=False)]
    )
    out = pipe.recommend(Request(_query(), n=4, pins={"t3": 0}))
    assert [r.item_id for r in out][:1] == ["t3"] and out[0].reason == "featured"
    assert "k1" not in [r.item_id for r in out]  # out of stock
    assert not {"s0", "k0", "w0", "s1"} & {r.item_id for r in out}  # home: seen
    socks = pipe.recommend(Request(_query(), n=4, filters=FilterSpec(category="socks")))
    assert {r.item_id[0] for r in socks} == {"k"} and len(socks) == 4


def test_every_reason_comes_from_a_feature_of_the_shown_rows(
    ranked_model: RankedRecommender,
    sports_pipeline: SportsPipeline,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contributions: list[np.ndarray] = []
    real = ranked_model.contributions

    def spy(features: np.ndarray) -> np.ndarray:
        contributions.append(real(features))
        return contributions[-1]

    monkeypatch.setattr(ranked_model, "contributions", spy)
    out = sports_pipeline(ranked_model).recommend(Request(_query(), n=5))
    assert [len(c) for c in contributions] == [5]  # only the rows shown, not every candidate
    pushed = contributions[0].max(axis=1) > 0  # a feature pushed the item up
    assert pushed[:3].all()
    assert all(FEATURE_REASONS.fullmatch(r.reason) for r in out), [r.reason for r in out]
    # Nothing pushed the others up: their source speaks (a popularity source, here).
    assert {r.reason for r, up in zip(out, pushed, strict=True) if not up} <= {
        "popular in our shop"
    }
    # The plant is co-visitation: the sock after shoe 1 is explained by it.
    assert (out[0].item_id, out[0].reason) == ("k1", "bought together with blue shoe models1")


def test_a_product_page_names_the_item_on_screen(
    ranked_model: RankedRecommender, sports_pipeline: SportsPipeline
) -> None:
    query = Query(context_items=("h2",))
    out = sports_pipeline(ranked_model).recommend(Request(query, n=3, scenario="product"))
    assert (out[0].item_id, out[0].reason) == ("b2", "goes well with blue hat modelh2")


def test_an_item_nobody_touched_is_ranked_by_its_neighbours_and_called_new(
    sports_pipeline: SportsPipeline,
) -> None:
    # A sock just like k1 (the plant after s1) that nobody has interacted with yet.
    twin = Item(item_id="k1new", title="blue sock modelk1", category="socks", brand="brandk")
    items = [*sports_items(), twin]
    data = Interactions(sports_events(), _catalogue(items))
    sources = {"covisit": SourceSpec(key="covisit", k=20)}  # no text source: only neighbours
    model = RankedRecommender(
        RankedConfig(sources=sources, text_encoder="hashing", ranker_params={"n_threads": 1})
    )
    model.fit(data, FitOptions(seed=0, device="cpu"))
    unseen = np.flatnonzero(model.item_stats.unseen)
    assert "k1new" in {model.item_vocab.ids[r] for r in unseen}  # (w0, w3 have none either)
    out = sports_pipeline(model, items=items).recommend(Request(_query(), n=20))
    reasons = {r.item_id: r.reason for r in out}
    assert "k1new" in reasons  # co-visitation proposes it where it would propose k1
    assert not re.match("bought together|popular", reasons["k1new"])


def test_an_item_listed_after_the_fit_is_served_at_once_and_called_new(
    sports_pipeline: SportsPipeline,
) -> None:
    sources = {"covisit": SourceSpec(key="covisit", k=20)}
    model = RankedRecommender(
        RankedConfig(sources=sources, text_encoder="hashing", ranker_params={"n_threads": 1})
    )
    model.fit(Interactions(sports_events(), _catalogue(sports_items())), FitOptions(seed=0))
    # A sock just like k1 (the plant after s1), listed while the model serves.
    twin = Item(item_id="k1new", title="blue sock modelk1", category="socks", brand="brandk")
    items = [*sports_items(), twin]
    before = sports_pipeline(model, items=items)
    after = before.with_items([twin])
    assert after is not before and "k1new" not in model.item_vocab  # served copy grown
    stats = after.model.item_stats  # type: ignore[attr-defined]
    row = after.model.item_vocab.index_of("k1new")
    assert stats.category_name(row) == "socks" and stats.brand_name(row) == "brandk"
    out = after.recommend(Request(_query(), n=20))
    reasons = {r.item_id: r.reason for r in out}
    assert "k1new" in reasons  # co-visitation proposes it where it would propose k1
    assert not re.match("bought together|popular", reasons["k1new"])
    assert "k1new" not in {r.item_id for r in before.recommend(Request(_query(), n=20))}
