"""SASRec tests: single-threaded torch (tiny tensors gain nothing from threads, and busy-waiting
worker threads slow everything down on a shared machine) and deterministic algorithms; one
fitted teacher shared by the compressed and derived models' tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from shoprec.data import Interactions
from shoprec.models.sasrec import SASRec

from .planted import FIT, TINY, chain_shop


@pytest.fixture(autouse=True)
def _torch_single_thread_deterministic() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)


@pytest.fixture(scope="package")
def shop() -> Interactions:
    return chain_shop(np.random.default_rng(0))


@pytest.fixture(scope="package")
def teacher(shop: Interactions) -> SASRec:
    """A SASRec fit on :func:`shop`: the source of the compressed and derived models."""
    torch.use_deterministic_algorithms(True)
    model = SASRec(TINY.model_copy(update={"max_epochs": 12}))
    model.fit(shop, FIT)
    return model
