"""The Slate: row-aligned facts about candidates, reordered and grown without mutation."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.pipeline import Slate

NAN = np.nan


def _slate() -> Slate:
    return Slate(
        ("x", "y", "z"),
        np.asarray([3.0, 2.0, 1.0], np.float32),
        ("model", "covisit", "text"),
        ("model", "covisit", "text"),
        np.asarray([[0.9, NAN, NAN], [0.5, 4.0, NAN], [NAN, 1.0, 0.7]], np.float32),
        {"covisit": {"y": "a", "z": "b"}, "text": {"z": "c", "x": "d"}},
        features=np.arange(6, dtype=np.float32).reshape(3, 2),
        feature_names=("f0", "f1"),
        reasons=("r0", "r1", "r2"),
    )


def test_take_reorders_every_row_aligned_fact() -> None:
    slate = _slate()
    out = slate.take([2, 0])
    assert out.item_ids == ("z", "x")
    assert out.scores.tolist() == [1.0, 3.0]
    assert out.sources == ("text", "model")
    np.testing.assert_array_equal(out.source_scores, slate.source_scores[[2, 0]])
    assert out.features is not None
    assert out.features.tolist() == [[4.0, 5.0], [0.0, 1.0]]
    assert out.reasons == ("r2", "r0")
    assert out.anchors is slate.anchors and out.feature_names == ("f0", "f1")
    assert slate.item_ids == ("x", "y", "z")  # the original is untouched
    assert len(slate.take([])) == 0


def test_append_adds_rows_without_sources_features_or_reasons() -> None:
    out = _slate().append(["p"], [0.5], ["contextual"])
    assert out.item_ids[-1] == "p" and out.sources[-1] == "contextual"
    assert np.isnan(out.source_scores[-1]).all()
    assert out.features is not None and np.isnan(out.features[-1]).all()
    assert out.reasons[-1] == ""
    assert Slate.empty().append(["p"], [1.0], ["new"]).source_scores.shape == (1, 0)


def test_anchor_from_its_own_source_then_covisit_then_text() -> None:
    slate = _slate()
    assert slate.anchor(0) == "d"  # model has none: text's
    assert slate.anchor(1) == "a"  # its own source, covisit
    assert slate.anchor(2) == "c"  # its own source, text, before covisit's "b"
    assert Slate.empty().append(["q"], [1.0], ["model"]).anchor(0) is None


def test_column_is_one_sources_scores() -> None:
    slate = _slate()
    column = slate.column("covisit")
    assert column is not None
    assert np.isnan(column[0]) and column[1:].tolist() == [4.0, 1.0]
    assert slate.column("search") is None


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="scores"):
        Slate(("x",), np.zeros(2, np.float32), ("m",))
    with pytest.raises(ValueError, match="source_scores"):
        Slate(("x",), np.zeros(1, np.float32), ("m",), ("a", "b"), np.zeros((1, 1), np.float32))
    with pytest.raises(ValueError, match="features"):
        Slate(("x",), np.zeros(1, np.float32), ("m",), features=np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="reasons"):
        Slate(("x",), np.zeros(1, np.float32), ("m",), reasons=("a", "b"))
    # Without source columns given, every source score is missing.
    assert np.isnan(Slate(("x",), np.zeros(1, np.float32), ("m",), ("a",)).source_scores).all()
