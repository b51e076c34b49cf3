"""Id vocabularies: external string ids <-> dense internal integers, growing as ids arrive."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt


class IdVocab:
    """A growing, order-preserving map from string ids to dense integers ``0..n-1``.

    Indices never change once assigned, so arrays indexed by them stay valid as the
    vocabulary grows (a model trained on the first ``n`` items keeps its rows).
    """

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self.add(ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    @property
    def ids(self) -> list[str]:
        """The ids in index order (do not mutate)."""
        return self._ids

    def add(self, ids: Iterable[str]) -> npt.NDArray[np.int64]:
        """Add ids not seen before; return the index of every given id."""
        out = []
        for i in ids:
            idx = self._index.get(i)
            if idx is None:
                idx = len(self._ids)
                self._index[i] = idx
                self._ids.append(i)
            out.append(idx)
        return np.asarray(out, dtype=np.int64)

    def lookup(self, ids: Iterable[str]) -> npt.NDArray[np.int64]:
        """Indices of ``ids``; ``-1`` for ids not in the vocabulary."""
        get = self._index.get
        return np.asarray([get(i, -1) for i in ids], dtype=np.int64)

    def index_of(self, item_id: str) -> int | None:
        """Index of one id, or ``None`` when unknown."""
        return self._index.get(item_id)

    def save(self, path: Path) -> None:
        """Write the vocabulary as a JSON list (index order)."""
        path.write_text(json.dumps(self._ids), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> IdVocab:
        """Read a vocabulary written by :meth:`save`."""
        ids = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{path}: not a JSON list of string ids")
        return cls(ids)
