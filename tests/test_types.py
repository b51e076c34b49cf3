"""The currency types: ranking candidates, queries."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from shoprec.types import Candidates, HistoryEvent, Query


@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.0, float("nan"), -1.5, 3.0]), max_size=40),
    st.integers(min_value=0, max_value=45),
)
def test_top_equals_a_full_stable_sort(values: list[float], k: int) -> None:
    scores = np.asarray(values, dtype=np.float32)
    ids = tuple(f"i{n}" for n in range(len(values)))
    top = Candidates(ids, scores).top(k)
    valid = [n for n in range(len(values)) if not np.isnan(values[n])]
    expected = sorted(valid, key=lambda n: (-values[n], n))[:k]
    assert top.item_ids == tuple(f"i{n}" for n in expected)
    assert np.array_equal(top.scores, scores[expected])


def test_ties_go_to_the_earlier_item() -> None:
    top = Candidates(("a", "b", "c", "d"), np.asarray([1, 2, 2, 2], np.float32)).top(2)
    assert top.item_ids == ("b", "c")


def test_query_history_items_in_order() -> None:
    query = Query(history=(HistoryEvent("x"), HistoryEvent("y", "purchase")))
    assert query.history_items == ("x", "y")
    assert Query.from_items(["p", "q"]).history_items == ("p", "q")
