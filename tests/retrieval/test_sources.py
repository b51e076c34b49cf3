from __future__ import annotations

import numpy as np
import polars as pl

from shoprec.data import Interactions
from shoprec.features import HashingTextEncoder
from shoprec.models import EASE, CoVisitation, CoVisitationConfig, FitOptions
from shoprec.retrieval import CoVisitSource, ModelSource, TextIndex, TextSource, anchors
from shoprec.types import HistoryEvent, Query


def _model() -> CoVisitation:
    rows = [(f"u{u}", i, float(t)) for u in range(5) for t, i in enumerate("abc")]
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    events = events.with_columns(event_type=pl.lit("view"))
    model = CoVisitation(CoVisitationConfig.model_validate({"reverse_weight": 0.0, "window": 1}))
    model.fit(Interactions(events), FitOptions())
    return model


def test_anchors_put_context_first_then_latest_history() -> None:
    query = Query(
        history=(HistoryEvent("a"), HistoryEvent("b"), HistoryEvent("a")), context_items=("z",)
    )
    assert [(e.item_id, w) for e, w in anchors(query, 5)] == [("z", 1.0), ("a", 1.0), ("b", 0.5)]


def test_covisit_traces_each_candidate_to_its_anchor() -> None:
    source = CoVisitSource(_model(), {"view": 1.0})
    found = source.retrieve(Query.from_items(["a", "b"]), 5)
    assert found.candidates.item_ids == ("c",)  # b -> c; a -> b is an anchor itself
    assert found.because == {"c": "b"}
    assert source.retrieve(Query.from_items(["a"]), 5, exclude={"b"}).candidates.item_ids == ()


def test_strongest_anchors_are_the_anchors_retrieve_reports() -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"u{u}", f"i{i}", float(t), "purchase" if rng.random() < 0.3 else "view")
        for u in range(60)
        for t, i in enumerate(rng.choice(30, size=8))
    ]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "event_type"], orient="row"
    )
    model = CoVisitation()
    model.fit(Interactions(events), FitOptions())
    source = CoVisitSource(model, {"view": 1.0, "purchase": 3.0})
    history = tuple(
        HistoryEvent(f"i{i}", t) for i, t in [(1, "view"), (2, "purchase"), (3, "view")]
    )
    query = Query(history=history, context_items=("i4",))
    found = source.retrieve(query, 100, exclude={"i5"})
    assert len(found.because) > 10 and len(set(found.because.values())) > 1  # several anchors
    asked = [*list(found.because)[::2], "i5", "i1", "nope"]  # excluded, an anchor, unknown
    expected = {i: a for i, a in found.because.items() if i in asked}
    assert source.strongest_anchors(query, asked, exclude={"i5"}) == expected
    assert source.strongest_anchors(query, [], exclude={"i5"}) == {}


def test_model_source_skips_histories_it_does_not_know() -> None:
    source = ModelSource(_model())
    assert len(source.retrieve(Query.from_items(["zz"]), 5).candidates) == 0
    assert source.retrieve(Query.from_items(["a"]), 5).candidates.item_ids == ("b",)


def test_text_source_finds_items_with_shared_words() -> None:
    index = TextIndex(HashingTextEncoder(256))
    index.add(["r", "s", "t"], ["red running shoes", "blue running shoes", "green tea"])
    found = TextSource(index).retrieve(Query(context_items=("r",)), 1)
    assert found.candidates.item_ids == ("s",) and found.because == {"s": "r"}
    assert TextSource(index).search("tea", 1).candidates.item_ids == ("t",)
    index.add(["u"], ["herbal tea"])  # grows while readers keep a consistent table
    assert TextSource(index).retrieve(Query(context_items=("t",)), 1).candidates.item_ids == ("u",)


def test_text_similar_merges_anchors_and_sees_items_added_after_caching() -> None:
    index = TextIndex(HashingTextEncoder(256))
    index.add(
        ["r", "s", "t", "v"],
        ["red running shoes", "blue running shoes", "green tea", "green tea leaves"],
    )
    found, anchor = index.similar(["r", "t"], 5, exclude={"v"})
    assert found.item_ids == ("s",) and anchor == [0]  # v excluded; anchors never returned
    found, anchor = index.similar(["r", "t"], 5)
    assert set(found.item_ids) == {"s", "v"}
    assert dict(zip(found.item_ids, anchor, strict=True)) == {"s": 0, "v": 1}
    index.add(["u"], ["green tea"])  # t's neighbours were cached: the new table starts afresh
    assert index.similar(["t"], 1)[0].item_ids == ("u",)


def test_covisit_source_reads_any_model_as_item_to_item_scores() -> None:
    rows = [(f"u{u}", i, float(t)) for u in range(6) for t, i in enumerate("ab" if u % 2 else "cd")]
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    model = EASE()
    model.fit(Interactions(events.with_columns(event_type=pl.lit("view"))), FitOptions())
    found = CoVisitSource(model, {"view": 1.0}).retrieve(Query.from_items(["a"]), 5)
    assert found.candidates.item_ids[0] == "b" and found.because["b"] == "a"
