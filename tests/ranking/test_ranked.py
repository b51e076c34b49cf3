"""The ranked recommender: planted signal, leakage guard, one code path, artifacts."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from shoprec.data import EvalSet, Interactions, UserSequences
from shoprec.errors import LeakageError
from shoprec.evaluation import evaluate
from shoprec.models import FitOptions, Popularity, create_model, load_model, model_class
from shoprec.ranking import (
    EVENT_TYPE_FEATURES,
    CandidateGenerator,
    FittedSources,
    RankedConfig,
    RankedRecommender,
    SourceSpec,
    check_no_leakage,
    fit_sources,
    history_rows,
    split_targets,
)
from shoprec.ranking import ranked as ranked_module
from shoprec.ranking.fit_protocol import split_users, withhold_items
from shoprec.types import EVENT_TYPE_CODES, HistoryEvent, Query

N_ITEMS, N_BRANDS = 80, 8
FIT = FitOptions(seed=0, device="cpu")
TYPES = ("view", "view", "view", "addtocart", "purchase", "favorite")


def _sequence(rng: np.random.Generator) -> tuple[list[int], list[str]]:
    """A random history of 3-8 distinct items, then an unseen item of the last one's brand."""
    brand = np.arange(N_ITEMS) % N_BRANDS
    items = [int(i) for i in rng.choice(N_ITEMS, int(rng.integers(3, 9)), replace=False)]
    same = [int(i) for i in np.flatnonzero(brand == brand[items[-1]]) if i not in items]
    items.append(int(rng.choice(same)))
    kinds = [TYPES[int(rng.integers(len(TYPES)))] for _ in items]
    return items, kinds


def _catalogue() -> pl.DataFrame:
    ids = np.arange(N_ITEMS)
    return pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in ids],
            "title": [f"product {i}" for i in ids],
            "brand": [f"brand{i % N_BRANDS}" for i in ids],
            "category": [f"cat{i // 10}" for i in ids],
            "price": [5.0 + i for i in ids],
            "in_stock": [i % 7 != 0 for i in ids],
        }
    )


def planted_shop(
    n_users: int = 300, n_test: int = 60, seed: int = 0
) -> tuple[Interactions, EvalSet]:
    """Shoppers whose next item always shares the brand of their last one (else random).

    Returns the log of ``n_users`` shoppers and ``n_test`` other shoppers as evaluation cases
    (their history without the planted item, which is the target).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        items, kinds = _sequence(rng)
        for s, (item, kind) in enumerate(zip(items, kinds, strict=True)):
            rows.append((f"u{u}", f"i{item}", kind, 1.7e9 + 3600.0 * (20 * u + s)))
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    data = Interactions(events, _catalogue())
    histories, types, targets = [], [], []
    for _ in range(n_test):
        items, kinds = _sequence(rng)
        rows_ = data.item_vocab.lookup([f"i{i}" for i in items])
        histories.append(rows_[:-1].tolist())
        types.append([EVENT_TYPE_CODES[k] for k in kinds[:-1]])
        targets.append(int(rows_[-1]))
    seqs = UserSequences.from_lists(histories, [f"t{u}" for u in range(n_test)], types)
    seqs.timestamps[:] = 1.8e9 + 3600.0 * np.arange(len(seqs.items))
    return data, EvalSet(seqs, np.asarray(targets, dtype=np.int64))


def _config(**overrides: object) -> RankedConfig:
    values: dict[str, object] = {
        "sources": {
            "covisit": SourceSpec(key="covisit", k=40),
            "popularity": SourceSpec(key="popularity", k=80),
        },
        "text_encoder": "hashing",
        "ranker_params": {"n_threads": 1},
        **overrides,
    }
    return RankedConfig.model_validate(values)


@pytest.fixture(scope="module")
def shop() -> tuple[Interactions, EvalSet]:
    return planted_shop()


@pytest.fixture(scope="module")
def fitted(shop: tuple[Interactions, EvalSet]) -> RankedRecommender:
    model = RankedRecommender(_config())
    model.fit(shop[0], FIT)
    return model


# -- (1) planted signal ----------------------------------------------------------------------
def test_learns_the_planted_brand_rule_and_beats_popularity(
    fitted: RankedRecommender, shop: tuple[Interactions, EvalSet]
) -> None:
    data, cases = shop
    importance = fitted.feature_importance()
    assert max(importance, key=importance.__getitem__) == "same_brand_last"
    assert importance["same_brand_last"] > 0.5
    assert sum(importance.values()) == pytest.approx(1.0)
    popularity = Popularity()
    popularity.fit(data, FIT)
    ranked_ndcg = evaluate(fitted, cases, ks=(10,))["NDCG@10"]
    popular_ndcg = evaluate(popularity, cases, ks=(10,))["NDCG@10"]
    # 10 items per brand, a few in the history: the rule alone puts the target in the top 10.
    assert ranked_ndcg > popular_ndcg + 0.2
    assert fitted.candidate_recall == pytest.approx(1.0)
    assert set(fitted.source_recall) == {"covisit", "popularity"}
    assert not hasattr(fitted, "best_epoch")


def test_score_batch_scores_only_the_candidates(
    fitted: RankedRecommender, shop: tuple[Interactions, EvalSet]
) -> None:
    hist = shop[1].histories.take(np.arange(5))
    scores = fitted.score_batch(hist)
    assert scores.shape == (5, N_ITEMS)
    assert scores.dtype == np.float32
    for u in range(5):
        cands = fitted.candidates(hist.take([u]), exclude=history_rows(hist.take([u])))[0]
        assert set(np.flatnonzero(~np.isnan(scores[u]))) == set(cands.rows.tolist())
        assert np.isnan(scores[u, hist.items_of(u)]).all()


def _cold_positive_shares(
    data: Interactions, monkeypatch: pytest.MonkeyPatch, configs: dict[str, RankedConfig]
) -> dict[str, float]:
    """Per config, the share of the ranker's training targets on items its sources never saw."""
    real = RankedRecommender.training_data
    shares: dict[str, float] = {}
    name = ""

    def spy(self: RankedRecommender, fitted: FittedSources, targets: Any) -> Any:
        training = real(self, fitted, targets)
        if training.data is not None and len(targets) > 100:  # the training users' set
            hist, wanted = targets.cases.histories, targets.cases.targets
            cands = self.candidates(hist, exclude=history_rows(hist))
            found = np.asarray([t in c.rows for c, t in zip(cands, wanted, strict=True)])
            shares[name] = float(np.mean(self.item_stats.unseen[wanted[found]]))
        return training

    monkeypatch.setattr(RankedRecommender, "training_data", spy)
    for name, config in configs.items():  # noqa: B007 - read by spy
        RankedRecommender(config).fit(data, FIT)
    return shares


def test_the_ranker_meets_targets_on_items_its_sources_never_saw(
    shop: tuple[Interactions, EvalSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {"covisit": SourceSpec(key="covisit", k=20), "text": SourceSpec(key="text", k=60)}
    shares = _cold_positive_shares(
        shop[0],
        monkeypatch,
        {
            "none": _config(sources=sources, cold_item_share=0.0),
            "third": _config(sources=sources, cold_item_share=0.3),
        },
    )
    # Withheld items are a third of the catalogue: a good share of targets land on them.
    assert shares["none"] == 0.0
    assert shares["third"] > 0.1


def test_collaborative_sources_propose_unseen_items_by_their_text_neighbours(
    shop: tuple[Interactions, EvalSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = {"covisit": SourceSpec(key="covisit", k=20)}  # no text source
    shares = _cold_positive_shares(
        shop[0],
        monkeypatch,
        {f"{n}": _config(sources=sources, cold_item_share=0.3, cold_neighbors=n) for n in (0, 3)},
    )
    assert shares["0"] == 0.0  # co-visitation alone never proposes an item it never saw
    assert shares["3"] > 0.05


def test_an_item_listed_after_the_fit_is_ranked_as_its_text_twin(
    fitted: RankedRecommender, shop: tuple[Interactions, EvalSet], tmp_path: Path
) -> None:
    data, cases = shop
    texts = dict(zip(data.item_vocab.ids, data.item_texts(), strict=True))
    # A twin of i13 in text and catalogue row; i2's new text is ignored (already known).
    row = _catalogue().filter(pl.col("item_id") == "i13").with_columns(item_id=pl.lit("new13"))
    model = copy.deepcopy(fitted)
    model.add_items(["new13", "i2"], [texts["i13"], "something else"], row)
    assert len(fitted.item_vocab) == N_ITEMS  # the fitted model is untouched
    twin, original = model.item_vocab.lookup(["new13", "i13"])
    assert model.item_stats.unseen[twin] and not model.item_stats.unseen[original]
    hist = cases.histories
    cands = model.candidates(hist, exclude=history_rows(hist))
    feats = model.features(hist, cands)
    scores = model.score_batch(hist)
    assert scores.shape == (len(hist), N_ITEMS + 1)
    # Its sources score it as its original (up to its other neighbours' small weights) ...
    for source in model.source_models.values():
        by_source = np.nan_to_num(np.asarray(source.score_batch(hist)))  # type: ignore[union-attr]
        np.testing.assert_allclose(by_source[:, twin], by_source[:, original], atol=1e-3)
    # ... it is proposed wherever its original is, and the ranker reads the same item features
    # (popularity, age, price, brand, text: every column from pop_all on) and ranks them alike.
    item_columns = slice(model.feature_names.index("pop_all"), None)
    pairs = []
    for u, (c, f) in enumerate(zip(cands, feats, strict=True)):
        rows = list(c.rows)
        if original in rows and original not in hist.items_of(u):
            assert twin in rows
            twin_f, original_f = f[rows.index(twin)], f[rows.index(original)]
            np.testing.assert_allclose(
                twin_f[item_columns], original_f[item_columns], rtol=1e-3, atol=1e-4
            )
            pairs.append((scores[u, twin], scores[u, original]))
    assert len(pairs) >= 5
    assert np.corrcoef(np.asarray(pairs).T)[0, 1] > 0.9
    model.save(tmp_path / "grown")
    loaded = load_model(tmp_path / "grown")
    np.testing.assert_array_equal(loaded.score_batch(hist), scores)


def test_an_item_without_a_catalogue_row_has_unknown_content_and_a_rigid_source_waits(
    shop: tuple[Interactions, EvalSet], fitted: RankedRecommender
) -> None:
    model = copy.deepcopy(fitted)
    model.add_items(["bare"], ["product 13 | brand5 | cat1"])
    row = model.item_vocab.index_of("bare")
    assert row is not None
    stats = model.item_stats
    assert np.isnan(stats.price[row]) and stats.category[row] == -1 and stats.brand[row] == -1
    als = RankedRecommender(
        _config(
            sources={"als": SourceSpec(key="als", k=20, params={"factors": 8, "iterations": 2})}
        )
    )
    als.fit(shop[0], FIT)
    als.add_items(["bare"], ["product 13 | brand5 | cat1"])
    assert "bare" not in als.item_vocab  # ALS learns items only from events: next fit


def test_withhold_items_drops_every_event_of_a_seeded_share_and_keeps_the_catalogue(
    shop: tuple[Interactions, EvalSet],
) -> None:
    data = shop[0]
    kept = withhold_items(data, 0.25, seed=1)
    gone = set(np.unique(data.item_index)) - set(np.unique(kept.item_index))
    assert len(gone) == round(0.25 * len(np.unique(data.item_index)))
    assert kept.n_events == data.n_events - int(np.isin(data.item_index, list(gone)).sum())
    assert kept.item_vocab.ids == data.item_vocab.ids
    assert withhold_items(data, 0.25, seed=1).events.equals(kept.events)
    assert withhold_items(data, 0.0, seed=1) is data


# -- (2) leakage guard -----------------------------------------------------------------------
def test_leakage_guard_raises_on_targets_and_passes_on_the_prefix(
    shop: tuple[Interactions, EvalSet],
) -> None:
    data = shop[0]
    split = split_targets(data)
    targets = split.targets.events
    assert len(split.targets) == targets.n_events == 300
    assert split.prefix.n_events == data.n_events - 300
    check_no_leakage(split.prefix, targets)  # the proper prefix passes
    with pytest.raises(LeakageError, match="300 of 300 ranker targets"):
        check_no_leakage(data, targets)
    # One leaked target is enough.
    one = targets.events.head(1)
    leaky = split.prefix.with_events(pl.concat([split.prefix.events, one]))
    with pytest.raises(LeakageError, match="1 of 300"):
        check_no_leakage(leaky, targets)


def test_several_targets_per_user_see_their_earlier_targets_and_split_by_user() -> None:
    events = pl.DataFrame(
        {
            "user_id": ["a", "a", "b", "a", "b", "c", "a", "b"],
            "item_id": ["i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"],
            "event_type": ["view"] * 8,
            "timestamp": [1.0, 2.0, 1.0, 3.0, 2.0, 1.0, 4.0, 3.0],
        }
    )
    data = Interactions(events, _catalogue())
    split = split_targets(data, per_user=2)
    # a: i1 i2 | i4 i7; b: i3 | i5 i8 (one event stays); c: i6 stays, no target.
    assert split.prefix.events["item_id"].to_list() == ["i1", "i2", "i3", "i6"]
    targets = split.targets
    assert targets.events.events["item_id"].to_list() == ["i4", "i5", "i7", "i8"]
    hist = targets.cases.histories
    vocab = data.item_vocab
    assert [vocab.ids[i] for i in hist.items_of(2)] == ["i1", "i2", "i4"]  # a's second target
    assert [vocab.ids[i] for i in hist.items_of(1)] == ["i3"]
    assert [vocab.ids[t] for t in targets.cases.targets] == ["i4", "i5", "i7", "i8"]
    check_no_leakage(split.prefix, targets.events)
    for seed in range(5):
        train, hold = split_users(targets.users, 0.5, seed)
        assert len(hold) and len(train)
        users_train = {targets.users[r] for r in train}
        assert users_train.isdisjoint(targets.users[r] for r in hold)


def test_purchase_targets_end_the_prefix_and_later_views_stay_in_the_requests() -> None:
    events = pl.DataFrame(
        {
            "user_id": ["a"] * 6 + ["b"] * 3 + ["c"] * 2,
            "item_id": ["i1", "i2", "i3", "i4", "i5", "i6", "i1", "i2", "i3", "i4", "i5"],
            "event_type": ["view", "purchase", "view", "coupon_redeem", "view", "view"]
            + ["purchase", "view", "view"]
            + ["view", "view"],
            "timestamp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 1.0, 2.0],
        }
    )
    data = Interactions(events, _catalogue())
    split = split_targets(data, per_user=2, types={"purchase"})
    # a: purchases i2 and i4 (with a coupon) are the targets, the prefix ends before i2 and
    # the views after i4 belong to no one; b's only purchase is its first event (it stays); c
    # never buys.
    assert split.targets.events.events["item_id"].to_list() == ["i2", "i4"]
    assert split.prefix.events["item_id"].to_list() == ["i1", "i1", "i2", "i3", "i4", "i5"]
    hist = split.targets.cases.histories
    assert [data.item_vocab.ids[i] for i in hist.items_of(1)] == ["i1", "i2", "i3"]
    check_no_leakage(split.prefix, split.targets.events)
    # Without types the same call takes the last two events of everyone.
    plain = split_targets(data, per_user=2)
    assert plain.targets.events.events["item_id"].to_list() == ["i5", "i6", "i2", "i3", "i5"]
    with pytest.raises(ValidationError, match="target_event_types"):
        RankedConfig(target_event_types=["buy"])


def test_building_a_training_set_from_sources_fit_on_the_targets_fails(
    shop: tuple[Interactions, EvalSet],
) -> None:
    data = shop[0]
    config = _config()
    split = split_targets(data)
    leaky = fit_sources(config.sources, data, FIT, None)  # fit on everything, targets included
    with pytest.raises(LeakageError):
        RankedRecommender(config).training_data(leaky, split.targets)
    honest = fit_sources(config.sources, split.prefix, FIT, None)
    training = RankedRecommender(config).training_data(honest, split.targets)
    assert training.cases == 300
    assert training.data is not None
    assert int(training.data.y.sum()) == training.found == len(training.data.groups)


def test_fit_fails_when_its_sources_are_fit_on_the_full_log(
    shop: tuple[Interactions, EvalSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = shop[0]
    real = ranked_module.fit_sources

    def on_everything(
        sources: Mapping[str, SourceSpec], _: Interactions, *args: Any, **kw: Any
    ) -> FittedSources:
        return real(sources, data, *args, **kw)

    monkeypatch.setattr(ranked_module, "fit_sources", on_everything)
    with pytest.raises(LeakageError):
        RankedRecommender(_config()).fit(data, FIT)


# -- (3) one code path -----------------------------------------------------------------------
def test_online_features_equal_the_batch_rows(shop: tuple[Interactions, EvalSet]) -> None:
    data, cases = shop
    config = _config(
        sources={
            "covisit": SourceSpec(key="covisit", k=20),
            "popularity": SourceSpec(key="popularity", k=10),
            "text": SourceSpec(key="text", k=15),
        },
        refit_sources=False,
    )
    model = RankedRecommender(config)
    model.fit(data, FIT)
    hist = cases.histories.take(np.arange(20))
    batch = model.rank_batch(hist, exclude=history_rows(hist))
    scores = model.score_batch(hist)
    ids = model.item_vocab.ids
    for u in range(len(hist)):
        # Online: the request as the pipeline sees it (a Query), encoded, then the three steps.
        events = zip(
            hist.items_of(u),
            hist.types[hist.offsets[u] : hist.offsets[u + 1]],
            hist.timestamps[hist.offsets[u] : hist.offsets[u + 1]],
            strict=True,
        )
        kinds = {code: name for name, code in EVENT_TYPE_CODES.items()}
        query = Query(
            history=tuple(HistoryEvent(ids[i], kinds[int(c)], float(t)) for i, c, t in events)
        )
        one = model.encode(query)
        cands = model.candidates(one, exclude=history_rows(one))
        feats = model.features(one, cands)
        assert len(cands) == len(feats) == 1
        np.testing.assert_array_equal(cands[0].rows, batch.candidates[u].rows)
        np.testing.assert_array_equal(cands[0].scores, batch.candidates[u].scores)
        np.testing.assert_array_equal(feats[0], batch.features[u])  # bit for bit, NaNs alike
        np.testing.assert_array_equal(model.rank(feats[0]), batch.scores[u])
        # score_batch is the same three steps: its finite entries are exactly these scores.
        np.testing.assert_array_equal(scores[u, cands[0].rows], batch.scores[u])
        assert np.isnan(np.delete(scores[u], cands[0].rows)).all()
    # The text source and features are live, not all-NaN columns that would compare equal.
    names = model.feature_names
    rows = np.concatenate(batch.features)
    for column in ("text_score", "text_sim_recent", "covisit_score", "age_days", "hour"):
        assert np.isfinite(rows[:, names.index(column)]).any(), column


# -- (4) artifacts ---------------------------------------------------------------------------
def test_save_load_round_trip_scores_identically(
    fitted: RankedRecommender, shop: tuple[Interactions, EvalSet], tmp_path: Path
) -> None:
    path = tmp_path / "ranked"
    fitted.save(path)
    meta = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert meta["model"] == "ranked"
    assert {p.name for p in (path / "sources").iterdir()} == {"covisit", "popularity"}
    assert (path / "ranker").is_dir()
    loaded = load_model(path)
    assert isinstance(loaded, RankedRecommender)
    assert loaded.config == fitted.config
    hist = shop[1].histories
    np.testing.assert_array_equal(loaded.score_batch(hist), fitted.score_batch(hist))
    assert loaded.feature_importance() == fitted.feature_importance()
    assert loaded.candidate_recall == fitted.candidate_recall
    assert loaded.item_stats.brand_names == fitted.item_stats.brand_names


def test_registered_under_ranked_and_ranked_deepfm() -> None:
    assert model_class("ranked") is RankedRecommender
    deepfm = create_model("ranked-deepfm")
    assert isinstance(deepfm, RankedRecommender)
    assert deepfm.config.ranker == "deepfm"


# -- (5) the multi-behaviour ablation ----------------------------------------------------------
def test_event_type_features_off_drops_exactly_those_columns() -> None:
    on = RankedRecommender(_config()).feature_names
    off = RankedRecommender(_config(event_type_features=False)).feature_names
    assert set(on) - set(off) == EVENT_TYPE_FEATURES
    assert set(off) < set(on)
    assert [n for n in on if n in off] == list(off)  # same order otherwise


def test_a_source_that_refuses_the_data_is_dropped_and_its_columns_stay(
    shop: tuple[Interactions, EvalSet],
) -> None:
    config = _config(
        sources={
            "ease": SourceSpec(key="ease", params={"max_items": 10}, k=20),
            "popularity": SourceSpec(key="popularity", k=80),
        },
        refit_sources=False,
    )
    model = RankedRecommender(config)
    model.fit(shop[0], FIT)
    assert model.source_names == ("popularity",)
    assert "max_items" in model.dropped_sources["ease"]
    hist = shop[1].histories.take([0])
    feats = model.features(hist, model.candidates(hist))[0]
    names = model.feature_names
    assert np.isnan(feats[:, names.index("ease_score")]).all()
    assert np.isfinite(feats[:, names.index("popularity_score")]).all()


# -- candidates ------------------------------------------------------------------------------
class Fixed:
    """A source that gives every history the same scores."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)

    def score_batch(self, histories: UserSequences) -> np.ndarray:
        return np.tile(self.scores, (len(histories), 1))


def _generator() -> CandidateGenerator:
    nan = np.nan
    return CandidateGenerator(
        {"a": (Fixed([3, 1, 1, 1, nan, 2]), 3), "b": (Fixed([nan, nan, 5, nan, 4, nan]), 1)}, 6
    )


def test_candidates_are_the_union_of_each_sources_top_k_ties_by_row() -> None:
    hist = UserSequences.from_lists([[], [0]])
    first, second = _generator().generate(hist, exclude=[np.zeros(0, np.int64), np.array([0])])
    assert first.source_names == ("a", "b")
    assert first.rows.tolist() == [0, 1, 2, 5]  # a: 0, 5, then 1 of the tied 1, 2, 3; b: 2
    np.testing.assert_array_equal(
        first.scores, [[3, np.nan], [1, np.nan], [np.nan, 5], [2, np.nan]]
    )
    np.testing.assert_array_equal(first.ranks, [[1, np.nan], [3, np.nan], [np.nan, 1], [2, np.nan]])
    assert second.rows.tolist() == [1, 2, 5]  # 0 excluded: the tie yields 1 and 2
    np.testing.assert_array_equal(second.ranks, [[2, np.nan], [3, 1], [1, np.nan]])


def test_only_restricts_the_candidates_and_unscorable_items_never_come() -> None:
    hist = UserSequences.from_lists([[]])
    (got,) = _generator().generate(hist, only=[np.array([2, 3, 4])])
    # a: 2 and 3 (it cannot score 4); b: its top 1 among them is 2, so 4 is nobody's.
    assert got.rows.tolist() == [2, 3]
    np.testing.assert_array_equal(got.ranks, [[1, 1], [2, np.nan]])
    (none,) = _generator().generate(hist, only=[np.zeros(0, np.int64)])
    assert len(none) == 0
