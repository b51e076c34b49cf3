"""The read-only catalogue routes the shop page's grid uses: search, category, paging, users."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import CATEGORIES


def ids(response: object) -> list[str]:
    return [i["item_id"] for i in response.json()["items"]]  # type: ignore[attr-defined]


def test_lists_every_item_in_listing_order(client: TestClient) -> None:
    response = client.get("/v1/items")
    assert response.status_code == 200
    body = response.json()
    assert ids(response) == list(CATEGORIES) and body["total"] == 6 and body["offset"] == 0
    assert body["items"][0] == {
        "item_id": "a",
        "title": "shoes a",
        "category": "shoes",
        "brand": None,
        "price": 50.0,
        "in_stock": True,
    }


def test_search_words_must_all_match_and_category_filters(client: TestClient) -> None:
    assert ids(client.get("/v1/items", params={"q": "SOCKS"})) == ["b", "f"]
    assert ids(client.get("/v1/items", params={"q": "socks f"})) == ["f"]
    assert ids(client.get("/v1/items", params={"category": "hats"})) == ["d", "e"]
    assert ids(client.get("/v1/items", params={"category": "hats", "q": "e"})) == ["e"]
    assert ids(client.get("/v1/items", params={"q": "nothing-like-this"})) == []


def test_paging_reports_the_total(client: TestClient) -> None:
    page = client.get("/v1/items", params={"limit": 2, "offset": 3})
    assert ids(page) == ["d", "e"]
    assert page.json()["total"] == 6 and page.json()["offset"] == 3


def test_bad_paging_names_the_field(client: TestClient) -> None:
    for params, field in (({"limit": 0}, "query.limit"), ({"offset": -1}, "query.offset")):
        response = client.get("/v1/items", params=params)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_deleted_and_patched_items_show_at_once(client: TestClient) -> None:
    assert client.delete("/v1/items/c").status_code == 204
    client.patch("/v1/items/a", json={"in_stock": False})
    body = client.get("/v1/items", params={"category": "shoes"}).json()
    assert [(i["item_id"], i["in_stock"]) for i in body["items"]] == [("a", False)]


def test_one_item_and_unknown_item(client: TestClient) -> None:
    assert client.get("/v1/items/b").json()["title"] == "socks b"
    missing = client.get("/v1/items/zzz")
    assert missing.status_code == 404 and "zzz" in missing.json()["detail"]


def test_categories_largest_first(client: TestClient) -> None:
    body = client.get("/v1/categories").json()
    assert body["categories"] == [
        {"name": "shoes", "items": 2},
        {"name": "socks", "items": 2},
        {"name": "hats", "items": 2},
    ]


def test_users_lists_stored_shoppers(client: TestClient) -> None:
    users = client.get("/v1/users", params={"limit": 3}).json()["users"]
    assert users == ["u0", "u1", "u2"]
    client.post("/v1/events", json={"user_id": "zz-new", "item_id": "a", "event_type": "view"})
    assert "zz-new" in client.get("/v1/users", params={"limit": 1000}).json()["users"]
