"""LightGBM trees compiled to native code (lleaves) for the few hundred rows of one request.

LightGBM walks its trees in an interpreter: 1.3 ms for 200 rows of a 205-tree ranker on one
thread (Beauty), the largest single cost of a ranked request. lleaves compiles the same model
text with LLVM into one native function: 0.05 ms for those rows, scores equal to 1e-12
(``docs/benchmarks.md``). Compiling takes seconds, so it happens once per model, on its first
small prediction, which the service's warm-up makes before the model serves. Where lleaves is
missing or fails, LightGBM keeps scoring (logged once).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Protocol

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


class CompiledTrees(Protocol):
    """A compiled model: ``predict(rows, n_jobs)`` -> raw scores, as ``Booster.predict``."""

    def predict(self, data: npt.NDArray[np.float64], n_jobs: int = ...) -> npt.NDArray[np.float64]:
        """Raw scores of the rows."""


def compile_trees(booster: lgb.Booster) -> CompiledTrees | None:
    """``booster`` compiled by lleaves, or ``None`` (LightGBM scores) when that is not possible."""
    try:
        import lleaves
    except ImportError:
        log.info("lleaves is not installed: LightGBM scores single requests")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.txt"
        booster.save_model(str(path))
        try:
            model = lleaves.Model(model_file=str(path))
            model.compile()
        except Exception as exc:  # noqa: BLE001 - any failure leaves LightGBM scoring
            log.warning("compiling the ranker's trees failed (%s): LightGBM scores them", exc)
            return None
    compiled: CompiledTrees = model
    return compiled
