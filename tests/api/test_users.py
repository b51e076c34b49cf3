"""DELETE /v1/users/{id}: the shopper's events and live state are gone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.events import SQLiteEventStore

from .conftest import item_ids


def test_forget_removes_events_and_state(client: TestClient, home: Path) -> None:
    client.post("/v1/events", json={"user_id": "gone", "item_id": "a", "event_type": "view"})
    assert item_ids(client.get("/v1/users/gone/recommendations", params={"n": 1})) == ["b"]
    response = client.delete("/v1/users/gone")
    assert response.json() == {"user_id": "gone", "events_deleted": 1, "rejects_deleted": 0}
    with SQLiteEventStore(home / "shoprec.db") as store:
        assert store.latest("gone", 10) == []
    # Cold again: trending, not the a -> b neighbour.
    assert item_ids(client.get("/v1/users/gone/recommendations", params={"n": 1})) == ["d"]
