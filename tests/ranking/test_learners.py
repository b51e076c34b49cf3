from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shoprec.errors import ArtifactError, ConfigError, DataError, NotFittedError
from shoprec.ranking.learners import Learner, RankingData, create_learner

ROWS = 20
NAMES = ("noise_a", "same_brand_last", "noise_b", "scenario", "noise_c", "noise_d")
SIGNAL = NAMES.index("same_brand_last")
CATEGORICAL = (NAMES.index("scenario"),)

#: Small, fast settings: the planted signal is easy, the defaults are sized for real data.
PARAMS: dict[str, dict[str, Any]] = {
    "lambdarank": {"n_estimators": 40, "min_child_samples": 5, "n_threads": 1},
    "deepfm": {
        "max_epochs": 8,
        "lr": 1e-2,
        "batch_groups": 32,
        "hidden": (16,),
        "embed_dim": 4,
        "n_threads": 1,
    },
}
KINDS = [
    pytest.param("lambdarank", id="lambdarank"),
    pytest.param("deepfm", id="deepfm", marks=pytest.mark.torch),
]


def planted(n_groups: int, seed: int) -> RankingData:
    """Groups in which exactly one row has ``same_brand_last`` = 1, and that row is the target."""
    rng = np.random.default_rng(seed)
    n = n_groups * ROWS
    x = rng.normal(size=(n, len(NAMES))).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:, CATEGORICAL[0]] = rng.integers(0, 4, size=n)
    hit = np.arange(n_groups) * ROWS + rng.integers(0, ROWS, size=n_groups)
    x[:, SIGNAL] = 0.0
    x[hit, SIGNAL] = 1.0
    y = x[:, SIGNAL].astype(np.float32)
    return RankingData(x, y, np.full(n_groups, ROWS, dtype=np.int64), NAMES, CATEGORICAL)


def ndcg10(scores: np.ndarray, data: RankingData) -> float:
    """Mean NDCG@10 with one relevant row per group (ties broken against the target)."""
    out = []
    for g in range(len(data.groups)):
        s = scores[g * ROWS : (g + 1) * ROWS]
        target = int(np.argmax(data.y[g * ROWS : (g + 1) * ROWS]))
        rank = int((s >= s[target]).sum())  # 1-based, pessimistic on ties
        out.append(1.0 / np.log2(rank + 1) if rank <= 10 else 0.0)
    return float(np.mean(out))


def make(kind: str, **extra: Any) -> Learner:
    if kind == "deepfm":
        pytest.importorskip("torch")
    return create_learner(kind, {**PARAMS[kind], **extra})


@pytest.fixture(scope="module", params=KINDS)
def fitted(request: pytest.FixtureRequest) -> tuple[str, Learner]:
    kind: str = request.param
    learner = make(kind)
    learner.fit(planted(300, seed=1), planted(60, seed=2), seed=0)
    return kind, learner


def test_planted_signal_is_learned_and_dominates(fitted: tuple[str, Learner]) -> None:
    _, learner = fitted
    fresh = planted(100, seed=3)
    assert ndcg10(learner.predict(fresh.x), fresh) >= 0.9
    importance = learner.importance()
    assert importance.shape == (len(NAMES),)
    assert importance.min() >= 0
    assert importance.sum() == pytest.approx(1.0)
    assert int(np.argmax(importance)) == SIGNAL
    contrib = learner.contributions(fresh.x)
    assert contrib.shape == fresh.x.shape
    assert contrib.dtype == np.float32
    on_target = fresh.y == 1
    assert contrib[on_target, SIGNAL].mean() > contrib[~on_target, SIGNAL].mean() + 0.1


def test_predict_shape_dtype_and_missing_values(fitted: tuple[str, Learner]) -> None:
    _, learner = fitted
    x = planted(5, seed=4).x
    scores = learner.predict(x)
    assert scores.shape == (len(x),)
    assert scores.dtype == np.float32
    assert np.isfinite(scores).all()
    x_nan = x.copy()
    x_nan[:, [0, 2, 3]] = np.nan  # numeric and categorical columns all missing
    x_nan[0, CATEGORICAL[0]] = 99  # a category never seen in training
    assert np.isfinite(learner.predict(x_nan)).all()
    assert np.isfinite(learner.contributions(x_nan)).all()
    assert learner.predict(x[:0]).shape == (0,)


def test_wrong_feature_count_is_a_data_error(fitted: tuple[str, Learner]) -> None:
    _, learner = fitted
    with pytest.raises(DataError):
        learner.predict(np.zeros((3, len(NAMES) + 1), dtype=np.float32))


def test_save_load_round_trip(fitted: tuple[str, Learner], tmp_path: Path) -> None:
    kind, learner = fitted
    learner.save(tmp_path / "ranker")
    loaded = type(learner).load(tmp_path / "ranker")
    x = planted(20, seed=5).x
    np.testing.assert_array_equal(loaded.predict(x), learner.predict(x))
    np.testing.assert_allclose(loaded.contributions(x), learner.contributions(x), atol=1e-6)
    np.testing.assert_array_equal(loaded.importance(), learner.importance())
    assert not list((tmp_path / "ranker").glob("*.pkl"))
    expected = {"lambdarank": "model.txt", "deepfm": "weights.safetensors"}[kind]
    assert (tmp_path / "ranker" / expected).is_file()


def test_load_rejects_a_broken_or_foreign_artifact(
    fitted: tuple[str, Learner], tmp_path: Path
) -> None:
    kind, learner = fitted
    with pytest.raises(ArtifactError):
        type(learner).load(tmp_path / "missing")
    other = "deepfm" if kind == "lambdarank" else "lambdarank"
    learner.save(tmp_path / "a")
    meta = tmp_path / "a" / "learner.json"
    meta.write_text(meta.read_text().replace(f'"{kind}"', f'"{other}"'))
    with pytest.raises(ArtifactError):
        type(learner).load(tmp_path / "a")
    meta.write_text("{not json")
    with pytest.raises(ArtifactError):
        type(learner).load(tmp_path / "a")


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_model(kind: str) -> None:
    train, valid = planted(60, seed=6), planted(20, seed=7)
    extra = {"max_epochs": 2} if kind == "deepfm" else {}
    first, second = make(kind, **extra), make(kind, **extra)
    first.fit(train, valid, seed=3)
    second.fit(train, valid, seed=3)
    np.testing.assert_array_equal(first.predict(valid.x), second.predict(valid.x))


@pytest.mark.parametrize("kind", KINDS)
def test_fits_without_validation_data(kind: str) -> None:
    learner = make(kind, **({"max_epochs": 2} if kind == "deepfm" else {"n_estimators": 5}))
    data = planted(40, seed=8)
    learner.fit(data, None, seed=0)
    assert learner.predict(data.x).shape == (len(data.x),)
    assert learner.importance().sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_unfitted_learner_raises(kind: str, tmp_path: Path) -> None:
    learner = make(kind)
    x = np.zeros((3, len(NAMES)), dtype=np.float32)
    with pytest.raises(NotFittedError):
        learner.predict(x)
    with pytest.raises(NotFittedError):
        learner.contributions(x)
    with pytest.raises(NotFittedError):
        learner.save(tmp_path)
    assert learner.importance().sum() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_validation_data_must_have_the_same_features(kind: str) -> None:
    train = planted(10, seed=9)
    renamed = RankingData(train.x, train.y, train.groups, (*NAMES[:-1], "other"), CATEGORICAL)
    with pytest.raises(DataError):
        make(kind).fit(train, renamed, seed=0)


def test_create_learner_reads_params_and_rejects_unknown_kinds() -> None:
    learner = create_learner("lambdarank", {"n_estimators": 7})
    assert learner.config.n_estimators == 7  # type: ignore[attr-defined]
    assert isinstance(learner, Learner)
    with pytest.raises(ConfigError, match="unknown ranker"):
        create_learner("xgboost", {})


def test_ranking_data_validation() -> None:
    x = np.zeros((4, 2), dtype=np.float32)
    y = np.zeros(4, dtype=np.float32)
    groups = np.array([2, 2], dtype=np.int64)
    RankingData(x, y, groups, ("a", "b"))
    with pytest.raises(ConfigError, match="shape"):
        RankingData(x, y, groups, ("a",))
    with pytest.raises(ConfigError, match="shape"):
        RankingData(x[0], y, groups, ("a", "b"))
    with pytest.raises(ConfigError, match="cover"):
        RankingData(x, y[:3], groups, ("a", "b"))
    with pytest.raises(ConfigError, match="cover"):
        RankingData(x, y, np.array([2, 3], dtype=np.int64), ("a", "b"))


def test_lambdarank_path_contributions_add_up_to_the_score() -> None:
    learner = make("lambdarank", n_estimators=20, contribution_method="path")
    train = planted(100, seed=10)
    learner.fit(train, None, seed=0)
    fresh = planted(20, seed=11)
    contrib = learner.contributions(fresh.x)
    assert contrib.shape == fresh.x.shape
    assert contrib.dtype == np.float32
    rest = learner.predict(fresh.x) - contrib.sum(axis=1)
    np.testing.assert_allclose(rest, rest[0], atol=1e-4)  # the root values: one constant
    on_target = fresh.y == 1
    assert contrib[on_target, SIGNAL].mean() > contrib[~on_target, SIGNAL].mean() + 0.1


@pytest.mark.torch
@pytest.mark.parametrize("hidden", [(16, 8), ()])
def test_deepfm_folded_scoring_matches_the_network(hidden: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    learner: Any = make("deepfm", max_epochs=1, hidden=hidden)
    learner.fit(planted(40, seed=12), None, seed=0)
    x = planted(10, seed=13).x
    x[0, CATEGORICAL[0]] = 42  # the reserved unknown code
    values, codes = learner._encode(x)
    with torch.no_grad():
        expected = learner._net(torch.from_numpy(values), torch.from_numpy(codes)).numpy()
    np.testing.assert_allclose(learner.predict(x), expected, rtol=1e-4, atol=1e-5)


def test_lambdarank_compiled_trees_score_a_request_as_lightgbm_does(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("lleaves")
    from shoprec.ranking.lambdarank import LambdaRankLearner

    learner = make("lambdarank")
    learner.fit(planted(200, seed=12), None, seed=0)
    assert isinstance(learner, LambdaRankLearner)
    request = planted(10, seed=13).x  # 200 rows: NaNs, a categorical column
    compiled = learner._compiled_trees()
    assert compiled is not None
    lightgbm = learner._require_booster().predict(request, num_threads=1)
    np.testing.assert_allclose(learner.predict(request), lightgbm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(compiled.predict(request.astype(np.float64)), lightgbm, atol=1e-9)

    # Off, or failing to compile: LightGBM scores, with the same result.
    off = make("lambdarank", compiled=False)
    off.fit(planted(200, seed=12), None, seed=0)
    np.testing.assert_array_equal(off.predict(request), learner.predict(request))

    import lleaves

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("no LLVM here")

    monkeypatch.setattr(lleaves, "Model", broken)
    failing = make("lambdarank")
    failing.fit(planted(200, seed=12), None, seed=0)
    np.testing.assert_array_equal(failing.predict(request), learner.predict(request))
    assert "compiling the ranker's trees failed (no LLVM here)" in caplog.text
