"""The retrieve stage: the blend's sources as one slate, or the ranker's candidate set."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pytest

from shoprec.data import IdVocab
from shoprec.pipeline import Request
from shoprec.pipeline.retrieve import RANKED, restrict, retrieve, retrieve_ranked, union
from shoprec.retrieval import Retrieved
from shoprec.rules import FilterSpec
from shoprec.types import Candidates, HistoryEvent, ItemId, Query

from .fakes import FakeRanker, candidate_set, make_context

NAN = np.nan


def _found(ids: str, scores: list[float], because: dict[str, str] | None = None) -> Retrieved:
    return Retrieved(Candidates(tuple(ids), np.asarray(scores, np.float32)), because or {})


class _Source:
    def __init__(self, name: str, found: Retrieved) -> None:
        self.name = name
        self.found = found
        self.asked: list[tuple[int, frozenset[ItemId]]] = []

    def retrieve(self, query: Query, k: int, exclude: Collection[ItemId] = ()) -> Retrieved:
        self.asked.append((k, frozenset(exclude)))
        return self.found


def test_union_keeps_first_seen_order_scores_and_anchors() -> None:
    slate = union(
        {
            "model": _found("xy", [2.0, 1.0]),
            "covisit": _found("zx", [5.0, 4.0], {"z": "a", "x": "b"}),
        }
    )
    assert slate.item_ids == ("x", "y", "z")
    assert slate.sources == ("model", "model", "covisit")  # who found it first, until ranked
    assert slate.source_names == ("model", "covisit")
    np.testing.assert_array_equal(
        slate.source_scores, np.asarray([[2.0, 4.0], [1.0, NAN], [NAN, 5.0]], np.float32)
    )
    assert dict(slate.anchors) == {"covisit": {"z": "a", "x": "b"}}


def test_retrieve_asks_the_weighted_sources_with_the_exclusions() -> None:
    model, covisit = (
        _Source("model", _found("xy", [2.0, 1.0])),
        _Source("covisit", _found("z", [1.0])),
    )
    request = Request(Query(), filters=FilterSpec(exclude=frozenset({"q"})))
    ctx = make_context(request)
    slate = retrieve(ctx, {"model": model, "covisit": covisit}, {"covisit": 1.0, "model": 0.0}, 7)
    assert model.asked == [] and covisit.asked == [(7, frozenset({"q"}))]
    assert slate.item_ids == ("z",)
    # Columns follow the weights' order, whatever the order of the sources.
    both = retrieve(ctx, {"model": model, "covisit": covisit}, {"covisit": 1.0, "model": 1.0}, 7)
    assert both.source_names == ("covisit", "model") and both.item_ids == ("z", "x", "y")
    extra = retrieve(
        ctx, {"model": model}, {"model": 1.0}, 7, extra={"bestseller": _found("w", [1.0])}
    )
    assert extra.source_names == ("model", "bestseller") and extra.item_ids[-1] == "w"


def test_retrieve_ranked_takes_the_rankers_candidates_minus_the_exclusions() -> None:
    vocab = IdVocab(["a", "b", "c", "d"])
    cands = candidate_set([0, 1, 2, 3], [[3.0, NAN], [NAN, 0.5], [1.0, 0.9], [NAN, NAN]])
    ranker = FakeRanker(vocab, cands)
    request = Request(
        Query(history=(HistoryEvent("a"),)),
        scenario="product",
        filters=FilterSpec(exclude=frozenset({"b", "zz"})),
    )
    ctx = make_context(request)
    histories = ranker.encode(ctx.query)
    slate = retrieve_ranked(ctx, ranker, vocab, histories)
    ((exclude, only),) = [a for kind, a in ranker.asked if kind == "candidates"]
    assert [e.tolist() for e in exclude] == [[1]] and only is None  # "zz": not in the vocabulary
    assert slate.item_ids == ("a", "c", "d")
    # The source that ranked it highest: c is 2nd for covisit but 1st for popularity.
    assert slate.sources == ("covisit", "popularity", RANKED)
    assert slate.candidates is not None and slate.candidates.rows.tolist() == [0, 2, 3]
    np.testing.assert_array_equal(slate.source_scores, slate.candidates.scores)
    within = retrieve_ranked(ctx, ranker, vocab, histories, only=np.asarray([2, 3]))
    assert within.item_ids == ("c", "d")


@pytest.mark.parametrize("keep", [[0, 2], [], [0, 1, 2]])
def test_restrict_keeps_the_accepted_rows_in_order(keep: list[int]) -> None:
    slate = union({"model": _found("xyz", [3.0, 2.0, 1.0])})
    assert restrict(slate, lambda r: r in keep).item_ids == tuple("xyz"[r] for r in keep)
