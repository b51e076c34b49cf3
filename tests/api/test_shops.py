"""Brands, sellers, trending with a horizon and the exposure report over HTTP (#21)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.serving import create_app
from shoprec.serving.security import mint_token

from .conftest import make_settings

SECRET = "shops-secret"
ADMIN = {"X-API-Key": "admin"}
DAY = 86_400.0
# Brand B (items b1, b2) is co-engaged with C (c1) by its shoppers, never with D (d1).
BRANDS = {"b1": "B", "b2": "B", "c1": "C", "d1": "D", "e1": "E"}
SELLERS = {"b1": "shop-1", "b2": "shop-2", "c1": "shop-2", "d1": "shop-3", "e1": "shop-3"}


def make_shop(home: Path) -> None:
    home.mkdir(parents=True)
    items = pl.DataFrame(
        {
            "item_id": list(BRANDS),
            "title": [f"item {i}" for i in BRANDS],
            "category": ["x"] * len(BRANDS),
            "brand": list(BRANDS.values()),
            "attributes": [f'{{"seller": "{SELLERS[i]}", "stock": 1}}' for i in BRANDS],
        }
    )
    now = time.time()
    rows = [("solo", "b1", "purchase", now - 100), ("solo", "b2", "view", now - 50)]
    rows += [(f"fan{u}", i, "view", now - 200 + u) for u in range(5) for i in ("b1", "c1")]
    rows += [(f"other{u}", "d1", "purchase", now - 300 + u) for u in range(8)]
    # Ten days of e1 views growing every day: tomorrow's rising item.
    rows += [
        (f"e{d}-{k}", "e1", "view", now - (10 - d) * DAY - 3600 + k)
        for d in range(10)
        for k in range(1 + 3 * d)
    ]
    events = pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(items)
    with SQLiteEventStore(home / "shoprec.db") as store:
        store.append(events)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    make_shop(tmp_path / "home")
    application = create_app(
        make_settings(tmp_path / "home", admin_keys=["admin"], token_secret=SECRET)
    )
    yield application
    application.state.service.insights.fit_soon().join()
    application.state.service.close()


def get(app: FastAPI, url: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            return await client.get(url, **kwargs)

    return asyncio.run(send())


def token(user: str) -> dict[str, str]:
    return {"X-Shopper-Token": mint_token(SecretStr(SECRET), user, 60)}


def test_a_single_brand_shopper_gets_it_first_then_the_co_engaged_brand(app: FastAPI) -> None:
    response = get(app, "/v1/users/solo/brands", headers=token("solo"))
    assert response.status_code == 200
    body = response.json()
    assert [b["name"] for b in body["brands"]] == ["B", "C"]
    assert [b["source"] for b in body["brands"]] == ["history", "co-engagement"]
    assert body["brands"][1]["because"] == "B"
    assert body["brands"][0]["score"] > body["brands"][1]["score"] > 0


def test_sellers_come_from_the_seller_attribute(app: FastAPI) -> None:
    body = get(app, "/v1/users/solo/sellers", headers=ADMIN).json()
    assert body["group_by"] == "seller"
    # Purchase (5) of shop-1's b1 outweighs a view (1) of shop-2's b2.
    assert [b["name"] for b in body["brands"]][:2] == ["shop-1", "shop-2"]


def test_unknown_shopper_gets_no_brands(app: FastAPI) -> None:
    assert get(app, "/v1/users/nobody/brands", headers=ADMIN).json()["brands"] == []


@pytest.mark.parametrize("path", ["/v1/users/solo/brands", "/v1/users/solo/sellers"])
def test_brands_need_the_shoppers_token_or_a_key(app: FastAPI, path: str) -> None:
    assert get(app, path).status_code == 401
    assert get(app, path, headers=token("fan1")).status_code == 403
    assert get(app, path, headers={"X-API-Key": "wrong"}).status_code in (401, 403)
    assert get(app, path, headers=token("solo")).status_code == 200
    assert get(app, path, headers=ADMIN).status_code == 200


def test_trending_without_horizon_is_trending_now(app: FastAPI) -> None:
    body = get(app, "/v1/items/trending", params={"n": 3}, headers=ADMIN).json()
    assert body["horizon"] == "now"
    assert body["items"][0]["item_id"] == "d1"  # 8 fresh purchases
    assert body["items"][0]["score"] == 1.0
    assert body["items"][0]["forecast"] is None


def test_trending_with_a_horizon_forecasts_the_rising_item(app: FastAPI) -> None:
    service = app.state.service
    service.insights.fit_soon().join()
    body = get(
        app, "/v1/items/trending", params={"horizon": "1d", "order": "rise"}, headers=ADMIN
    ).json()
    assert body["horizon"] == "1d" and body["order"] == "rise"
    assert body["items"][0]["item_id"] == "e1"
    assert body["items"][0]["rise"] > 0


def test_trending_rejects_an_unknown_horizon(app: FastAPI) -> None:
    response = get(app, "/v1/items/trending", params={"horizon": "7y"}, headers=ADMIN)
    assert response.status_code == 422


def test_exposure_report_is_admin_only_and_counts_what_was_served(app: FastAPI) -> None:
    assert get(app, "/v1/admin/exposure").status_code == 401
    get(app, "/v1/items/trending", headers=ADMIN)
    app.state.service.insights.fit_soon().join()
    report = get(app, "/v1/admin/exposure", headers=ADMIN).json()
    assert report["impressions"] == 0  # trending lists are not recommendation slots
    assert report["gini"] == 0.0
    assert report["forecast_ready"] is True
    assert [r["item_id"] for r in report["rising"]][:1] == ["e1"]
    # e1 has stock 1 and a forecast of several weighted events tomorrow.
    assert "e1" in [r["item_id"] for r in report["at_risk"]]
