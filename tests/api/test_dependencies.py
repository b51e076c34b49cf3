"""Routes take the service from a dependency: a test can swap it without building the app's own."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.serving import Service, create_app, get_service

from .conftest import make_settings


def test_routes_use_the_overridden_service(home: Path, tmp_path: Path) -> None:
    other = Service(make_settings(tmp_path / "other", read_keys=["k"]))  # no model, a read key
    app = create_app(make_settings(home))
    app.dependency_overrides[get_service] = lambda: other
    with TestClient(app) as client:
        assert client.get("/v1/users/u1/recommendations").status_code == 401  # its keys
        answer = client.get("/v1/users/u1/recommendations", headers={"X-API-Key": "k"})
        assert answer.status_code == 503  # its (missing) model
        assert client.get("/health/ready").status_code == 503
    other.close()
