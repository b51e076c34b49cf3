"""Splits on tiny literal logs with hand-worked expected cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from shoprec.data import (
    EvalSet,
    Interactions,
    cold_item_split,
    cold_user_split,
    leave_last_purchase_out,
    leave_one_out,
    make_split,
    temporal_split,
)
from shoprec.errors import ConfigError, DataError

# user a: 1 2 3 4 ; user b: 2 3 5 ; user c: 1 5 (too short for leave-one-out)
LOG = pl.DataFrame(
    {
        "user_id": ["a", "a", "a", "a", "b", "b", "b", "c", "c"],
        "item_id": ["1", "2", "3", "4", "2", "3", "5", "1", "5"],
        "timestamp": [1.0, 2.0, 3.0, 4.0, 1.0, 5.0, 6.0, 2.0, 7.0],
    }
)


def _data(events: pl.DataFrame = LOG) -> Interactions:
    return Interactions(events)


def _cases(cases: EvalSet, data: Interactions) -> list[tuple[str, list[str], str]]:
    """(user, history item ids, target item id) per case, for readable asserts."""
    ids = data.item_vocab.ids
    h = cases.histories
    return [
        (h.user_ids[r], [ids[i] for i in h.items_of(r)], ids[int(cases.targets[r])])
        for r in range(len(cases))
    ]


def test_leave_one_out_holds_out_last_and_second_to_last() -> None:
    data = _data()
    split = leave_one_out(data)
    assert _cases(split.validation, data) == [("a", ["1", "2"], "3"), ("b", ["2"], "3")]
    assert _cases(split.test, data) == [("a", ["1", "2", "3"], "4"), ("b", ["2", "3"], "5")]
    assert split.train.n_events == 5  # a: 1 2, b: 2, c: 1 5
    assert split.test_train.n_events == 7


def test_leave_one_out_breaks_timestamp_ties_by_log_order() -> None:
    events = pl.DataFrame(
        {"user_id": ["u"] * 4, "item_id": ["p", "q", "r", "s"], "timestamp": [1.0, 2.0, 2.0, 2.0]}
    )
    data = _data(events)
    split = leave_one_out(data)
    assert _cases(split.test, data) == [("u", ["p", "q", "r"], "s")]


def test_temporal_split_uses_global_cutoffs() -> None:
    data = _data()
    split = temporal_split(data)
    # times sorted: 1 1 2 2 3 4 5 6 7 -> test cutoff = time at index 8 (7), validation at 7 (6)
    assert _cases(split.validation, data) == [("b", ["2", "3"], "5")]
    assert _cases(split.test, data) == [("c", ["1"], "5")]
    assert max(split.train.events["timestamp"].to_list()) < 6.0
    assert split.test_train.n_events == 8


def test_temporal_split_skips_users_without_history_before_the_cutoff() -> None:
    events = LOG.vstack(pl.DataFrame({"user_id": ["new"], "item_id": ["9"], "timestamp": [8.0]}))
    data = _data(events)
    split = temporal_split(data, validation_fraction=0.2, test_fraction=0.2)
    # 10 events: test cutoff = sorted time[8] = 7 -> c's 5 (new has no earlier event)
    assert _cases(split.test, data) == [("c", ["1"], "5")]
    # validation cutoff = sorted time[6] = 5 -> b's first event in [5, 7) is 3 (then 5)
    assert _cases(split.validation, data) == [("b", ["2"], "3")]


def test_temporal_split_rejects_bad_fractions_and_flat_time() -> None:
    with pytest.raises(ConfigError, match="test_fraction"):
        temporal_split(_data(), test_fraction=0.0)
    with pytest.raises(ConfigError, match="below 1"):
        temporal_split(_data(), validation_fraction=0.5, test_fraction=0.5)
    with pytest.raises(DataError, match="no validation cases"):
        temporal_split(_data(LOG.with_columns(pl.lit(1.0).alias("timestamp"))))


def _big_log(n_users: int = 40, n_items: int = 30, length: int = 6, seed: int = 3) -> Interactions:
    rng = np.random.default_rng(seed)
    users = np.repeat([f"u{u}" for u in range(n_users)], length)
    items = [f"i{i}" for i in rng.integers(0, n_items, n_users * length)]
    times = np.tile(np.arange(length, dtype=np.float64), n_users)
    return Interactions(pl.DataFrame({"user_id": users, "item_id": items, "timestamp": times}))


def test_cold_item_split_withholds_items_from_training_and_histories() -> None:
    data = _big_log()
    split = cold_item_split(data, fraction=0.2, seed=1)
    interacted = set(data.events["item_id"].to_list())
    trained = set(split.test_train.events["item_id"].to_list())
    cold = interacted - trained
    assert len(cold) == round(0.2 * len(interacted))
    assert cold.isdisjoint(split.train.events["item_id"].to_list())
    loo = leave_one_out(data)
    for cases, full in ((split.test, loo.test), (split.validation, loo.validation)):
        got = _cases(cases, data)
        # exactly the leave-one-out cases with a cold target, histories without cold items
        expected = [
            (u, [i for i in hist if i not in cold], t)
            for u, hist, t in _cases(full, data)
            if t in cold
        ]
        assert got == expected
        assert got  # the seed leaves something to evaluate
    assert data.item_vocab.ids == split.train.item_vocab.ids  # cold items keep their index


def test_cold_item_split_is_seeded() -> None:
    data = _big_log()
    a, b, c = (cold_item_split(data, seed=s) for s in (5, 5, 6))
    assert a.test_train.events.equals(b.test_train.events)
    assert not a.test_train.events.equals(c.test_train.events)


def test_cold_user_split_keeps_held_out_users_out_of_training() -> None:
    data = _big_log()
    split = cold_user_split(data, fraction=0.1, seed=2)
    held = set(split.test.histories.user_ids)
    assert len(held) == 4
    assert held.isdisjoint(split.train.events["user_id"].to_list())
    assert split.train is split.test_train
    assert split.train.n_events == 36 * 6
    loo = leave_one_out(data)
    full = {u: (h, t) for u, h, t in _cases(loo.test, data)}
    for user, hist, target in _cases(split.test, data):
        assert (hist, target) == full[user]  # whole history but the last event is the input
    val = {u: (h, t) for u, h, t in _cases(loo.validation, data)}
    for user, hist, target in _cases(split.validation, data):
        assert (hist, target) == val[user]


def test_make_split_dispatches_by_name() -> None:
    data = _big_log()
    assert _cases(make_split(data, "loo").test, data) == _cases(leave_one_out(data).test, data)
    cold = make_split(data, "cold-user", seed=4).test
    assert _cases(cold, data) == _cases(cold_user_split(data, seed=4).test, data)
    with pytest.raises(ConfigError, match="unknown protocol 'kfold'"):
        make_split(data, "kfold")


def test_leave_last_purchase_out_predicts_purchases_with_carts_as_input() -> None:
    # u: cart 1, buy 1, cart 2, fav 3, buy 2, cart 4 (after the last purchase: dropped)
    # v: buy 5 (one purchase: training only)
    events = pl.DataFrame(
        {
            "user_id": ["u"] * 6 + ["v"],
            "item_id": ["1", "1", "2", "3", "2", "4", "5"],
            "event_type": ["addtocart", "purchase", "addtocart", "favorite", "purchase"]
            + ["addtocart", "purchase"],
            "timestamp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0],
        }
    )
    data = _data(events)
    split = leave_last_purchase_out(data)
    assert _cases(split.validation, data) == [("u", ["1"], "1")]
    assert _cases(split.test, data) == [("u", ["1", "1", "2", "3"], "2")]
    assert split.train.n_events == 2  # u's first cart, v's purchase
    assert split.test_train.n_events == 5
    assert make_split(data, "loo-purchase").test.targets.tolist() == split.test.targets.tolist()
    with pytest.raises(DataError, match="two 'purchase'"):
        leave_last_purchase_out(data.with_events(events.filter(pl.col("user_id") == "v")))
