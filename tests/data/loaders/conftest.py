"""Helpers for the loader tests: each test writes its own small files in the native layout."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text``; a name ending in ``.gz`` is gzip'd."""
    data = text.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def gz(request: pytest.FixtureRequest) -> str:
    """File suffix to add: ``""`` or ``".gz"``."""
    return ".gz" if request.param else ""
