"""One table maps every shoprec error to its HTTP status; the most specific class wins."""

from __future__ import annotations

import pytest

from shoprec.errors import (
    ArtifactError,
    BackendUnavailableError,
    ConfigError,
    NotFittedError,
    Problem,
    ShoprecError,
    StoreError,
    ValidationError,
)
from shoprec.serving import BusyError, NotFoundError, NotReadyError, http_status


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationError([Problem("body", None, "n", "bad")]), 422),
        (NotFoundError("x"), 404),
        (BusyError("x"), 409),
        (NotReadyError("x"), 503),
        (StoreError("x"), 503),
        (BackendUnavailableError("x"), 503),  # a StoreError: inherits its status
        (ArtifactError("x"), 503),
        (NotFittedError("x"), 400),  # a ModelError, not in the table: the base's status
        (ConfigError("x"), 400),
        (ShoprecError("x"), 400),
    ],
)
def test_each_error_maps_to_its_status(error: ShoprecError, status: int) -> None:
    assert http_status(error) == status
