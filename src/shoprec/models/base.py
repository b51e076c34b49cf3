"""The Recommender protocol every model implements, and the base class with the shared parts.

A model scores the *whole* catalogue for a batch of histories (``score_batch``); everything
else (single queries, top-K with exclusions, similar items, artifacts) is built on that here,
once, so each model only writes what is specific to it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import ValidationError as PydanticValidationError
from safetensors.numpy import load_file, save_file

from shoprec.data import IdVocab, Interactions, UserSequences
from shoprec.errors import ArtifactError, DataError, NotFittedError
from shoprec.types import MODEL_EVENT_CODES, Candidates, ItemId, Query, top_indices

from .config import BaseConfig, FitOptions

#: Bumped when the artifact layout changes incompatibly.
SCHEMA_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
ITEMS_FILE = "items.json"

Scores = npt.NDArray[np.float32]


@runtime_checkable
class Recommender(Protocol):
    """What every shoprec model offers (see ``STYLE.md``)."""

    key: ClassVar[str]
    config: BaseConfig
    item_vocab: IdVocab

    def fit(self, data: Interactions, opts: FitOptions = ...) -> None:
        """Train on an interaction log."""

    def is_fitted(self) -> bool:
        """Whether the model can score."""

    def score_batch(self, histories: UserSequences) -> Scores:
        """Scores ``(B, n_items)`` over the whole catalogue; ``NaN`` where it cannot score."""

    def score(self, query: Query, items: Candidates | None = None) -> Candidates:
        """Score one query over ``items`` (the whole catalogue when ``None``)."""

    def save(self, path: Path) -> None:
        """Write the model as an artifact directory."""

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an artifact directory written by ``save``."""


@runtime_checkable
class EmbeddingModel(Protocol):
    """A model that scores an item as ``query vector · item vector`` and nothing more.

    Such a model can answer "the top k of the catalogue" from a vector index without scoring
    every item (see ``shoprec.retrieval.VectorIndex``).
    """

    def item_embeddings(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """Item vectors ``(N, D)`` and which items the model can score ``(N,)``."""

    def query_embeddings(self, histories: UserSequences) -> npt.NDArray[np.float32]:
        """One vector per history ``(B, D)``; its products with the items are ``score_batch``."""


class BaseRecommender(ABC):
    """Shared machinery: query encoding, ranking with exclusions, similar items and artifacts.

    Subclasses set ``key`` and ``config_cls``, implement ``fit``, ``score_batch`` and the two
    array hooks ``_arrays``/``_from_arrays`` (what to persist besides config and vocabulary).
    """

    key: ClassVar[str]
    config_cls: ClassVar[type[BaseConfig]]

    def __init__(self, config: BaseConfig | None = None) -> None:
        self.config = config if config is not None else self.config_cls()
        if not isinstance(self.config, self.config_cls):
            raise TypeError(f"{type(self).__name__} needs a {self.config_cls.__name__}")
        self.item_vocab = IdVocab()
        self._fitted = False

    # -- training --------------------------------------------------------------------------
    @abstractmethod
    def fit(self, data: Interactions, opts: FitOptions = FitOptions()) -> None:
        """Train on an interaction log (sets ``item_vocab`` to the data's vocabulary)."""

    def is_fitted(self) -> bool:
        """Whether the model can score."""
        return self._fitted

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() or load()")

    # -- scoring ---------------------------------------------------------------------------
    @abstractmethod
    def score_batch(self, histories: UserSequences) -> Scores:
        """Scores ``(B, n_items)`` over the whole catalogue; ``NaN`` where it cannot score."""

    def encode(self, query: Query) -> UserSequences:
        """A query as a one-row history in this model's item indices (unknown items dropped)."""
        pairs = [
            (idx, MODEL_EVENT_CODES.get(e.event_type, 0), e.timestamp or 0.0)
            for e in query.history
            if (idx := self.item_vocab.index_of(e.item_id)) is not None
        ]
        seqs = UserSequences.from_lists(
            [[p[0] for p in pairs]], [query.user_id or ""], [[p[1] for p in pairs]]
        )
        seqs.timestamps[:] = [p[2] for p in pairs]
        return seqs

    def score(self, query: Query, items: Candidates | None = None) -> Candidates:
        """Score one query over ``items`` (whole catalogue when ``None``); unknown items get NaN."""
        self._require_fitted()
        scores = self.score_batch(self.encode(query))[0]
        if items is None:
            return Candidates(tuple(self.item_vocab.ids), scores)
        idx = self.item_vocab.lookup(items.item_ids)
        picked = np.where(idx >= 0, scores[np.maximum(idx, 0)], np.nan).astype(np.float32)
        return Candidates(items.item_ids, picked)

    def top_k(self, query: Query, k: int, exclude: Iterable[ItemId] = ()) -> Candidates:
        """The ``k`` best-scored items for one query, ``exclude`` left out (unknown ids ignored).

        Straight from the score row: only the ``k`` winners become ids, not the catalogue.
        """
        self._require_fitted()
        scores = np.array(self.score_batch(self.encode(query))[0], dtype=np.float32)  # a copy
        skip = self.item_vocab.lookup(exclude)
        scores[skip[skip >= 0]] = np.nan
        rows = top_indices(scores, k)
        ids = self.item_vocab.ids
        return Candidates(tuple(ids[r] for r in rows), scores[rows])

    def recommend(self, query: Query, k: int = 10, exclude_seen: bool = True) -> Candidates:
        """Top ``k`` items for a query, excluding the history's items unless told otherwise."""
        return self.top_k(query, k, query.history_items if exclude_seen else ())

    def similar_items(self, item_id: str, k: int = 10) -> Candidates:
        """Items most related to ``item_id`` (itself excluded); empty for an unknown item."""
        return self.recommend(Query.from_items([item_id]), k)

    # -- artifacts -------------------------------------------------------------------------
    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Arrays to persist (besides config and vocabulary)."""
        return {}

    def _from_arrays(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        """Restore state from the arrays written by ``_arrays``."""

    def _extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state to persist beside the config (e.g. fitted scalars)."""
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` returned."""

    def save(self, path: Path) -> None:
        """Write ``config.json`` (schema version, key, config), the weights and the item vocab."""
        self._require_fitted()
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "schema_version": SCHEMA_VERSION,
            "model": self.key,
            "config": self.config.model_dump(mode="json"),
            "state": self._extra_state(),
        }
        arrays = {k: np.ascontiguousarray(v) for k, v in self._arrays().items()}
        save_file(arrays, str(path / WEIGHTS_FILE))
        self.item_vocab.save(path / ITEMS_FILE)
        # config.json last: its presence marks a complete artifact.
        (path / CONFIG_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an artifact directory written by :meth:`save`."""
        meta = read_artifact_meta(path)
        if meta["model"] != cls.key:
            raise ArtifactError(f"{path}: holds a {meta['model']!r} model, not {cls.key!r}")
        try:
            config = cls.config_cls.model_validate(meta["config"])
        except PydanticValidationError as exc:
            raise ArtifactError(f"{path}/{CONFIG_FILE}: invalid config: {exc}") from exc
        model = cls(config)
        model.item_vocab = IdVocab.load(path / ITEMS_FILE)
        model._from_arrays(load_file(str(path / WEIGHTS_FILE)))
        model._load_extra_state(meta.get("state", {}))
        model._fitted = True
        return model


@runtime_checkable
class GrowsCatalogue(Protocol):
    """A fitted model that learns new items from their text (and catalogue row) without a refit."""

    def add_items(
        self,
        item_ids: Sequence[ItemId],
        texts: Sequence[str],
        catalogue: pl.DataFrame | None = None,
    ) -> None:
        """Add items so they can be scored at once.

        Args:
            item_ids: The items; those already known are left as they are.
            texts: Their encoder texts (title, brand, category, description).
            catalogue: Their catalogue rows (``ITEM_SCHEMA``), for a model that reads price,
                stock, category or brand (the learned ranker); text-only models ignore it.
        """


def new_items(
    vocab: IdVocab, item_ids: Sequence[ItemId], texts: Sequence[str]
) -> dict[ItemId, str]:
    """The items of an ``add_items`` call not yet in ``vocab`` (first text of each), in order.

    Raises:
        DataError: When ``item_ids`` and ``texts`` differ in length.
    """
    if len(item_ids) != len(texts):
        raise DataError(f"add_items: {len(item_ids)} item ids but {len(texts)} texts")
    fresh: dict[ItemId, str] = {}
    for item, text in zip(item_ids, texts, strict=True):
        if item not in vocab and item not in fresh:
            fresh[item] = text
    return fresh


def read_artifact_meta(path: Path) -> dict[str, Any]:
    """Read and check an artifact's ``config.json`` (exists, parses, known schema version)."""
    file = path / CONFIG_FILE
    if not file.is_file():
        raise ArtifactError(f"{path}: not a model directory (no {CONFIG_FILE})")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{file}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "model" not in meta or "config" not in meta:
        raise ArtifactError(f"{file}: missing 'model' or 'config'")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(
            f"{file}: schema_version {meta.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    return meta
