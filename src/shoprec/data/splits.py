"""Train/validation/test splits of an interaction log (leave-one-out and friends)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.types import Columns

from .interactions import Interactions, UserSequences


@dataclass(frozen=True)
class EvalSet:
    """Evaluation cases: each case is a model input history and the item to find.

    Attributes:
        histories: Input history per case (item indices in the dataset's vocabulary).
        targets: Target item index per case, shape ``(N,)``.
    """

    histories: UserSequences
    targets: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, rows: npt.ArrayLike) -> EvalSet:
        """A subset of the cases, in the given order."""
        rows = np.asarray(rows, dtype=np.int64)
        return EvalSet(self.histories.take(rows), self.targets[rows])


@dataclass(frozen=True)
class Split:
    """A full evaluation split.

    Attributes:
        train: Fit on this to choose hyperparameters/epochs.
        validation: Scored by a model fit on ``train``.
        test_train: Fit on this (``train`` plus the validation targets) for the final figures.
        test: Scored by a model fit on ``test_train``.
    """

    train: Interactions
    validation: EvalSet
    test_train: Interactions
    test: EvalSet


def _eval_set(
    data: Interactions, target_rows: pl.DataFrame, item_index: dict[str, int]
) -> EvalSet:
    """Cases whose history is each target user's sequence in ``data``."""
    seqs = data.sequences
    row_of = {u: r for r, u in enumerate(seqs.user_ids)}
    users = target_rows[Columns.USER].to_list()
    rows = np.fromiter((row_of[u] for u in users), dtype=np.int64, count=len(users))
    targets = np.fromiter(
        (item_index[i] for i in target_rows[Columns.ITEM].to_list()), dtype=np.int64, count=len(users)
    )
    return EvalSet(seqs.take(rows), targets)


def leave_one_out(data: Interactions) -> Split:
    """Leave-one-out split: per user, test = last event, validation = second-to-last.

    Events are ordered by timestamp per user, ties in log order. Users with fewer than three
    events stay entirely in training and are not evaluated.
    """
    ranked = (
        data.events.with_row_index("_row")
        .with_columns(pl.col(Columns.TIMESTAMP).fill_null(0.0).alias("_t"))
        .sort([Columns.USER, "_t", "_row"])
        .with_columns(
            (pl.len().over(Columns.USER) - 1 - pl.int_range(pl.len()).over(Columns.USER)).alias(
                "_from_end"
            ),
            pl.len().over(Columns.USER).alias("_n"),
        )
        .sort("_row")
    )
    evaluated = pl.col("_n") >= 3
    is_test = evaluated & (pl.col("_from_end") == 0)
    is_val = evaluated & (pl.col("_from_end") == 1)
    drop = ["_row", "_t", "_from_end", "_n"]
    train = data.with_events(ranked.filter(~is_test & ~is_val).drop(drop))
    test_train = data.with_events(ranked.filter(~is_test).drop(drop))
    item_index = {i: k for k, i in enumerate(data.item_vocab.ids)}
    # Keep targets in order of each user's first appearance, like the sequences.
    val_rows = ranked.filter(is_val)
    test_rows = ranked.filter(is_test)
    return Split(
        train=train,
        validation=_eval_set(train, val_rows, item_index),
        test_train=test_train,
        test=_eval_set(test_train, test_rows, item_index),
    )
