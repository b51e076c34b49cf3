"""LightGBM LambdaRank: the default learner of the ranking stage.

Gradient-boosted trees trained with the ``lambdarank`` objective on the groups of a
:class:`~shoprec.ranking.learners.RankingData`, early-stopped on the validation groups' NDCG@10.
Missing values (NaN) and categorical columns are handled by LightGBM itself.

Artifacts are a directory with ``model.txt`` (LightGBM's own text format) and ``learner.json``
(schema version, config, feature names, categorical columns); never a pickle.

Prediction sits on the request path (about 200 candidates per request), so small inputs are
scored on one thread: LightGBM's OpenMP start-up costs more than it saves on a few hundred rows.
Its cost grows with the number of trees (each row walks every tree), and exact TreeSHAP
contributions cost far more than a prediction; ``contribution_method="path"`` gives the cheap
path attribution instead (see :meth:`LambdaRankLearner.contributions`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from shoprec.errors import ArtifactError, DataError, NotFittedError
from shoprec.models import BaseConfig

from .compiled_trees import CompiledTrees, compile_trees
from .learners import META_FILE, Matrix, RankingData, read_learner_meta, write_learner_meta

KIND = "lambdarank"
SCHEMA_VERSION = 1
MODEL_FILE = "model.txt"
#: Inputs with at most this many rows are scored on one thread (the request path).
SINGLE_THREAD_ROWS = 4096


class LambdaRankConfig(BaseConfig):
    """Hyperparameters of the LightGBM LambdaRank learner."""

    n_estimators: int = Field(default=400, ge=1)
    """Maximum number of boosting rounds (trees); early stopping usually ends sooner."""

    learning_rate: float = Field(default=0.05, gt=0)
    """Shrinkage applied to each tree."""

    num_leaves: int = Field(default=31, ge=2)
    """Maximum leaves per tree."""

    min_child_samples: int = Field(default=50, ge=1)
    """Minimum rows in a leaf (LightGBM's ``min_data_in_leaf``)."""

    feature_fraction: float = Field(default=0.9, gt=0, le=1)
    """Share of the features each tree may split on."""

    bagging_fraction: float = Field(default=0.8, gt=0, le=1)
    """Share of the rows each tree is trained on (with ``bagging_freq`` > 0)."""

    bagging_freq: int = Field(default=1, ge=0)
    """Re-draw the bagged rows every this many trees (0: no bagging)."""

    lambdarank_truncation_level: int = Field(default=20, ge=1)
    """Only pairs involving the top this many rows of a group drive the gradients."""

    early_stopping_rounds: int = Field(default=30, ge=1)
    """Stop when validation NDCG has not improved for this many rounds."""

    n_threads: int = Field(default=0, ge=0)
    """Training threads (0: LightGBM's default, all cores). Small predictions use one thread."""

    eval_at: int = Field(default=10, ge=1)
    """Cut-off of the validation NDCG used for early stopping."""

    compiled: bool = True
    """Score single requests (up to ``SINGLE_THREAD_ROWS`` rows) with the trees compiled to
    native code by lleaves (:mod:`.compiled_trees`): about 25x faster than LightGBM's own
    predictor, the same scores; compiled once, on the first such prediction."""

    contribution_method: Literal["shap", "path"] = "path"
    """How :meth:`LambdaRankLearner.contributions` attributes a score: ``"shap"`` (exact
    TreeSHAP, tens of ms for 10 rows of a 400-tree model) or ``"path"`` (the value changes along
    each row's decision path, about the cost of a prediction)."""


class LambdaRankLearner:
    """Gradient-boosted trees ranking each request's candidates (LightGBM ``lambdarank``)."""

    config_cls: ClassVar[type[LambdaRankConfig]] = LambdaRankConfig

    def __init__(self, config: LambdaRankConfig | None = None) -> None:
        self.config = config or LambdaRankConfig()
        self.feature_names: tuple[str, ...] = ()
        self.categorical: tuple[int, ...] = ()
        self.best_iteration = 0
        self._booster: lgb.Booster | None = None
        self._paths: npt.NDArray[np.float32] | None = None  # (T, L, F) path attributions
        self._compiled: CompiledTrees | None | Literal[False] = None  # False: not possible
        self._compile_lock = threading.Lock()

    # -- training ----------------------------------------------------------------------------
    def _params(self, seed: int) -> dict[str, Any]:
        c = self.config
        return {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [c.eval_at],
            "learning_rate": c.learning_rate,
            "num_leaves": c.num_leaves,
            "min_data_in_leaf": c.min_child_samples,
            "feature_fraction": c.feature_fraction,
            "bagging_fraction": c.bagging_fraction,
            "bagging_freq": c.bagging_freq,
            "lambdarank_truncation_level": c.lambdarank_truncation_level,
            "num_threads": c.n_threads,
            "deterministic": True,
            "force_row_wise": True,
            "seed": seed,
            "verbosity": -1,
        }

    def _dataset(self, data: RankingData, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        keep = data.groups > 0
        return lgb.Dataset(
            np.ascontiguousarray(data.x, dtype=np.float32),
            label=np.asarray(data.y, dtype=np.float32),
            group=data.groups[keep],
            feature_name=list(data.feature_names),
            categorical_feature=list(data.categorical),
            reference=reference,
            free_raw_data=True,
        )

    def fit(self, train: RankingData, valid: RankingData | None, seed: int = 0) -> None:
        """Train on ``train``; stop early on ``valid``'s NDCG when given.

        Without ``valid`` (or when it has no relevant row) all ``n_estimators`` trees are grown.

        Raises:
            DataError: When ``valid`` has other features than ``train``.
        """
        if valid is not None and (
            valid.feature_names != train.feature_names or valid.categorical != train.categorical
        ):
            raise DataError("LambdaRank: validation data has other features than training data")
        train_set = self._dataset(train)
        valid_sets: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        if valid is not None and (valid.y > 0).any():
            valid_sets.append(self._dataset(valid, reference=train_set))
            callbacks.append(lgb.early_stopping(self.config.early_stopping_rounds, verbose=False))
        booster = lgb.train(
            self._params(seed),
            train_set,
            num_boost_round=self.config.n_estimators,
            valid_sets=valid_sets,
            valid_names=["valid"] if valid_sets else None,
            callbacks=callbacks,
        )
        self.best_iteration = booster.best_iteration or booster.current_iteration()
        # Keep the best trees only, as a fresh booster: a fitted and a loaded learner are alike.
        self._booster = lgb.Booster(model_str=booster.model_to_string())
        self._paths = None
        self._compiled = None
        self.feature_names = train.feature_names
        self.categorical = train.categorical

    # -- scoring -----------------------------------------------------------------------------
    def _require_booster(self) -> lgb.Booster:
        if self._booster is None:
            raise NotFittedError("LambdaRank learner is not fitted; call fit() or load()")
        return self._booster

    def _input(self, x: Matrix) -> Matrix:
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            n = len(self.feature_names)
            raise DataError(f"LambdaRank: features have shape {x.shape}, expected (C, {n})")
        return np.ascontiguousarray(x, dtype=np.float32)

    def _threads(self, rows: int) -> int:
        return 1 if rows <= SINGLE_THREAD_ROWS else self.config.n_threads

    def predict(self, x: Matrix) -> Matrix:
        """``(C,)`` scores for ``(C, F)`` feature rows (higher ranks first)."""
        booster = self._require_booster()
        x = self._input(x)
        if not len(x):
            return np.zeros(0, dtype=np.float32)
        compiled = self._compiled_trees() if len(x) <= SINGLE_THREAD_ROWS else None
        if compiled is not None:
            return np.asarray(compiled.predict(x.astype(np.float64), n_jobs=1), dtype=np.float32)
        out = booster.predict(x, num_threads=self._threads(len(x)))
        return np.asarray(out, dtype=np.float32)

    def _compiled_trees(self) -> CompiledTrees | None:
        """The compiled trees (built on first use), or ``None`` when off or not possible."""
        if not self.config.compiled:
            return None
        if self._compiled is None:
            with self._compile_lock:
                if self._compiled is None:
                    self._compiled = compile_trees(self._require_booster()) or False
        return self._compiled or None

    def contributions(self, x: Matrix) -> Matrix:
        """``(C, F)`` per-feature contributions; they sum to the score less a constant.

        With ``contribution_method="shap"``: exact SHAP values (TreeSHAP, ``pred_contrib``, the
        bias column dropped). With ``"path"``: Saabas path attribution, i.e. for every tree the
        change of the node value at each split on the row's path, credited to the split's
        feature; nearly as cheap as a prediction but not consistent the way SHAP is.
        """
        booster = self._require_booster()
        x = self._input(x)
        if not len(x):
            return np.zeros((0, len(self.feature_names)), dtype=np.float32)
        threads = self._threads(len(x))
        if self.config.contribution_method == "path":
            if self._paths is None:
                self._paths = path_attributions(booster, len(self.feature_names))
            leaves = np.asarray(booster.predict(x, pred_leaf=True, num_threads=threads))
            leaves = leaves.reshape(len(x), -1).astype(np.int64)  # (C, T)
            trees = np.arange(leaves.shape[1])
            out: Matrix = self._paths[trees, leaves].sum(axis=1, dtype=np.float32)
            return out
        shap = booster.predict(x, pred_contrib=True, num_threads=threads)
        return np.asarray(shap, dtype=np.float32)[:, :-1]

    def importance(self) -> npt.NDArray[np.float64]:
        """``(F,)`` total split gain per feature, normalised to sum 1 (0s when untrained)."""
        if self._booster is None:
            return np.zeros(len(self.feature_names))
        gain = np.asarray(self._booster.feature_importance("gain"), dtype=np.float64)
        total = gain.sum()
        return gain / total if total > 0 else np.zeros_like(gain)

    # -- artifacts ---------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write ``model.txt`` (LightGBM text) and ``learner.json`` into the directory ``path``."""
        booster = self._require_booster()
        path.mkdir(parents=True, exist_ok=True)
        booster.save_model(str(path / MODEL_FILE))
        write_learner_meta(path, KIND, SCHEMA_VERSION, self, best_iteration=self.best_iteration)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a learner written by :meth:`save`.

        Raises:
            ArtifactError: When the directory is not a complete, compatible LambdaRank artifact.
        """
        meta = read_learner_meta(path, KIND, SCHEMA_VERSION)
        try:
            config = cls.config_cls.model_validate(meta["config"])
        except PydanticValidationError as exc:
            raise ArtifactError(f"{path / META_FILE}: invalid config: {exc}") from exc
        learner = cls(config)
        try:
            learner._booster = lgb.Booster(model_file=str(path / MODEL_FILE))
        except lgb.basic.LightGBMError as exc:
            raise ArtifactError(f"{path / MODEL_FILE}: cannot be read: {exc}") from exc
        learner.feature_names = tuple(meta["feature_names"])
        learner.categorical = tuple(int(i) for i in meta["categorical"])
        learner.best_iteration = int(meta.get("best_iteration", 0))
        if learner._booster.num_feature() != len(learner.feature_names):
            raise ArtifactError(f"{path}: model and learner.json disagree on the features")
        return learner


def path_attributions(booster: lgb.Booster, n_features: int) -> npt.NDArray[np.float32]:
    """``(T, L, F)``: per tree and leaf, the value changes along the path credited to features.

    Summed over the trees for each row's leaves, this is the row's score less the sum of the
    root values (up to the precision LightGBM keeps node values with).
    """
    trees = booster.dump_model()["tree_info"]
    n_leaves = max(int(t.get("num_leaves", 1)) for t in trees) if trees else 1
    table = np.zeros((len(trees), n_leaves, n_features), dtype=np.float64)
    for t, info in enumerate(trees):
        stack: list[tuple[dict[str, Any], npt.NDArray[np.float64]]] = [
            (info["tree_structure"], np.zeros(n_features))
        ]
        while stack:
            node, acc = stack.pop()
            if "split_feature" not in node:
                table[t, int(node.get("leaf_index", 0))] = acc
                continue
            for side in ("left_child", "right_child"):
                child = node[side]
                value = child.get("internal_value", child.get("leaf_value", 0.0))
                step = acc.copy()
                step[int(node["split_feature"])] += value - node["internal_value"]
                stack.append((child, step))
    return table.astype(np.float32)
