"""Shared fixtures: a seeded random generator and paths to the optional shared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def require_service(name: str, reason: str) -> None:
    """Skip when a local service is missing, except in CI where that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@pytest.fixture
def shared_data() -> Path:
    """The licensed benchmark datasets beside the checkout; skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA
