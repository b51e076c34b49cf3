"""``GET /v1/admin/stats`` (the dashboard's data) and the pages served by the app."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shoprec.serving import create_app

from .conftest import make_settings


def test_stats_count_traffic_events_and_served_items(client: TestClient) -> None:
    for _ in range(5):
        assert client.get("/v1/users/u1/recommendations", params={"n": 3}).status_code == 200
    client.post(
        "/v1/events",
        json={"events": [{"user_id": "x", "item_id": "a", "event_type": "view"}] * 2},
    )
    client.get("/v1/items/a/similar", params={"n": 2})
    stats = client.get("/v1/admin/stats").json()
    traffic = stats["traffic"]
    # 5 + 1 + 1 API requests; the stats call itself is not counted.
    assert traffic["requests"]["total"] == 7
    assert sum(traffic["series"]["requests_per_s"]) == 7
    assert traffic["requests"]["p50_ms"] > 0
    assert traffic["events"]["total"] == 2
    assert traffic["events"]["recent"][0] == {
        "timestamp": traffic["events"]["recent"][0]["timestamp"],
        "user_id": "x",
        "item_id": "a",
        "event_type": "view",
        "title": "shoes a",
    }
    served = traffic["served"]
    assert served["responses"] == 6 and served["catalog_items"] == 6
    assert 0 < served["coverage"] <= 1
    assert served["by_scenario"] == {"home": 5, "similar": 1}
    assert stats["variants"][0]["impressions"] == 6
    # The training record beside the artifact (metrics.json) comes with the version.
    assert stats["model"]["version"].endswith("-covisit")
    assert stats["model"]["record"]["model"] == "covisit"
    assert stats["model"]["record"]["n_items"] == 6


def test_stats_need_an_admin_key_when_keys_are_set(home: Path) -> None:
    settings = make_settings(home, write_keys=["w-secret"], admin_keys=["a-secret"])
    with TestClient(create_app(settings)) as c:
        assert c.get("/v1/admin/stats").status_code == 401
        assert c.get("/v1/admin/stats", headers={"X-API-Key": "w-secret"}).status_code == 403
        assert c.get("/v1/admin/stats", headers={"X-API-Key": "a-secret"}).status_code == 200


def test_pages_and_their_files_are_served(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/shop"
    shop = client.get("/shop")
    assert shop.status_code == 200 and 'id="rail-recommended"' in shop.text
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "/static/charts.js" in dashboard.text
    for name in ("shop.js", "dashboard.js", "charts.js", "api.js", "shop.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and len(asset.text) > 500, name
    # Nothing is fetched from elsewhere: every script and stylesheet is local.
    for page in (shop.text, dashboard.text):
        assert "http://" not in page and "https://" not in page
    # Page requests are not counted as API traffic.
    assert client.get("/v1/admin/stats").json()["traffic"]["requests"]["total"] == 0
