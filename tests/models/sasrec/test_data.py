"""Sequence windows, padding, targets, time-gap buckets and batch cropping (exact oracles)."""

from __future__ import annotations

import numpy as np
import torch

from shoprec.data import UserSequences
from shoprec.models.sasrec.data import (
    PAD,
    inference_windows,
    shuffled_batches,
    time_gap_buckets,
    training_windows,
)


def seqs_of(items: list[list[int]], types: list[list[int]] | None = None) -> UserSequences:
    return UserSequences.from_lists(items, types=types)


def test_training_windows_shift_targets_and_left_pad() -> None:
    rows = training_windows(seqs_of([[1, 2, 3], [4, 5], [6]]), max_len=4, n_gap_buckets=0)
    # The one-event history has nothing to predict and is dropped.
    np.testing.assert_array_equal(rows.items, [[PAD, PAD, 1, 2], [PAD, PAD, PAD, 4]])
    np.testing.assert_array_equal(rows.targets, [[PAD, PAD, 2, 3], [PAD, PAD, PAD, 5]])
    np.testing.assert_array_equal(rows.types, [[0, 0, 1, 1], [0, 0, 0, 1]])


def test_long_histories_keep_their_latest_events() -> None:
    rows = training_windows(seqs_of([[1, 2, 3, 4, 5, 6]]), max_len=3, n_gap_buckets=0)
    np.testing.assert_array_equal(rows.items, [[3, 4, 5]])
    np.testing.assert_array_equal(rows.targets, [[4, 5, 6]])
    inf = inference_windows(seqs_of([[1, 2, 3, 4, 5, 6], [], [7]]), max_len=3, n_gap_buckets=0)
    np.testing.assert_array_equal(inf.items, [[4, 5, 6], [PAD, PAD, PAD], [PAD, PAD, 7]])
    assert (inf.targets == PAD).all()


def test_event_types_are_shifted_by_one_so_zero_means_padding() -> None:
    rows = inference_windows(seqs_of([[1, 2]], types=[[0, 4]]), max_len=3, n_gap_buckets=0)
    np.testing.assert_array_equal(rows.types, [[0, 1, 5]])


def test_time_gap_buckets_are_log_scaled_and_restart_per_history() -> None:
    seqs = seqs_of([[1, 2, 3, 4], [5, 6]])
    seqs.timestamps[:] = [0.0, 30.0, 30.0 + 60 * 7, 1e9, 100.0, 100.0 + 60 * 3]
    # gaps in minutes: -, 0.5, 7, huge | -, 3  -> 1 + floor(log2(1 + m)), capped at n - 1
    np.testing.assert_array_equal(time_gap_buckets(seqs, 6), [0, 1, 4, 5, 0, 3])
    assert not time_gap_buckets(seqs, 0).any()
    rows = inference_windows(seqs, max_len=3, n_gap_buckets=6)
    np.testing.assert_array_equal(rows.gaps, [[1, 4, 5], [0, 0, 3]])


def test_take_crops_to_the_longest_row_and_converts_to_tensors() -> None:
    rows = inference_windows(seqs_of([[1, 2, 3, 4], [5], [6, 7]]), max_len=5, n_gap_buckets=0)
    part = rows.take([2, 1])
    np.testing.assert_array_equal(part.items, [[6, 7], [PAD, 5]])
    tensors = part.to_torch(torch.device("cpu"))
    assert tensors["items"].dtype == torch.int64 and tensors["items"].shape == (2, 2)
    assert len(rows.take([1]).items[0]) == 1


def test_shuffled_batches_cover_every_row_once_in_a_seeded_order() -> None:
    a = shuffled_batches(10, 4, np.random.default_rng(0))
    b = shuffled_batches(10, 4, np.random.default_rng(0))
    assert [len(x) for x in a] == [4, 4, 2]
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_length_batches_group_similar_lengths_and_still_shuffle() -> None:
    lengths = np.array([1, 9, 2, 8, 1, 9, 2, 8])
    a = shuffled_batches(8, 2, np.random.default_rng(0), lengths)
    assert sorted(np.concatenate(a).tolist()) == list(range(8))
    assert all(len(set(lengths[b].tolist())) == 1 for b in a)  # one length per batch here
    orders = {
        tuple(int(lengths[b][0]) for b in shuffled_batches(8, 2, np.random.default_rng(s), lengths))
        for s in range(10)
    }
    assert len(orders) > 1  # batch order varies with the seed
