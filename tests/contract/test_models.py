"""Every registered model passes the Recommender contract; the contract catches broken models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shoprec.data import Interactions
from shoprec.models import FitOptions, Popularity, create_model, model_keys

from .recommender_contract import FIT, MakeModel, RecommenderContract, planted_log

#: A SASRec small enough to fit the planted log in well under a second, with the
#: deterministic hashing text encoder instead of the bundled sentence transformer.
TINY_SASREC: dict[str, Any] = {
    "hidden": 16,
    "n_layers": 1,
    "max_len": 8,
    "dropout": 0.0,
    "emb_dropout": 0.0,
    "batch_size": 16,
    "max_epochs": 2,
    "patience": 2,
    "text_encoder": "hashing-32",
}


#: The ranked recommender over cheap sources, its text source on the hashing encoder.
TINY_RANKED: dict[str, Any] = {
    "sources": {
        "covisit": {"key": "covisit", "k": 5},
        "popularity": {"key": "popularity", "k": 5},
        "text": {"key": "text", "k": 5},
    },
    "text_encoder": "hashing-32",
    "ranker_params": {"n_threads": 1},
}


def _is_torch_model(key: str) -> bool:
    return key.startswith("sasrec") or key == "ranked-deepfm"


def _config(key: str) -> dict[str, Any] | None:
    if key.startswith("ranked"):
        return TINY_RANKED
    if key == "textsim":
        return {"text_encoder": "hashing-32"}
    return TINY_SASREC if key.startswith("sasrec") else None


def _keys() -> list[Any]:
    return [
        pytest.param(key, marks=[pytest.mark.torch] if _is_torch_model(key) else [], id=key)
        for key in model_keys()
    ]


@pytest.fixture(scope="module", params=_keys())
def make_model(request: pytest.FixtureRequest) -> Iterator[MakeModel]:
    key: str = request.param
    if not _is_torch_model(key):
        yield lambda: create_model(key, _config(key))
        return
    torch = pytest.importorskip("torch")
    # Bit-identical refits need one thread and deterministic kernels.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    yield lambda: create_model(key, _config(key))
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)


class TestRegisteredModel(RecommenderContract):
    """The contract, once per key of ``model_keys()`` (a new model is covered by registering)."""


def test_every_baseline_is_registered() -> None:
    assert {"popularity", "covisit", "ease", "als"} <= set(model_keys())


# -- the contract catches broken models ----------------------------------------------------
class ForgetfulPopularity(Popularity):
    """Saves zeros instead of its counts: loads fine, scores differently."""

    def _arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {**super()._arrays(), "popularity": np.zeros_like(self._popularity)}


class UnseededPopularity(Popularity):
    """Adds noise that ignores ``FitOptions.seed``."""

    def fit(self, data: Interactions, opts: FitOptions = FIT) -> None:
        super().fit(data, opts)
        noise = np.random.default_rng().random(len(self._relative), dtype=np.float32)
        self._relative = self._relative + noise


@pytest.fixture(scope="module")
def data() -> Interactions:
    return planted_log()


def test_contract_catches_a_model_whose_save_drops_state(
    data: Interactions, tmp_path: Path
) -> None:
    model = ForgetfulPopularity()
    model.fit(data, FIT)
    with pytest.raises(AssertionError, match="Mismatched elements"):
        RecommenderContract().test_save_load_round_trip(model, data, tmp_path)
    # The honest model passes the same check.
    honest = Popularity()
    honest.fit(data, FIT)
    RecommenderContract().test_save_load_round_trip(honest, data, tmp_path / "honest")


def test_contract_catches_a_model_that_ignores_the_seed(data: Interactions) -> None:
    model = UnseededPopularity()
    model.fit(data, FIT)
    with pytest.raises(AssertionError, match="Mismatched elements"):
        RecommenderContract().test_same_seed_gives_identical_scores(UnseededPopularity, model, data)
