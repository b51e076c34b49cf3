"""Serving the text-aware Transformer: new items scored from their text, attributed reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from shoprec.data import Interactions
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.serving import create_app
from shoprec.types import Candidates, Query

from .conftest import make_settings, shop_events, shop_items

pytestmark = pytest.mark.torch


def test_put_item_makes_it_scorable_by_sasrec_at_once(home: Path) -> None:
    data = Interactions(shop_events(), shop_items())
    params = {"hidden": 16, "n_layers": 1, "text_encoder": "hashing-32", "n_negatives": 4}
    train_and_publish(
        data,
        "sasrec",
        params,
        ModelVersions(home / "models"),
        FitOptions(max_epochs=1, device="cpu"),
        validate=False,
    )
    with TestClient(create_app(make_settings(home, covisit=False))) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        before = service.engine
        new = {"item_id": "g", "title": "striped socks g", "category": "socks", "price": 4.0}
        assert client.put("/v1/items", json={"items": [new]}).status_code == 200
        model = service.engine.pipelines["default"].model
        assert (
            service.engine is not before and "g" not in before.pipelines["default"].model.item_vocab
        )
        score = model.score(
            Query.from_items(["a"]), Candidates(("g",), np.zeros(1, np.float32))
        ).scores[0]
        assert np.isfinite(score)
        client.post("/v1/events", json={"user_id": "s", "item_id": "a", "event_type": "view"})
        body = client.get("/v1/users/s/recommendations", params={"n": 6}).json()
        assert len(body["items"]) == 6
        by_model = [i for i in body["items"] if i["source"] == "model"]
        assert by_model and by_model[0]["reason"] == "because you viewed shoes a"
