"""SASRec tests: single-threaded torch (tiny tensors gain nothing from threads, and busy-waiting
worker threads slow everything down on a shared machine) and deterministic algorithms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_single_thread_deterministic() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)
