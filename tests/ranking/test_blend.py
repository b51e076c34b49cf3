from __future__ import annotations

import numpy as np

from shoprec.ranking import WeightedBlend, normalised
from shoprec.types import Candidates


def _c(ids: str, scores: list[float]) -> Candidates:
    return Candidates(tuple(ids), np.asarray(scores, dtype=np.float32))


def test_normalised_scales_to_unit_range() -> None:
    assert normalised(np.array([2, 4, 3], dtype=np.float32)).tolist() == [0.0, 1.0, 0.5]
    assert normalised(np.array([7, 7], dtype=np.float32)).tolist() == [1.0, 1.0]


def test_weighted_sum_and_leading_source() -> None:
    blend = WeightedBlend({"m": 1.0, "t": 0.5, "off": 0.0})
    out = blend.rank({"m": _c("abc", [3, 2, 1]), "t": _c("cb", [9, 1]), "off": _c("z", [5])})
    # a: 1.0 (m); b: 0.5 (m) + 0 (t); c: 0 (m) + 0.5 (t)
    assert out.item_ids == ("a", "b", "c")
    assert out.scores.tolist() == [1.0, 0.5, 0.5]
    assert out.sources == ("m", "m", "t")
    assert "z" not in out.item_ids


def test_empty_results_blend_to_nothing() -> None:
    assert len(WeightedBlend({"m": 1.0}).rank({})) == 0
