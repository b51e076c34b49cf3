"""SASRec: planted chains, cold items from text, new items, attribution, artifacts, determinism."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from shoprec.data import leave_one_out
from shoprec.errors import ArtifactError, DataError, ModelError, NotFittedError
from shoprec.models import FitOptions, ProgressUpdate, create_model, load_model
from shoprec.models.sasrec import SASRec
from shoprec.types import HistoryEvent, Query

from .planted import TINY, chain_shop, twin_shop


@pytest.fixture(scope="module")
def chain_model() -> SASRec:
    model = SASRec(TINY.model_copy(update={"item_repr": "fused"}))
    model.fit(chain_shop(np.random.default_rng(0)), FitOptions(seed=0))
    return model


@pytest.mark.parametrize("k", range(6))
def test_after_a_then_b_the_chain_end_c_ranks_first(chain_model: SASRec, k: int) -> None:
    top = chain_model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=3)
    assert top.item_ids[0] == f"c{k}"


def test_after_one_full_chain_the_next_chain_starts(chain_model: SASRec) -> None:
    # Every user does two chains, so after c_k the next item is some other chain's start.
    top = chain_model.recommend(Query.from_items(["a2", "b2", "c2"]), k=5)
    assert set(top.item_ids) == {"a0", "a1", "a3", "a4", "a5"}


def test_a_fit_reports_its_long_steps_to_the_progress_it_is_given() -> None:
    updates: list[tuple[str, int, int, str]] = []

    @contextmanager
    def record(description: str) -> Iterator[ProgressUpdate]:
        yield lambda done, total, info: updates.append((description, done, total, info))

    model = SASRec(TINY.model_copy(update={"max_epochs": 2}))
    model.fit(chain_shop(np.random.default_rng(0)), FitOptions(seed=0, progress=record))
    n_items = len(model.item_vocab)
    assert ("encoding item texts", n_items, n_items, "") in updates
    epochs = [(done, total) for step, done, total, _ in updates if step == "training"]
    assert epochs == [(1, 2), (2, 2)]
    assert "loss=" in updates[-1][3]


@pytest.mark.parametrize("item_repr", ["text", "fused"])
def test_cold_item_with_a_popular_items_text_takes_its_place(item_repr: str) -> None:
    model = SASRec(TINY.model_copy(update={"item_repr": item_repr}))
    model.fit(twin_shop(np.random.default_rng(1)), FitOptions(seed=0))
    query = Query.from_items(["f0", "f1", "x0"])
    assert model.recommend(query, k=1).item_ids == ("star",)
    # With the star out of stock (excluded), its never-bought twin is recommended instead.
    history = (*query.history, HistoryEvent("star"))
    assert model.recommend(Query(history=history[:2] + history[3:] + history[2:3]), k=1).item_ids[
        0
    ] in {"star", "twin"}
    scores = model.score(query)
    ranked = scores.top(2).item_ids
    assert ranked == ("star", "twin")


def test_cold_imputation_settings_can_be_tried_on_a_fitted_model() -> None:
    model = SASRec(TINY.model_copy(update={"item_repr": "fused", "cold_neighbors": 3}))
    model.fit(twin_shop(np.random.default_rng(1)), FitOptions(seed=0, max_epochs=2))
    query = Query.from_items(["f0", "f1", "x0"])
    before = model.score(query)
    model.set_cold_imputation(0, 1.0)  # the never-bought twin: its text projection alone
    after = model.score(query)
    assert after.item_ids == before.item_ids
    cold = np.array([item == "twin" for item in after.item_ids])
    assert after.scores[cold] != before.scores[cold]
    np.testing.assert_array_equal(after.scores[~cold], before.scores[~cold])
    assert model.config.cold_neighbors == 3


def test_id_only_model_cannot_score_items_never_seen_in_training() -> None:
    model = SASRec(TINY.model_copy(update={"item_repr": "id"}))
    model.fit(twin_shop(np.random.default_rng(1)), FitOptions(seed=0, max_epochs=2))
    scores = model.score(Query.from_items(["x0"]))
    twin = scores.item_ids.index("twin")
    assert np.isnan(scores.scores[twin])
    assert np.isfinite(np.delete(scores.scores, twin)).all()


def test_add_items_scores_new_items_from_their_text(chain_model: SASRec, tmp_path: Path) -> None:
    model = SASRec(TINY.model_copy(update={"item_repr": "text"}))
    model.fit(twin_shop(np.random.default_rng(1)), FitOptions(seed=0))
    n = len(model.item_vocab)
    model.add_items(["star", "new"], ["ignored: already known", "velvet matte lipstick ruby red"])
    assert len(model.item_vocab) == n + 1 and model.item_vocab.ids[-1] == "new"
    scores = model.score(Query.from_items(["x1"]))
    by_id = dict(zip(scores.item_ids, scores.scores, strict=True))
    assert by_id["new"] == pytest.approx(by_id["twin"], abs=1e-5)  # same text, both cold
    assert scores.top(3).item_ids[0] == "star"
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(
        SASRec.load(tmp_path / "m").score(Query.from_items(["x1"])).scores, scores.scores
    )
    with pytest.raises(DataError, match="2 item ids but 1 texts"):
        model.add_items(["p", "q"], ["only one"])


def test_explain_credits_the_history_event_that_drives_the_item(chain_model: SASRec) -> None:
    # After noise then a3, b3 the model predicts c3 because of b3/a3, not because of c0.
    query = Query.from_items(["a0", "b0", "c0", "a3", "b3"])
    why = chain_model.explain(query, ["c3", "unknown-item"], n_last=3)
    assert set(why) == {"c3"}
    credited = [item for item, _ in why["c3"]]
    assert set(credited) == {"c0", "a3", "b3"}
    assert credited[-1] == "c0"
    assert why["c3"][0][1] > 0 > why["c3"][-1][1] or why["c3"][0][1] > why["c3"][-1][1]
    assert chain_model.explain(Query(), ["c3"]) == {}


def test_save_load_round_trip_gives_identical_scores(chain_model: SASRec, tmp_path: Path) -> None:
    chain_model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, SASRec) and loaded.config == chain_model.config
    assert loaded.best_epoch == chain_model.best_epoch and loaded.history == chain_model.history
    hist = chain_model.encode(Query.from_items(["a1", "b1", "c1", "a4"]))
    np.testing.assert_array_equal(loaded.score_batch(hist), chain_model.score_batch(hist))


@pytest.mark.parametrize(
    "update", [{"id_dim": 8}, {"id_dim": 2, "id_head_items": 6, "id_head_dim": 8}]
)
def test_low_rank_id_table_learns_the_chains_and_round_trips(
    update: dict[str, int], tmp_path: Path
) -> None:
    model = SASRec(TINY.model_copy(update={"item_repr": "fused", **update}))
    model.fit(chain_shop(np.random.default_rng(0)), FitOptions(seed=0))
    assert model.network.items.id_up is not None
    for k in range(6):
        assert model.recommend(Query.from_items([f"a{k}", f"b{k}"]), k=1).item_ids == (f"c{k}",)
    model.add_items(["new"], ["a brand new lipstick"])
    model.save(tmp_path / "m")
    hist = model.encode(Query.from_items(["a1", "b1", "new"]))
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.score_batch(hist), model.score_batch(hist))


def test_same_seed_same_model_other_seed_other_model() -> None:
    data = chain_shop(np.random.default_rng(0), n_users=60)
    cfg = TINY.model_copy(update={"dropout": 0.1, "emb_dropout": 0.1})
    scores = []
    for seed in (3, 3, 4):
        model = SASRec(cfg)
        model.fit(data, FitOptions(seed=seed, max_epochs=3))
        scores.append(model.score_batch(data.sequences))
    np.testing.assert_array_equal(scores[0], scores[1])
    assert not np.array_equal(scores[0], scores[2])


def test_validation_drives_early_stopping_and_restores_the_best_epoch() -> None:
    split = leave_one_out(chain_shop(np.random.default_rng(2), n_users=120, chains_per_user=3))
    model = SASRec(TINY.model_copy(update={"patience": 2}))
    model.fit(split.train, FitOptions(seed=0, max_epochs=30, validation=split.validation))
    ndcgs = [r["ndcg@10"] for r in model.history]
    best = int(np.argmax(ndcgs))
    assert model.best_epoch == best + 1
    assert len(model.history) == best + 1 + 2 or len(model.history) == 30
    # The planted chain makes the validation item (b_k after a_k) predictable.
    assert ndcgs[best] > 0.9


def test_a_decaying_learning_rate_caps_the_run_and_a_shorter_refit_follows_its_curve() -> None:
    data = chain_shop(np.random.default_rng(0))
    decayed = TINY.model_copy(update={"item_repr": "fused", "lr_decay_epochs": 6})
    model = SASRec(decayed)
    model.fit(data, FitOptions(seed=0))  # max_epochs 30: the schedule ends the run at 6
    assert len(model.history) == 6
    assert model.recommend(Query.from_items(["a1", "b1"]), k=1).item_ids == ("c1",)
    # A refit for fewer epochs stops part-way down the same curve: its first epochs are the
    # full run's, so its losses match, and it differs from a run decayed over 3 epochs.
    short = SASRec(decayed)
    short.fit(data, FitOptions(seed=0, max_epochs=3))
    assert [r["loss"] for r in short.history] == pytest.approx(
        [r["loss"] for r in model.history[:3]]
    )
    other = SASRec(decayed.model_copy(update={"lr_decay_epochs": 3}))
    other.fit(data, FitOptions(seed=0))
    assert other.history[-1]["loss"] != pytest.approx(short.history[-1]["loss"])


def test_empty_history_cannot_be_scored_and_bad_indices_are_rejected(chain_model: SASRec) -> None:
    assert np.isnan(chain_model.score(Query()).scores).all()
    assert len(chain_model.recommend(Query())) == 0
    bad = chain_model.encode(Query.from_items(["a0"]))
    bad.items[0] = 10_000
    with pytest.raises(DataError, match="item indices"):
        chain_model.score_batch(bad)


def test_errors_before_fit_and_for_wrong_validation(tmp_path: Path) -> None:
    model = SASRec(TINY)
    with pytest.raises(NotFittedError):
        model.score(Query.from_items(["a0"]))
    with pytest.raises(ModelError, match="EvalSet"):
        model.fit(chain_shop(np.random.default_rng(0), n_users=10), FitOptions(validation="nope"))
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ArtifactError):
        SASRec.load(tmp_path)


def test_registry_presets_set_the_item_representation() -> None:
    assert create_model("sasrec").config.item_repr == "fused"
    assert create_model("sasrec-id").config.item_repr == "id"
    assert create_model("sasrec-text", {"hidden": 16}).config.item_repr == "text"
