"""Train/validation/test splits of an interaction log.

Leave-one-out (the default benchmark protocol), leave-last-purchase-out (multi-behaviour
logs), a global temporal split, and cold-item / cold-user versions of leave-one-out;
:func:`make_split` picks one by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from shoprec.errors import ConfigError, DataError
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


def _eval_set(data: Interactions, target_rows: pl.DataFrame, item_index: dict[str, int]) -> EvalSet:
    """Cases whose history is each target user's sequence in ``data`` (empty when absent)."""
    seqs = data.sequences
    row_of = {u: r for r, u in enumerate(seqs.user_ids)}
    users = target_rows[Columns.USER].to_list()
    rows = np.fromiter((row_of.get(u, -1) for u in users), dtype=np.int64, count=len(users))
    items = target_rows[Columns.ITEM].to_list()
    targets = np.fromiter((item_index[i] for i in items), dtype=np.int64, count=len(users))
    return EvalSet(_gather(seqs, rows, users), targets)


def _gather(seqs: UserSequences, rows: npt.NDArray[np.int64], users: list[str]) -> UserSequences:
    """The sequences of ``rows`` in order, an empty one where the row is ``-1``."""
    present = rows >= 0
    if len(seqs) == 0:
        starts = lengths = np.zeros(len(rows), dtype=np.int64)
    else:
        safe = np.where(present, rows, 0)
        starts = seqs.offsets[safe]
        lengths = np.where(present, seqs.offsets[safe + 1] - starts, 0)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # Position of every kept event without a Python loop (as UserSequences.take does).
    pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    return UserSequences(
        user_ids=users,
        offsets=offsets,
        items=seqs.items[pos],
        types=seqs.types[pos],
        timestamps=seqs.timestamps[pos],
    )


def _item_index(data: Interactions) -> dict[str, int]:
    return {i: k for k, i in enumerate(data.item_vocab.ids)}


def _by_position_from_end(events: pl.DataFrame) -> pl.DataFrame:
    """Events in log order with ``_from_end`` (0 = the user's last event) and ``_n`` (user count).

    Per user, events are ordered by timestamp, ties in log order.
    """
    return (
        events.with_row_index("_row")
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


_HELPER_COLUMNS = ["_row", "_t", "_from_end", "_n"]


def leave_one_out(data: Interactions) -> Split:
    """Leave-one-out split: per user, test = last event, validation = second-to-last.

    Events are ordered by timestamp per user, ties in log order. Users with fewer than three
    events stay entirely in training and are not evaluated.
    """
    ranked = _by_position_from_end(data.events)
    evaluated = pl.col("_n") >= 3
    is_test = evaluated & (pl.col("_from_end") == 0)
    is_val = evaluated & (pl.col("_from_end") == 1)
    train = data.with_events(ranked.filter(~is_test & ~is_val).drop(_HELPER_COLUMNS))
    test_train = data.with_events(ranked.filter(~is_test).drop(_HELPER_COLUMNS))
    item_index = _item_index(data)
    # Keep targets in order of each user's first appearance, like the sequences.
    val_rows = ranked.filter(is_val)
    test_rows = ranked.filter(is_test)
    return Split(
        train=train,
        validation=_eval_set(train, val_rows, item_index),
        test_train=test_train,
        test=_eval_set(test_train, test_rows, item_index),
    )


def leave_last_purchase_out(data: Interactions, event_type: str = "purchase") -> Split:
    """Leave-one-out on purchases: test = each user's last purchase, validation = the one before.

    "What will this shopper buy next?" on a multi-behaviour log: carts and favourites are
    input, never targets. Per user, events after the last purchase are dropped (they come after
    the moment predicted); the events between the two held-out purchases are history for the
    test case (in ``test_train``) but not training data for validation. Users with fewer than
    two purchases stay entirely in training and are not evaluated.

    Raises:
        DataError: When no user has two ``event_type`` events.
    """
    bought = (pl.col(Columns.EVENT_TYPE) == event_type).cast(pl.Int64)
    ranked = (
        data.events.with_row_index("_row")
        .with_columns(pl.col(Columns.TIMESTAMP).fill_null(0.0).alias("_t"))
        .sort([Columns.USER, "_t", "_row"])
        # _k: purchases at or after this event; _m: the user's purchases.
        .with_columns(
            bought.reverse().cum_sum().reverse().over(Columns.USER).alias("_k"),
            bought.sum().over(Columns.USER).alias("_m"),
            bought.alias("_p"),
        )
        .sort("_row")
    )
    helpers = ["_row", "_t", "_k", "_m", "_p"]
    evaluated = pl.col("_m") >= 2
    is_test = evaluated & (pl.col("_k") == 1) & (pl.col("_p") == 1)
    is_val = evaluated & (pl.col("_k") == 2) & (pl.col("_p") == 1)
    before_val = ~evaluated | (pl.col("_k") >= 3) | ((pl.col("_k") == 2) & (pl.col("_p") == 0))
    between = evaluated & (pl.col("_k") == 1) & (pl.col("_p") == 0)
    if ranked.filter(is_test).height == 0:
        raise DataError(f"loo-purchase split: no user has two {event_type!r} events")
    train = data.with_events(ranked.filter(before_val).drop(helpers))
    test_train = data.with_events(ranked.filter(before_val | is_val | between).drop(helpers))
    item_index = _item_index(data)
    return Split(
        train=train,
        validation=_eval_set(train, ranked.filter(is_val), item_index),
        test_train=test_train,
        test=_eval_set(test_train, ranked.filter(is_test), item_index),
    )


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{name} must be between 0 and 1 (exclusive), got {value}")


def _first_in_window(events: pl.DataFrame, lo: float, hi: float) -> pl.DataFrame:
    """Each user's first event with ``lo <= _t < hi`` if the user has an event before ``lo``."""
    known = events.filter(pl.col("_t") < lo).select(Columns.USER).unique()
    return (
        events.filter((pl.col("_t") >= lo) & (pl.col("_t") < hi))
        .sort(["_t", "_row"])
        .unique(Columns.USER, keep="first", maintain_order=True)
        .join(known, on=Columns.USER, how="semi")
        .sort("_row")
    )


def temporal_split(
    data: Interactions, validation_fraction: float = 0.1, test_fraction: float = 0.1
) -> Split:
    """Global temporal split: one time cutoff for everybody, the future is never trained on.

    The log's events are ordered by time (ties in log order); the test cutoff is the timestamp
    at the ``1 - test_fraction`` quantile, the validation cutoff the one
    ``validation_fraction`` earlier. A case is a user's first event at or after a cutoff (and
    before the next one), for users with at least one event before it; its history is all of
    that user's events before the cutoff. ``train`` holds the events before the validation
    cutoff, ``test_train`` those before the test cutoff.

    Raises:
        ConfigError: When a fraction is outside (0, 1) or the two add up to 1 or more.
        DataError: When a window holds no evaluable case (e.g. every timestamp is equal).
    """
    _check_fraction("validation_fraction", validation_fraction)
    _check_fraction("test_fraction", test_fraction)
    if validation_fraction + test_fraction >= 1.0:
        raise ConfigError("validation_fraction + test_fraction must be below 1")
    events = data.events.with_row_index("_row").with_columns(
        pl.col(Columns.TIMESTAMP).fill_null(0.0).alias("_t")
    )
    times = np.sort(events["_t"].to_numpy(), kind="stable")
    n = len(times)
    if n == 0:
        raise DataError("temporal split: the event log is empty")
    t_test = float(times[min(n - 1, int(n * (1.0 - test_fraction)))])
    t_val = float(times[int(n * (1.0 - test_fraction - validation_fraction))])
    helper = ["_row", "_t"]
    train = data.with_events(events.filter(pl.col("_t") < t_val).drop(helper))
    test_train = data.with_events(events.filter(pl.col("_t") < t_test).drop(helper))
    val_rows = _first_in_window(events, t_val, t_test)
    test_rows = _first_in_window(events, t_test, np.inf)
    for name, rows, cutoff in (("validation", val_rows, t_val), ("test", test_rows, t_test)):
        if rows.height == 0:
            raise DataError(
                f"temporal split: no {name} cases at cutoff {cutoff} (no user has events on both "
                "sides of it; are the timestamps all equal?)"
            )
    item_index = _item_index(data)
    return Split(
        train=train,
        validation=_eval_set(train, val_rows, item_index),
        test_train=test_train,
        test=_eval_set(test_train, test_rows, item_index),
    )


def cold_item_split(data: Interactions, fraction: float = 0.1, seed: int = 0) -> Split:
    """Leave-one-out restricted to items never seen in training.

    A seeded random ``fraction`` of the items that occur in the log is withheld: their events
    are removed from all training data and from the input histories (their catalogue rows and
    vocabulary indices stay, so content is known but interactions are not). Only the
    leave-one-out validation/test cases whose target is a withheld item are evaluated; their
    histories may be empty when every earlier event was on a withheld item.

    Raises:
        ConfigError: When ``fraction`` is outside (0, 1).
    """
    _check_fraction("fraction", fraction)
    item_index = _item_index(data)
    interacted = np.unique(data.item_index)
    n_cold = max(1, round(fraction * len(interacted)))
    cold = np.random.default_rng(seed).choice(interacted, n_cold, replace=False)
    cold_ids = [data.item_vocab.ids[i] for i in np.sort(cold)]
    ranked = _by_position_from_end(data.events)
    is_cold = pl.col(Columns.ITEM).is_in(cold_ids)
    evaluated = pl.col("_n") >= 3
    is_test = evaluated & (pl.col("_from_end") == 0)
    is_val = evaluated & (pl.col("_from_end") == 1)
    train = data.with_events(ranked.filter(~is_test & ~is_val & ~is_cold).drop(_HELPER_COLUMNS))
    test_train = data.with_events(ranked.filter(~is_test & ~is_cold).drop(_HELPER_COLUMNS))
    return Split(
        train=train,
        validation=_eval_set(train, ranked.filter(is_val & is_cold), item_index),
        test_train=test_train,
        test=_eval_set(test_train, ranked.filter(is_test & is_cold), item_index),
    )


def cold_user_split(data: Interactions, fraction: float = 0.1, seed: int = 0) -> Split:
    """Leave-one-out for users absent from training: their history is only a request input.

    A seeded random ``fraction`` of the users with at least three events is held out entirely;
    models train on everybody else (``train`` and ``test_train`` are the same log). A held-out
    user's test case is their last event with all earlier ones as history, the validation case
    their second-to-last event with the events before it.

    Raises:
        ConfigError: When ``fraction`` is outside (0, 1).
        DataError: When no user has three events.
    """
    _check_fraction("fraction", fraction)
    ranked = _by_position_from_end(data.events)
    eligible = ranked.filter(pl.col("_n") >= 3)[Columns.USER].unique(maintain_order=True)
    if eligible.len() == 0:
        raise DataError("cold-user split: no user has the three events a case needs")
    n_cold = max(1, round(fraction * eligible.len()))
    picked = np.random.default_rng(seed).choice(eligible.len(), n_cold, replace=False)
    is_cold = pl.col(Columns.USER).is_in(eligible.gather(np.sort(picked)).to_list())
    train = data.with_events(ranked.filter(~is_cold).drop(_HELPER_COLUMNS))
    cold = ranked.filter(is_cold)
    before_val = data.with_events(cold.filter(pl.col("_from_end") >= 2).drop(_HELPER_COLUMNS))
    before_test = data.with_events(cold.filter(pl.col("_from_end") >= 1).drop(_HELPER_COLUMNS))
    item_index = _item_index(data)
    return Split(
        train=train,
        validation=_eval_set(before_val, cold.filter(pl.col("_from_end") == 1), item_index),
        test_train=train,
        test=_eval_set(before_test, cold.filter(pl.col("_from_end") == 0), item_index),
    )


#: Protocol names accepted by :func:`make_split` (and ``shoprec benchmark --protocol``).
SPLIT_PROTOCOLS = ("loo", "loo-purchase", "temporal", "cold-item", "cold-user")


def make_split(data: Interactions, protocol: str = "loo", seed: int = 0) -> Split:
    """The split of ``data`` named by ``protocol`` (``seed`` draws the cold items/users).

    Raises:
        ConfigError: For an unknown protocol name.
    """
    if protocol == "loo":
        return leave_one_out(data)
    if protocol == "loo-purchase":
        return leave_last_purchase_out(data)
    if protocol == "temporal":
        return temporal_split(data)
    if protocol == "cold-item":
        return cold_item_split(data, seed=seed)
    if protocol == "cold-user":
        return cold_user_split(data, seed=seed)
    raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(SPLIT_PROTOCOLS)}")
