"""A tiny shop served in-process: six items, shoppers who always go a -> b, d the best-seller."""

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
from fastapi.testclient import TestClient

from shoprec.data import Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.pipeline import PipelineConfig
from shoprec.serving import create_app
from shoprec.settings import ServingSettings, Settings

CATEGORIES = {"a": "shoes", "b": "socks", "c": "shoes", "d": "hats", "e": "hats", "f": "socks"}


def shop_items() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": list(CATEGORIES),
            "title": [f"{c} {i}" for i, c in CATEGORIES.items()],
            "category": list(CATEGORIES.values()),
            "price": [50.0, 5.0, 60.0, 20.0, 25.0, 6.0],
        }
    )


def shop_events() -> pl.DataFrame:
    t0 = time.time() - 3600  # within trending's horizon
    rows = [(f"u{u}", i, "view", t0 + 10 * u + t) for u in range(20) for t, i in enumerate("ab")]
    rows += [(f"p{u}", "d", "purchase", t0 + 500 + u) for u in range(30)]
    rows += [(f"q{u}", i, "view", t0 + 900 + u) for u in range(3) for i in "cef"]
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )


def make_home(home: Path, key: str = "covisit") -> ModelVersions:
    """Store the shop's events and catalogue under ``home`` and publish a ``key`` model."""
    home.mkdir(parents=True, exist_ok=True)
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(shop_items())
    with SQLiteEventStore(home / "shoprec.db") as store:
        store.append(shop_events())
    versions = ModelVersions(home / "models")
    data = Interactions(shop_events(), shop_items())
    train_and_publish(data, key, {}, versions, FitOptions(), validate=False)
    return versions


def make_settings(home: Path, **serving: object) -> Settings:
    values: dict[str, object] = {
        "reload_interval_s": 0.0,
        "pipeline": PipelineConfig(trending_resort_s=0.0),
    }
    values.update(serving)
    return Settings(home=home, serving=ServingSettings.model_validate(values))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    make_home(tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(home))) as c:
        yield c


def item_ids(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [i["item_id"] for i in body["items"]]


def send_concurrently(
    app: FastAPI, *calls: tuple[str, str, dict[str, Any]]
) -> list[httpx.Response]:
    """Send the requests concurrently through the app (no server, no port)."""

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            return list(
                await asyncio.gather(*(client.request(m, url, **kw) for m, url, kw in calls))
            )

    return asyncio.run(send())
