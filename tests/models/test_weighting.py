"""Event weights: type table, recency decay, strongest-event user-item matrix, index checks."""

from __future__ import annotations

import numpy as np
import pytest

from shoprec.data import UserSequences
from shoprec.errors import DataError
from shoprec.models.weighting import (
    history_weights,
    recency_weights,
    type_weight_table,
    user_item_matrix,
)
from shoprec.types import EVENT_TYPE_CODES

VIEW, CART, BUY = (EVENT_TYPE_CODES[t] for t in ("view", "addtocart", "purchase"))


def test_type_table_uses_given_weights_and_one_for_the_rest() -> None:
    table = type_weight_table({"purchase": 5.0, "view": 0.5})
    assert table[BUY] == 5.0 and table[VIEW] == 0.5
    assert table[CART] == 1.0


def test_recency_halves_per_half_life_and_never_exceeds_one() -> None:
    day = 86_400.0
    times = np.array([0.0, 10 * day, 20 * day, 25 * day])
    np.testing.assert_allclose(recency_weights(times, 20 * day, 10.0), [0.25, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(recency_weights(times, 20 * day, None), np.ones(4))


def test_user_item_matrix_keeps_each_pairs_strongest_event_and_drops_zeros() -> None:
    seqs = UserSequences.from_lists(
        [[0, 0, 0, 1], [2, 1]], types=[[VIEW, BUY, VIEW, CART], [VIEW, VIEW]]
    )
    table = type_weight_table({"view": 1.0, "purchase": 5.0, "addtocart": 0.0})
    matrix = user_item_matrix(seqs, 4, table[seqs.types])
    np.testing.assert_array_equal(matrix.toarray(), [[5, 0, 0, 0], [0, 1, 1, 0]])
    assert matrix.nnz == 3  # the zero-weight add-to-cart leaves no entry


def test_history_indices_outside_the_vocabulary_are_refused() -> None:
    table = type_weight_table({})
    with pytest.raises(DataError, match=r"must lie in \[0, 3\)"):
        history_weights(UserSequences.from_lists([[0, 3]]), 3, table)
    with pytest.raises(DataError):
        history_weights(UserSequences.from_lists([[-1]]), 3, table)
    assert history_weights(UserSequences.from_lists([[]]), 3, table).shape == (0,)
