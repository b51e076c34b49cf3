"""Several replicas on shared backends: PostgreSQL events and catalogue, Redis live state.

Each replica is a whole app (its own ``Service``, threads, model and catalogue copies), as a
separate ``shoprec serve`` process would be; they share only PostgreSQL, Redis and the model
folder, like replicas behind a load balancer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import RedisServer
from shoprec.data import Interactions
from shoprec.events import open_catalog, open_event_store
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.serving import create_app
from shoprec.settings import Settings

from .conftest import item_ids, make_settings, shop_events, shop_items

Replicas = Callable[[str], list[TestClient]]


def _within(seconds: float, condition: Callable[[], bool]) -> float:
    """Poll ``condition`` until it holds; how long it took (fails after ``seconds``)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "did not happen in time"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[Replicas]:
    """Start replicas on one PostgreSQL (filled with the tiny shop) and a given Redis."""
    home = tmp_path / "home"
    with open_catalog(postgres_url, home / "unused.db") as catalogue:
        catalogue.upsert(shop_items())
    with open_event_store(postgres_url, home / "unused.db") as store:
        store.append(shop_events())
    data = Interactions(shop_events(), shop_items())
    train_and_publish(
        data, "covisit", {}, ModelVersions(home / "models"), FitOptions(), validate=False
    )
    with ExitStack() as stack:

        def start(state_url: str, count: int = 2) -> list[TestClient]:
            settings = make_settings(home, health_interval_s=0.05)
            settings = Settings.model_validate(
                settings.model_dump() | {"events_url": postgres_url, "state_url": state_url}
            )
            return [stack.enter_context(TestClient(create_app(settings))) for _ in range(count)]

        yield start


def test_an_event_sent_to_one_replica_is_in_the_others_next_answer(
    replicas: Replicas, redis_url: str
) -> None:
    a, b = replicas(redis_url)
    for i in range(20):
        user = f"new-{i}"
        item = "ab"[i % 2]
        ack = a.post("/v1/events", json={"user_id": user, "item_id": item, "event_type": "view"})
        assert ack.status_code == 200
        body = b.get(f"/v1/users/{user}/recommendations", params={"n": 3}).json()
        assert any(f"{CATEGORY[item]} {item}" in r["reason"] for r in body["items"]), body
    cart = {"user_id": "buyer", "item_id": "c", "event_type": "addtocart"}
    assert b.post("/v1/events", json=cart).status_code == 200
    assert a.post("/v1/cart/recommendations", json={"user_id": "buyer"}).status_code == 200
    # A/B counters are shared: both replicas' impressions add up, read from either (each
    # replica writes its impressions within 100 ms).
    _within(2.0, lambda: a.get("/v1/admin/experiments").json()["variants"][0]["impressions"] == 21)


CATEGORY = {"a": "shoes", "b": "socks"}


def test_a_new_model_version_reaches_every_replica_without_a_failed_request(
    replicas: Replicas, redis_url: str, tmp_path: Path
) -> None:
    a, b = replicas(redis_url)
    old = a.get("/health/ready").json()["model_version"]
    versions = ModelVersions(tmp_path / "home" / "models")
    data = Interactions(shop_events(), shop_items())
    new = train_and_publish(
        data, "popularity", {}, versions, FitOptions(), validate=False
    ).version_dir.name
    assert new != old
    assert a.post("/v1/admin/reload").json() == {"model_version": new, "changed": True}
    statuses: list[int] = []

    def switched() -> bool:
        response = b.get("/v1/users/u1/recommendations")
        statuses.append(response.status_code)
        return response.json()["model_version"] == new

    assert _within(2.0, switched) < 2.0
    assert set(statuses) == {200}


def test_a_catalogue_change_on_one_replica_applies_on_the_others(
    replicas: Replicas, redis_url: str
) -> None:
    a, b = replicas(redis_url)
    assert "d" in item_ids(b.get("/v1/users/nobody/recommendations", params={"n": 6}))
    assert a.patch("/v1/items/d", json={"in_stock": False}).status_code == 200
    _within(
        2.0, lambda: "d" not in item_ids(b.get("/v1/users/nobody/recommendations", params={"n": 6}))
    )
    new = {"items": [{"item_id": "g", "title": "hats g", "category": "hats"}]}
    assert a.put("/v1/items", json=new).status_code == 200
    _within(2.0, lambda: b.get("/v1/items/g").status_code == 200)
    assert a.delete("/v1/items/g").status_code == 204
    _within(2.0, lambda: b.get("/v1/items/g").status_code == 404)


def test_losing_redis_mid_traffic_is_not_an_outage(
    replicas: Replicas, redis_server: RedisServer
) -> None:
    a, b = replicas(redis_server.url)
    event = {"user_id": "s", "item_id": "a", "event_type": "view"}
    assert a.post("/v1/events", json=event).status_code == 200
    assert b.get("/health/ready").status_code == 200
    redis_server.stop()
    _within(2.0, lambda: b.get("/health/ready").status_code == 503)
    ready = b.get("/health/ready").json()
    assert ready["status"] == "not ready" and "Redis" in ready["detail"]
    # Recommendations go on from what each replica has ...
    for replica in (a, b):
        for user in ("s", "u1", "never-seen"):
            assert replica.get(f"/v1/users/{user}/recommendations").status_code == 200
        assert replica.get("/v1/items/a/similar").status_code == 200
    # ... writes are refused with the reason, and nothing is stored for them.
    refused = a.post("/v1/events", json={**event, "item_id": "c"})
    assert refused.status_code == 503 and "state" in refused.json()["detail"]
    assert a.patch("/v1/items/a", json={"price": 1.0}).status_code == 503
    redis_server.start()  # back, empty
    _within(3.0, lambda: a.get("/health/ready").status_code == 200)
    _within(3.0, lambda: b.get("/health/ready").status_code == 200)
    assert a.post("/v1/events", json={**event, "item_id": "b"}).status_code == 200
    history = b.get("/v1/users/s/recommendations", params={"n": 6}).json()["items"]
    reasons = " ".join(r["reason"] for r in history)
    assert "socks b" in reasons  # the state was rebuilt from PostgreSQL, then updated
    assert "shoes c" not in reasons  # the refused event was never stored
