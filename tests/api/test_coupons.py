"""Coupons over HTTP (#21): registered by the shop, ranked per shopper, redeemed by events.

The tiny shop of ``conftest``: a and c are shoes, b and f socks, d and e hats.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from shoprec.serving import create_app
from shoprec.serving.security import mint_token

from .conftest import make_settings, send_concurrently

SECRET = "coupon-secret"
ADMIN = {"X-API-Key": "admin"}


def coupon(coupon_id: str, **fields: Any) -> dict[str, Any]:
    return {"coupon_id": coupon_id, "scope": "categories", "discount": 0.1, **fields}


def one(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    return send_concurrently(app, (method, url, kwargs))[0]


@pytest.fixture
def app(home: Path) -> Iterator[FastAPI]:
    application = create_app(
        make_settings(home, admin_keys=["admin"], write_keys=["w"], token_secret=SECRET)
    )
    yield application
    application.state.service.close()


def buy(app: FastAPI, user: str, *items: str, kind: str = "purchase", **context: Any) -> None:
    events = [
        {"user_id": user, "item_id": i, "event_type": kind, "context": context} for i in items
    ]
    response = one(app, "POST", "/v1/events", json={"events": events}, headers={"X-API-Key": "w"})
    assert response.status_code == 200, response.text


def offered(app: FastAPI, user: str) -> list[str]:
    response = one(app, "GET", f"/v1/users/{user}/coupons", headers=ADMIN)
    assert response.status_code == 200, response.text
    return [c["coupon_id"] for c in response.json()["coupons"]]


def put(app: FastAPI, *coupons: dict[str, Any]) -> None:
    response = one(app, "PUT", "/v1/coupons", json={"coupons": list(coupons)}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {"upserted": len(coupons)}


def test_a_shopper_who_only_buys_shoes_gets_the_shoe_coupon_first(app: FastAPI) -> None:
    put(
        app,
        coupon("hats-30", targets=["hats"], discount=0.3),
        coupon("shoes-10", targets=["shoes"], discount=0.1),
        coupon("socks-50", targets=["socks"], discount=0.5),
    )
    buy(app, "runner", "a", "c", "a")
    body = one(app, "GET", "/v1/users/runner/coupons", headers=ADMIN).json()
    assert [c["coupon_id"] for c in body["coupons"]][0] == "shoes-10"
    first = body["coupons"][0]
    assert first["p_with"] > first["p_without"] > 0 and first["uplift"] > 0
    uplifts = [c["uplift"] for c in body["coupons"]]
    assert uplifts == sorted(uplifts, reverse=True)
    # A shopper of hats gets the hat coupon first; a new one the biggest discount (no history).
    buy(app, "milliner", "d", "e")
    assert offered(app, "milliner")[0] == "hats-30"
    assert offered(app, "newcomer")[0] == "socks-50"


def test_unusable_coupons_are_never_offered(app: FastAPI) -> None:
    now = time.time()
    put(
        app,
        coupon("live", targets=["shoes"]),
        coupon("expired", targets=["shoes"], valid_until=now - 60),
        coupon("not-yet", targets=["shoes"], valid_from=now + 3600),
        coupon("spent", targets=["shoes"], budget=1),
        coupon("no-brand", scope="brands", targets=["Nobody"]),
        coupon("sold-out", scope="items", targets=["c"]),
        coupon("once", targets=["hats"]),
    )
    assert set(offered(app, "runner")) == {"live", "spent", "sold-out", "once"}
    # Someone else redeems the last of the budget; an item sells out; the runner uses "once".
    buy(app, "other", "a", kind="coupon_redeem", coupon_id="spent")
    patch = one(app, "PATCH", "/v1/items/c", json={"in_stock": False}, headers=ADMIN)
    assert patch.status_code == 200
    buy(app, "runner", "d", kind="coupon_redeem", coupon_id="once")
    assert offered(app, "runner") == ["live"]
    assert set(offered(app, "third")) == {"live", "once"}
    listed = one(app, "GET", "/v1/coupons", headers=ADMIN).json()["coupons"]
    counts = {c["coupon_id"]: (c["redeemed"], c["budget_left"]) for c in listed}
    assert counts["spent"] == (1, 0) and counts["once"] == (1, None) and counts["live"] == (0, None)


def test_redemptions_are_purchases_and_need_a_coupon_id(app: FastAPI) -> None:
    put(app, coupon("shoes", targets=["shoes"]))
    bad = {"user_id": "x", "item_id": "a", "event_type": "coupon_redeem"}
    response = one(app, "POST", "/v1/events", json=bad, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.context"
    buy(app, "x", "a", kind="coupon_redeem", coupon_id="shoes")
    service = app.state.service
    assert "a" in service.shopper("x").purchased  # bought, hence excluded where bought items are
    # A retried event (same id) counts once; a redemption of an unknown coupon counts nowhere.
    event = {**bad, "context": {"coupon_id": "shoes"}, "event_id": "e1"}
    for _ in range(2):
        assert one(app, "POST", "/v1/events", json=event, headers=ADMIN).status_code == 200
    buy(app, "x", "a", kind="coupon_redeem", coupon_id="unknown")
    listed = one(app, "GET", "/v1/coupons", headers=ADMIN).json()["coupons"]
    assert [(c["coupon_id"], c["redeemed"], c["redemptions"]) for c in listed] == [("shoes", 2, 2)]


def test_offers_are_counted_and_a_coupon_can_be_deleted(app: FastAPI) -> None:
    put(app, coupon("shoes", targets=["shoes"]))
    for _ in range(3):
        offered(app, "runner")
    listed = one(app, "GET", "/v1/coupons", headers=ADMIN).json()["coupons"]
    assert listed[0]["impressions"] == 3
    assert one(app, "DELETE", "/v1/coupons/shoes", headers=ADMIN).status_code == 204
    assert one(app, "DELETE", "/v1/coupons/shoes", headers=ADMIN).status_code == 404
    assert offered(app, "runner") == []


def test_coupons_survive_a_restart(home: Path) -> None:
    settings = make_settings(home)
    first = create_app(settings)
    put(first, coupon("shoes", targets=["shoes"], budget=5))
    buy(first, "x", "a", kind="coupon_redeem", coupon_id="shoes")
    first.state.service.close()
    second = create_app(settings)
    try:
        listed = one(second, "GET", "/v1/coupons").json()["coupons"]
        assert [(c["coupon_id"], c["redeemed"], c["budget_left"]) for c in listed] == [
            ("shoes", 1, 4)
        ]
    finally:
        second.state.service.close()


def test_only_the_admin_key_writes_and_only_the_shopper_reads_their_offers(app: FastAPI) -> None:
    body = {"coupons": [coupon("shoes", targets=["shoes"])]}
    assert one(app, "PUT", "/v1/coupons", json=body).status_code == 401
    assert one(app, "PUT", "/v1/coupons", json=body, headers={"X-API-Key": "w"}).status_code == 403
    assert one(app, "GET", "/v1/coupons", headers={"X-API-Key": "w"}).status_code == 403
    alice = {"X-Shopper-Token": mint_token(SecretStr(SECRET), "alice", 60)}
    assert one(app, "GET", "/v1/coupons", headers=alice).status_code == 401
    assert one(app, "GET", "/v1/users/alice/coupons", headers=alice).status_code == 200
    assert one(app, "GET", "/v1/users/bob/coupons", headers=alice).status_code == 403
    assert one(app, "GET", "/v1/users/bob/coupons").status_code == 401


@pytest.mark.parametrize(
    "bad",
    [
        {"discount": 0},
        {"discount": 1.5},
        {"discount": float("nan")},
        {"scope": "shops"},
        {"targets": []},
        {"budget": -1},
        {"per_shopper": 0},
        {"valid_until": float("inf")},
        {"coupon_id": ""},
        {"surprise": 1},
    ],
)
def test_invalid_coupons_get_422_naming_the_field(app: FastAPI, bad: dict[str, Any]) -> None:
    body = {"coupons": [{**coupon("c", targets=["shoes"]), **bad}]}
    # json.dumps writes NaN and Infinity tokens, which reach the server as such.
    content = json.dumps(body).encode()
    headers = {**ADMIN, "content-type": "application/json"}
    response = one(app, "PUT", "/v1/coupons", content=content, headers=headers)
    assert response.status_code == 422, response.text
    field = next(iter(bad))
    assert any(e["field"].startswith(f"body.coupons.0.{field}") for e in response.json()["errors"])
