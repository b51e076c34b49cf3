"""Catalogue routes: stock and deletions apply to every result at once; new items at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shoprec.data import Interactions
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions, TextSim
from shoprec.serving import create_app

from .conftest import item_ids, make_settings, shop_events, shop_items


def _everywhere(client: TestClient) -> list[list[str]]:
    client.post("/v1/events", json={"user_id": "w", "item_id": "a", "event_type": "view"})
    return [
        item_ids(client.get("/v1/users/w/recommendations", params={"n": 6})),
        item_ids(client.get("/v1/users/nobody/recommendations", params={"n": 6})),
        item_ids(client.get("/v1/items/a/similar", params={"n": 6})),
        item_ids(client.get("/v1/items/a/bought-together", params={"n": 6})),
        item_ids(client.post("/v1/recommendations", json={"item_id": "a", "n": 6})),
    ]


def test_out_of_stock_leaves_every_result_at_once(client: TestClient) -> None:
    assert all("b" in ids for ids in _everywhere(client))
    assert client.patch("/v1/items/b", json={"in_stock": False}).status_code == 200
    assert not any("b" in ids for ids in _everywhere(client))
    client.patch("/v1/items/b", json={"in_stock": True})
    assert all("b" in ids for ids in _everywhere(client))


def test_deleted_item_vanishes_and_unknown_ones_are_404(client: TestClient) -> None:
    assert client.delete("/v1/items/b").status_code == 204
    assert not any("b" in ids for ids in _everywhere(client))
    assert client.delete("/v1/items/nope").status_code == 404
    assert client.patch("/v1/items/nope", json={"price": 1}).status_code == 404


def test_patch_price_applies_to_price_filters(client: TestClient) -> None:
    client.patch("/v1/items/c", json={"price": 3.0})
    cheap = client.get("/v1/users/nobody/recommendations", params={"n": 6, "max_price": 10})
    assert sorted(item_ids(cheap)) == ["b", "c", "f"]
    bad = client.patch("/v1/items/c", json={"price": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.price"


def test_a_new_item_is_recommendable_at_once(client: TestClient) -> None:
    new = {"item_id": "g", "title": "woollen winter hats g", "category": "hats", "price": 9.0}
    assert client.put("/v1/items", json={"items": [new]}).json() == {"upserted": 1}
    similar = client.get("/v1/items/g/similar", params={"n": 2})
    assert similar.status_code == 200 and item_ids(similar)[0] in {"d", "e"}
    back = client.get("/v1/items/e/similar", params={"n": 6})
    assert "g" in item_ids(back)


def test_405_allow_names_the_methods_of_the_most_specific_path(client: TestClient) -> None:
    # /v1/items/trending also matches /v1/items/{item_id} (GET, PATCH, DELETE).
    wrong = client.post("/v1/items/trending")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    item = client.post("/v1/items/b")
    assert item.status_code == 405 and item.headers["allow"] == "DELETE, GET, PATCH"


def test_a_model_that_cannot_learn_new_items_keeps_serving_and_the_write_stands(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Interactions(shop_events(), shop_items())
    versions = ModelVersions(home / "models")
    params = {"text_encoder": "hashing-32"}
    train_and_publish(data, "textsim", params, versions, FitOptions(), validate=False)

    def broken(*_: object) -> None:
        raise RuntimeError("planted failure")

    monkeypatch.setattr(TextSim, "add_items", broken)
    with TestClient(create_app(make_settings(home, covisit=False))) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        before = service.engine
        new = {"item_id": "g", "title": "striped socks g", "category": "socks", "price": 4.0}
        assert client.put("/v1/items", json={"items": [new]}).status_code == 200
        assert client.get("/v1/items/g").json()["title"] == "striped socks g"
        assert service.engine is before  # the old model serves on
        metrics = client.get("/metrics").text
        assert 'shoprec_item_learning_failures_total{variant="default"} 1.0' in metrics
        assert client.get("/v1/users/nobody/recommendations", params={"n": 3}).status_code == 200
