"""The explain stage: a reason from the feature that ranked an item, or from its source."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shoprec.data import IdVocab
from shoprec.events import Item
from shoprec.pipeline import Request, Slate
from shoprec.pipeline.explain import contribute, explain, source_kind, source_of
from shoprec.rules import CatalogView
from shoprec.types import HistoryEvent, Query

from .fakes import FakeRanker, candidate_set, make_context

NAMES = (
    "covisit_score",
    "sasrec_rank",
    "popularity_score",
    "pop_recent",
    "category_share",
    "price_ratio",
    "same_brand_last",
    "text_sim_last",
    "hist_len",
    "seen_before",
)
SOURCES = ("covisit", "sasrec", "popularity")


def _catalog() -> CatalogView:
    return CatalogView(
        [
            Item(item_id="h", title="Trail Shoe", category="Running Shoes", brand="Acme"),
            Item(item_id="c", title="Sports Watch", category="Watches"),
            Item(item_id="x", title="Sock X", category="Running Socks", brand="Acme"),
            Item(item_id="y", title="Sock Y"),
        ]
    )


def _slate(contributions: list[float], item_id: str = "x", source: str = "covisit") -> Slate:
    x = np.zeros((1, len(NAMES)), np.float32)
    return Slate(
        (item_id,),
        np.ones(1, np.float32),
        (source,),
        SOURCES,
        np.full((1, 3), np.nan, np.float32),
        {"covisit": {"x": "h", "y": "c"}},
        features=x,
        feature_names=NAMES,
        contributions=np.asarray([contributions], np.float32),
    )


def _reason(top: str, item_id: str = "x", context: tuple[str, ...] = (), **kw: object) -> str:
    values = [1.0 if name == top else 0.0 for name in NAMES]
    values[NAMES.index("hist_len")] = 0.5  # a shopper feature never explains an item
    history = (HistoryEvent("c", "purchase"), HistoryEvent("h", "view"))
    request = Request(Query(history=history, context_items=context), scenario="product")
    out = explain(_slate(values, item_id), make_context(request), _catalog(), **kw)  # type: ignore[arg-type]
    return out.reasons[0]


@pytest.mark.parametrize(
    ("top", "reason"),
    [
        ("covisit_score", "bought together with Trail Shoe"),
        ("pop_recent", "popular in Running Socks this week"),
        ("category_share", "popular in Running Socks this week"),
        ("price_ratio", "matches your price range"),
        ("same_brand_last", "more from Acme"),
        ("text_sim_last", "similar to Trail Shoe"),  # the latest history item
        ("sasrec_rank", "because you viewed Trail Shoe"),
        ("popularity_score", "popular in our shop"),
        ("seen_before", "you viewed it before"),
    ],
)
def test_the_top_feature_names_the_reason(top: str, reason: str) -> None:
    assert _reason(top) == reason


@pytest.mark.parametrize(
    ("top", "reason"),
    [
        ("covisit_score", "new in our shop"),  # its co-visitation is its text neighbours'
        ("popularity_score", "new in our shop"),
        ("pop_recent", "new in our shop"),
        ("text_sim_last", "similar to Trail Shoe"),  # its own text
        ("same_brand_last", "more from Acme"),
    ],
)
def test_an_item_without_events_is_never_said_to_be_bought_or_popular(
    top: str, reason: str
) -> None:
    assert _reason(top, unseen={"x"}) == reason


def test_a_feature_without_what_its_reason_needs_gives_way_to_the_next() -> None:
    # y has no category, brand or covisit anchor of its own: the next feature speaks.
    values = [0.0] * len(NAMES)
    values[NAMES.index("same_brand_last")] = 3.0
    values[NAMES.index("category_share")] = 2.0
    values[NAMES.index("price_ratio")] = 1.0
    out = explain(_slate(values, "y"), make_context(), _catalog())
    assert out.reasons == ("matches your price range",)
    # Only positive contributions count; none at all: the source's reason (its anchor).
    negative = explain(_slate([-1.0] * len(NAMES), "y"), make_context(), _catalog())
    assert negative.reasons == ("because you viewed Sports Watch",)


def test_an_anchor_on_screen_takes_the_scenarios_wording() -> None:
    assert _reason("covisit_score", context=("h",)) == "goes well with Trail Shoe"


def test_a_sequence_model_names_the_item_its_attribution_credits() -> None:
    asked: list[list[str]] = []

    def attribute(item_ids: list[str]) -> dict[str, str]:
        asked.append(item_ids)
        return {"x": "c"}

    assert _reason("sasrec_rank", attribute=attribute) == "because you bought Sports Watch"
    assert asked == [["x"]]
    assert _reason("covisit_score", attribute=attribute) == "bought together with Trail Shoe"
    assert asked == [["x"]]  # not asked when no item needs it


def test_without_a_ranker_reasons_come_from_sources_and_anchors() -> None:
    slate = Slate(
        ("x", "y", "c", "h", "p", "n", "s"),
        np.zeros(7, np.float32),
        ("covisit", "model", "contextual", "trending", "pinned", "new", "search"),
        anchors={"covisit": {"x": "h", "p": "h"}},
    )
    history = (HistoryEvent("h", "addtocart"),)
    ctx = make_context(Request(Query(history=history)))
    out = explain(slate, ctx, _catalog(), attribute=lambda ids: {"y": "h"})
    assert out.reasons == (
        "because you added to your cart Trail Shoe",
        "because you added to your cart Trail Shoe",  # the model's own attribution
        "popular in Watches",
        "trending now",
        "featured",  # a pin, even if a source had found it
        "new in our shop",
        "matches your search",
    )
    # A ranker's popularity source, when no feature pushed its item up.
    ranked = Slate(("y",), np.zeros(1, np.float32), ("popularity",))
    assert explain(ranked, ctx, _catalog()).reasons == ("popular in our shop",)


def test_explore_items_are_explained_by_the_rail() -> None:
    slate = Slate(("c", "x"), np.zeros(2, np.float32), ("covisit", "pinned"))
    ctx = make_context(Request(Query(), scenario="explore"))
    out = explain(slate, ctx, _catalog(), explore=["Watches", "Running Socks"])
    assert out.reasons == ("shoppers like you also browse Watches", "featured")


def test_contributions_are_computed_for_the_ranked_rows_only() -> None:
    ranker = FakeRanker(IdVocab(["a"]), candidate_set([0], [[1.0, 1.0]]))
    features = np.asarray([[1.0, 2.0], [np.nan, np.nan], [3.0, 4.0]], np.float32)
    slate = Slate(
        ("a", "b", "c"),
        np.zeros(3, np.float32),
        ("covisit", "trending", "covisit"),
        features=features,
        feature_names=ranker.feature_names,
    )
    out = contribute(slate, ranker)
    assert ("contributions", 2) in ranker.asked
    assert out.contributions is not None
    np.testing.assert_array_equal(out.contributions[[0, 2]], features[[0, 2]])
    assert np.isnan(out.contributions[1]).all()
    assert contribute(replace(slate, features=None, feature_names=()), ranker).contributions is None


def test_per_source_features_and_kinds() -> None:
    assert source_of("covisit_score", SOURCES) == "covisit"
    assert source_of("sasrec_rank", SOURCES) == "sasrec"
    assert source_of("n_sources", SOURCES) is None
    assert source_of("pop_all", SOURCES) is None
    kinds = [source_kind(s) for s in ("covisit", "text", "popularity", "trending", "ease")]
    assert kinds == ["covisit", "text", "popular", "popular", "model"]
