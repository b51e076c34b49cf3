"""POST /v1/events: durable acknowledgement, batches all-or-nothing, clear 4xx, nothing stored."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.events import SQLiteEventStore
from shoprec.serving import Service, create_app

from .conftest import make_settings

BASE_EVENTS = 20 * 2 + 30 + 3 * 3


def _stored(home: Path) -> int:
    with SQLiteEventStore(home / "shoprec.db") as store:
        return store.count()


def test_batch_is_acknowledged_and_durable(client: TestClient, home: Path) -> None:
    batch = {"events": [{"user_id": "z", "item_id": i, "event_type": "view"} for i in "abc"]}
    ack = client.post("/v1/events", json=batch)
    assert ack.status_code == 200
    assert ack.json() == {"accepted": 3, "new": 3, "last_seq": BASE_EVENTS + 3}
    assert _stored(home) == BASE_EVENTS + 3


def test_a_bad_event_in_a_batch_names_the_field_and_stores_nothing(
    client: TestClient, home: Path
) -> None:
    batch = {
        "events": [
            {"user_id": "z", "item_id": "a", "event_type": "view"},
            {"user_id": "z", "item_id": "b", "event_type": "teleport"},
        ]
    }
    response = client.post("/v1/events", json=batch)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.events.1.event_type"
    assert _stored(home) == BASE_EVENTS


def test_malformed_unknown_and_wrongly_typed_fields(client: TestClient, home: Path) -> None:
    broken = client.post(
        "/v1/events", content=b'{"user_id": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    unknown = client.post(
        "/v1/events", json={"user_id": "z", "item_id": "a", "event_type": "view", "colour": 1}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.colour"
    wrong = client.post(
        "/v1/events", json={"user_id": "z", "item_id": "a", "event_type": "view", "value": "x"}
    )
    assert wrong.json()["errors"][0]["field"] == "body.value"
    assert _stored(home) == BASE_EVENTS


def test_oversized_body_gets_413_and_a_too_large_batch_422(home: Path) -> None:
    settings = make_settings(home, max_body_bytes=2_000, max_batch_size=5)
    with TestClient(create_app(settings)) as client:
        many = {"events": [{"user_id": "z", "item_id": "a", "event_type": "view"}] * 6}
        refused = client.post("/v1/events", json=many)
        assert refused.status_code == 422  # the batch limit is declared (maxItems)
        assert (
            refused.json()["errors"][0]["message"] == "6 events in one request; at most 5 allowed"
        )
        huge = {"user_id": "z", "item_id": "a", "event_type": "view", "context": {"x": "y" * 3000}}
        assert client.post("/v1/events", json=huge).status_code == 413
    assert _stored(home) == BASE_EVENTS


def test_state_survives_a_restart(home: Path) -> None:
    settings = make_settings(home)
    with TestClient(create_app(settings)) as client:
        client.post("/v1/events", json={"user_id": "r", "item_id": "a", "event_type": "addtocart"})
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/cart/recommendations", json={"user_id": "r", "n": 1})
        assert response.json()["items"][0]["item_id"] == "b"
        assert response.json()["items"][0]["reason"] == "goes with shoes a"


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_retry_after_a_timeout_is_stored_and_counted_once(client: TestClient, home: Path) -> None:
    """#18: without event ids a client's retry after a timeout stored the event twice."""
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    trending = service.live.backends.trending
    body = {
        "events": [
            {"user_id": "r", "item_id": "e", "event_type": "addtocart", "event_id": "ev-1"},
            {"user_id": "r", "item_id": "f", "event_type": "view", "event_id": "ev-2"},
        ]
    }
    first = client.post("/v1/events", json=body)
    assert first.json() == {"accepted": 2, "new": 2, "last_seq": BASE_EVENTS + 2}
    counted = trending.top(10)
    events_counted = _metric(client, "shoprec_events_ingested_total")
    retry = client.post("/v1/events", json=body)  # the client timed out and sends it again
    assert retry.status_code == 200
    assert retry.json() == {"accepted": 2, "new": 0, "last_seq": BASE_EVENTS + 2}
    assert _stored(home) == BASE_EVENTS + 2
    state = service.shopper("r")
    assert [e.item_id for e in state.history] == ["e", "f"] and state.cart == ("e",)
    again = trending.top(10)
    assert again.item_ids == counted.item_ids
    assert again.scores.tolist() == counted.scores.tolist()
    assert _metric(client, "shoprec_events_ingested_total") == events_counted
    recent = client.get("/v1/admin/stats").json()["traffic"]["events"]["recent"]
    assert [e["item_id"] for e in recent if e["user_id"] == "r"] == ["f", "e"]
