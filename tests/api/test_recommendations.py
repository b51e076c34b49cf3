"""Recommendation routes: live events reach the next request, filters, fallback, limits."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from shoprec.data import Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.pipeline import Pipeline, PipelineConfig, RecommendedItem, Request
from shoprec.serving import create_app

from .conftest import item_ids, make_settings, shop_events, shop_items


def test_the_next_request_sees_the_view_just_posted(client: TestClient) -> None:
    before = client.get("/v1/users/new-shopper/recommendations", params={"n": 3})
    assert before.status_code == 200
    assert item_ids(before)[0] == "d"  # cold: trending
    ack = client.post(
        "/v1/events", json={"user_id": "new-shopper", "item_id": "a", "event_type": "view"}
    )
    assert ack.status_code == 200 and ack.json()["accepted"] == 1
    after = client.get("/v1/users/new-shopper/recommendations", params={"n": 3})
    body = after.json()
    assert body["items"][0]["item_id"] == "b"
    assert body["items"][0]["reason"] == "because you viewed shoes a"
    assert body["items"][0]["title"] == "socks b"
    assert "a" not in item_ids(after)
    assert body["variant"] == "default" and body["model_version"].endswith("-covisit")
    assert len(body["recommendation_id"]) == 32


def test_unknown_shopper_gets_n_items(client: TestClient) -> None:
    response = client.get("/v1/users/nobody/recommendations", params={"n": 6})
    ids = item_ids(response)
    assert len(ids) == 6 and len(set(ids)) == 6


def test_filters_and_exclusions(client: TestClient) -> None:
    hats = client.get("/v1/users/nobody/recommendations", params={"n": 6, "category": "hats"})
    assert sorted(item_ids(hats)) == ["d", "e"]
    cheap = client.get(
        "/v1/users/nobody/recommendations", params={"n": 6, "min_price": 1, "max_price": 10}
    )
    assert sorted(item_ids(cheap)) == ["b", "f"]
    without = client.get("/v1/users/nobody/recommendations", params={"n": 6, "exclude": "d,e"})
    assert sorted(item_ids(without)) == ["a", "b", "c", "f"]


def test_n_out_of_range_and_unknown_scenario_name_the_field(client: TestClient) -> None:
    too_many = client.get("/v1/users/x/recommendations", params={"n": 101})
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "query.n"
    zero = client.get("/v1/users/x/recommendations", params={"n": 0})
    assert zero.status_code == 422
    scenario = client.get("/v1/users/x/recommendations", params={"scenario": "moon"})
    assert scenario.status_code == 422
    assert scenario.json()["errors"][0]["field"] == "scenario"
    body = client.post("/v1/recommendations", json={"n": 1000})
    assert body.status_code == 422 and body.json()["errors"][0]["field"] == "n"


def test_anonymous_session_and_current_item(client: TestClient) -> None:
    session = client.post(
        "/v1/recommendations", json={"events": [{"item_id": "a"}], "n": 2, "session_id": "s1"}
    )
    assert session.status_code == 200 and item_ids(session)[0] == "b"
    product = client.post("/v1/recommendations", json={"item_id": "e", "n": 2})
    assert product.json()["scenario"] == "product"
    assert item_ids(product)[0] == "f"
    assert product.json()["items"][0]["reason"] == "goes well with hats e"


def test_similar_and_bought_together(client: TestClient) -> None:
    similar = client.get("/v1/items/a/similar", params={"n": 3})
    assert similar.status_code == 200 and item_ids(similar)[0] == "b"
    together = client.get("/v1/items/a/bought-together", params={"n": 3})
    assert item_ids(together)[0] == "b"
    assert together.json()["items"][0]["reason"] == "often bought with shoes a"
    assert client.get("/v1/items/zzz/similar").status_code == 404


def test_cart_completion_uses_the_live_cart(client: TestClient) -> None:
    client.post("/v1/events", json={"user_id": "c1", "item_id": "a", "event_type": "addtocart"})
    response = client.post("/v1/cart/recommendations", json={"user_id": "c1", "n": 2})
    assert response.json()["scenario"] == "cart"
    ids = item_ids(response)
    assert ids[0] == "b" and "a" not in ids


def test_cold_start_on_an_old_log_sells_best_sellers_not_catalogue_order(tmp_path: Path) -> None:
    """#18: with nothing trending, a new shopper got catalogue order ("from our catalogue")."""
    home = tmp_path / "home"
    home.mkdir()
    weeks_ago = 60 * 86_400.0  # far beyond trending's horizon: nothing trends
    old = shop_events().with_columns(pl.col("timestamp") - weeks_ago)
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(shop_items())
    with SQLiteEventStore(home / "shoprec.db") as store:
        store.append(old)
    data = Interactions(old, shop_items())
    train_and_publish(
        data, "ease", {}, ModelVersions(home / "models"), FitOptions(), validate=False
    )
    with TestClient(create_app(make_settings(home))) as client:
        body = client.get("/v1/users/brand-new/recommendations", params={"n": 6}).json()
        items = [(i["item_id"], i["source"], i["reason"]) for i in body["items"]]
        # d was bought 30 times: the best-seller leads, then the most viewed.
        assert items[0] == ("d", "popular", "popular in our shop")
        assert {source for _, source, _ in items} <= {"popular", "model"}
        assert all("catalogue" not in reason for _, _, reason in items)


def test_every_scenario_is_warmed_up_before_a_model_serves(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#18: the first requests after a start took ~300 ms: nothing had run yet."""
    calls: list[str] = []
    real = Pipeline.recommend

    def counting(self: Pipeline, request: Request) -> list[RecommendedItem]:
        calls.append(request.scenario)
        return real(self, request)

    monkeypatch.setattr(Pipeline, "recommend", counting)
    app = create_app(make_settings(home))
    scenarios = sorted(PipelineConfig().scenarios)
    assert sorted(calls) == scenarios  # before any request
    app.state.service.reload(force=True)  # a new engine is warmed before it is swapped in
    assert sorted(calls) == sorted(scenarios * 2)
    app.state.service.close()


def test_events_of_unknown_items_are_stored_but_never_recommended(client: TestClient) -> None:
    """#18: an item id the catalogue does not list never becomes recommendable."""
    ghosts = {
        "events": [
            {"user_id": f"g{k}", "item_id": "ghost", "event_type": "purchase"} for k in range(50)
        ]
    }
    assert client.post("/v1/events", json=ghosts).json()["new"] == 50  # stored
    for path in ("/v1/users/newcomer/recommendations", "/v1/items/a/similar"):
        assert "ghost" not in item_ids(client.get(path, params={"n": 6}))
    body = {"events": [{"item_id": "ghost"}], "n": 6}
    assert "ghost" not in item_ids(client.post("/v1/recommendations", json=body))
