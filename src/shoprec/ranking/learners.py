"""The Learner protocol: a model that scores candidates from their features, trained per list.

Two learners implement it: LightGBM LambdaRank (:mod:`.lambdarank`, the default) and a DeepFM
in PyTorch (:mod:`.deepfm`). Both train on :class:`RankingData` (one group of rows per request,
label 1 on the item the shopper took next) and are saved as plain files, never pickles.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError as PydanticValidationError

from shoprec.errors import ArtifactError, ConfigError

Matrix = npt.NDArray[np.float32]

#: The file that marks a learner directory (config, feature names, kind, schema version).
META_FILE = "learner.json"

#: Learner kind -> (module, class name); modules are imported on first use (torch stays out).
LEARNERS: dict[str, tuple[str, str]] = {
    "lambdarank": ("shoprec.ranking.lambdarank", "LambdaRankLearner"),
    "deepfm": ("shoprec.ranking.deepfm", "DeepFMLearner"),
}


@dataclass(frozen=True)
class RankingData:
    """Rows of candidate features grouped by request.

    Attributes:
        x: ``(N, F)`` features; NaN marks a missing value (e.g. a source that did not propose
            the candidate).
        y: ``(N,)`` relevance labels (1 for the item taken next, else 0).
        groups: Sizes of the consecutive row groups, one per request (sums to ``N``).
        feature_names: ``F`` names, in column order.
        categorical: Indices of the columns that hold category codes (small non-negative ints).
    """

    x: Matrix
    y: npt.NDArray[np.float32]
    groups: npt.NDArray[np.int64]
    feature_names: tuple[str, ...]
    categorical: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.x.shape[1] != len(self.feature_names):
            raise ConfigError(
                f"RankingData: x has shape {self.x.shape}, expected (N, {len(self.feature_names)})"
            )
        if len(self.y) != len(self.x) or int(self.groups.sum()) != len(self.x):
            raise ConfigError("RankingData: labels and group sizes must cover every row")


@runtime_checkable
class Learner(Protocol):
    """Scores candidate rows; higher is better within a request."""

    def fit(self, train: RankingData, valid: RankingData | None, seed: int = 0) -> None:
        """Train on ``train``; stop early on ``valid`` when given."""

    def predict(self, x: Matrix) -> Matrix:
        """``(C,)`` scores for ``(C, F)`` feature rows."""

    def contributions(self, x: Matrix) -> Matrix:
        """``(C, F)``: how much each feature pushed each row's score up (or down)."""

    def importance(self) -> npt.NDArray[np.float64]:
        """``(F,)`` non-negative importance per feature, summing to 1 (0s when untrained)."""

    def save(self, path: Path) -> None:
        """Write the learner into the directory ``path``."""

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a learner written by :meth:`save`."""


def write_learner_meta(
    path: Path, kind: str, schema_version: int, learner: Any, **state: Any
) -> None:
    """Write ``learner.json``: kind, schema version, config, feature layout and ``state``.

    Written last by a learner's ``save``: its presence marks a complete artifact.
    """
    meta = {
        "schema_version": schema_version,
        "kind": kind,
        "config": learner.config.model_dump(mode="json"),
        "feature_names": list(learner.feature_names),
        "categorical": list(learner.categorical),
        **state,
    }
    (path / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")


def read_learner_meta(path: Path, kind: str, schema_version: int) -> dict[str, Any]:
    """Read and check a learner's ``learner.json`` (exists, parses, right kind and version).

    Raises:
        ArtifactError: When it is missing, corrupt, of another kind or another schema version.
    """
    file = path / META_FILE
    if not file.is_file():
        raise ArtifactError(f"{path}: not a learner directory (no {META_FILE})")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{file}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "config" not in meta or "feature_names" not in meta:
        raise ArtifactError(f"{file}: missing 'config' or 'feature_names'")
    if meta.get("kind") != kind:
        raise ArtifactError(f"{file}: holds a {meta.get('kind')!r} learner, not {kind!r}")
    if meta.get("schema_version") != schema_version:
        raise ArtifactError(
            f"{file}: schema_version {meta.get('schema_version')!r}, expected {schema_version}"
        )
    return meta


def learner_class(kind: str) -> type[Learner]:
    """The class of a learner kind (``"lambdarank"`` or ``"deepfm"``)."""
    if kind not in LEARNERS:
        raise ConfigError(f"unknown ranker {kind!r}; known: {', '.join(LEARNERS)}")
    module, name = LEARNERS[kind]
    cls: type[Learner] = getattr(importlib.import_module(module), name)
    return cls


def create_learner(kind: str, params: dict[str, Any] | None = None) -> Learner:
    """An untrained learner of ``kind`` with ``params`` (its config's fields)."""
    cls: Any = learner_class(kind)
    try:
        config = cls.config_cls.model_validate(params or {})
    except PydanticValidationError as exc:
        raise ConfigError(f"ranker {kind!r}: invalid parameters: {exc}") from exc
    return cls(config)  # type: ignore[no-any-return]
