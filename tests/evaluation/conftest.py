"""Test-only models for the evaluation tests, registered per test (never globally).

* ``FixedScores`` scores each case from a literal table row chosen by the case's user id.
* ``Transition`` learns "after item a comes item b" counts; its search space offers a
  popularity-only mode that a planted A -> B log must reject on validation.
* ``Epochs`` is an iterative model that reports an early-stopping epoch on validated fits and
  records the options of every fit, so the runner's epoch hand-over can be checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import polars as pl
import pytest

from shoprec.data import Interactions, UserSequences
from shoprec.models import BaseConfig, BaseRecommender, FitOptions, Scores, registry

DEFAULT_FIT = FitOptions()


class FixedScoresConfig(BaseConfig):
    pass


class FixedScores(BaseRecommender):
    key: ClassVar[str] = "test-fixed"
    config_cls: ClassVar[type[BaseConfig]] = FixedScoresConfig

    def __init__(self, config: BaseConfig | None = None, table: list[list[float]] | None = None):
        super().__init__(config)
        self.table = np.asarray(table if table is not None else [[0.0]], dtype=np.float32)
        self.item_vocab.add(str(i) for i in range(self.table.shape[1]))
        self._fitted = True

    def fit(self, data: Interactions, opts: FitOptions = DEFAULT_FIT) -> None:
        raise NotImplementedError("FixedScores is built from a table")

    def score_batch(self, histories: UserSequences) -> Scores:
        # A view on purpose: the evaluator must not write into a model's state.
        return self.table[[int(u) for u in histories.user_ids]]


class TransitionConfig(BaseConfig):
    use_transitions: bool = True


class Transition(BaseRecommender):
    key: ClassVar[str] = "test-transition"
    config_cls: ClassVar[type[BaseConfig]] = TransitionConfig
    config: TransitionConfig
    search_space: ClassVar[dict[str, list[object]]] = {"use_transitions": [False, True]}

    def fit(self, data: Interactions, opts: FitOptions = DEFAULT_FIT) -> None:
        self.item_vocab = data.item_vocab
        n = data.n_items
        seqs = data.sequences
        self.popularity = np.bincount(seqs.items, minlength=n).astype(np.float32)
        self.next = np.zeros((n, n), dtype=np.float32)
        for u in range(len(seqs)):
            items = seqs.items_of(u)
            np.add.at(self.next, (items[:-1], items[1:]), 1.0)
        self._fitted = True

    def score_batch(self, histories: UserSequences) -> Scores:
        scores = np.tile(self.popularity / (1.0 + self.popularity.max()), (len(histories), 1))
        if self.config.use_transitions:
            for row in range(len(histories)):
                items = histories.items_of(row)
                if len(items):
                    scores[row] += self.next[items[-1]]
        return scores


class EpochsConfig(TransitionConfig):
    pass


class Epochs(Transition):
    key: ClassVar[str] = "test-epochs"
    config_cls: ClassVar[type[BaseConfig]] = EpochsConfig
    search_space: ClassVar[dict[str, list[object]]] = {}
    fits: ClassVar[list[FitOptions]] = []

    def fit(self, data: Interactions, opts: FitOptions = DEFAULT_FIT) -> None:
        type(self).fits.append(opts)
        super().fit(data, opts)
        self.best_epoch = 3 if opts.validation is not None else 0
        # Its per-epoch log, as an iterative model keeps one (the learning curve).
        self.history = [{"epoch": float(e), "loss": 1.0 / e} for e in range(1, 4)]


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test models in the registry for one test only."""
    for cls in (Transition, Epochs):
        monkeypatch.setitem(registry._REGISTRY, cls.key, cls)
    Epochs.fits.clear()
    yield


def chain_log(n_users: int = 30, n_items: int = 12, length: int = 6) -> Interactions:
    """User ``u`` walks the cyclic chain i0 -> i1 -> ... -> i11 -> i0 from ``u % n_items``.

    Planted signal: every transition is seen in training (each start occurs at least twice),
    so a model that follows transitions ranks every validation and test target first.
    """
    users, items, times = [], [], []
    for u in range(n_users):
        for step in range(length):
            users.append(f"u{u}")
            items.append(f"i{(u + step) % n_items}")
            times.append(float(1000 * u + step))
    events = pl.DataFrame({"user_id": users, "item_id": items, "timestamp": times})
    catalogue = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "category": ["even" if i % 2 == 0 else "odd" for i in range(n_items)],
        }
    )
    return Interactions(events, catalogue)
