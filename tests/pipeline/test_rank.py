"""The featurize and rank stages: the ranker's features and order, or the weighted blend's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shoprec.data import IdVocab
from shoprec.pipeline import Slate
from shoprec.pipeline.rank import blend, featurize, rank
from shoprec.pipeline.retrieve import retrieve_ranked
from shoprec.ranking import WeightedBlend
from shoprec.types import Candidates

from .fakes import FakeRanker, candidate_set, make_context

NAN = np.nan


def _sourced() -> Slate:
    return Slate(
        ("x", "y", "z", "w"),
        np.zeros(4, np.float32),
        ("model",) * 4,
        ("model", "covisit", "trending"),
        np.asarray(
            [[2.0, NAN, NAN], [1.0, 10.0, NAN], [NAN, 30.0, 0.2], [NAN, NAN, 0.9]], np.float32
        ),
    )


def test_blend_ranks_like_the_weighted_blend_of_each_sources_list() -> None:
    weights = {"model": 1.0, "covisit": 0.6, "trending": 0.1}
    out = blend(_sourced(), weights)
    expected = WeightedBlend(weights).rank(
        {
            "model": Candidates(("x", "y"), np.asarray([2.0, 1.0], np.float32)),
            "covisit": Candidates(("y", "z"), np.asarray([10.0, 30.0], np.float32)),
            "trending": Candidates(("z", "w"), np.asarray([0.2, 0.9], np.float32)),
        }
    )
    assert out.item_ids == expected.item_ids
    assert out.sources == expected.sources
    np.testing.assert_allclose(out.scores, expected.scores)
    # The per-source scores travel with their rows.
    assert out.source_scores[out.item_ids.index("z")].tolist()[1:] == pytest.approx([30.0, 0.2])


def test_blend_drops_candidates_of_unweighted_sources_only() -> None:
    out = blend(_sourced(), {"model": 1.0, "covisit": 0.0})
    assert out.item_ids == ("x", "y")


def _ranked_slate() -> tuple[FakeRanker, Slate]:
    vocab = IdVocab(["a", "b", "c", "d"])
    ranker = FakeRanker(vocab, candidate_set([1, 3, 0], [[1.0, NAN], [NAN, 2.0], [0.5, 0.5]]))
    ctx = make_context()
    return ranker, retrieve_ranked(ctx, ranker, vocab, ranker.encode(ctx.query))


def test_featurize_then_rank_orders_by_the_rankers_scores() -> None:
    ranker, slate = _ranked_slate()
    histories = ranker.encode(make_context().query)
    featured = featurize(slate, ranker, histories, "explore")
    assert ("features", "explore") in ranker.asked
    assert featured.feature_names == ("f_row", "n_sources")
    assert featured.features is not None
    assert featured.features.tolist() == [[1.0, 1.0], [3.0, 1.0], [0.0, 2.0]]
    ranked = rank(featured, ranker)
    assert ranked.item_ids == ("d", "b", "a")  # by row, the fake's score
    assert ranked.scores.tolist() == [3.0, 1.0, 0.0]
    assert ranked.features is not None and ranked.features[:, 0].tolist() == [3.0, 1.0, 0.0]
    assert ranked.candidates is None  # its rows no longer are the candidate set's


def test_featurize_refuses_a_reordered_slate_and_rank_leaves_an_unfeatured_one() -> None:
    ranker, slate = _ranked_slate()
    histories = ranker.encode(make_context().query)
    with pytest.raises(ValueError, match="candidate set"):
        featurize(slate.take([1, 0, 2]), ranker, histories, "home")
    assert featurize(Slate.empty(), ranker, histories, "home").features is None
    unfeatured = replace(slate, candidates=None)
    assert rank(unfeatured, ranker) is unfeatured
