"""Sponsored slots over HTTP (#21): relevant ads only, labelled, paid per impression, never over.

The tiny shop of ``conftest``: after viewing a, a shopper's organic ranking starts b (always
viewed after a), c (a shoe, like a), d, e, f. With 3 items, slots at 0 and 2 and a floor of 3,
b is shown whatever the ads (n less the slots), c and d may be sponsored, e and f are below
the floor.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shoprec.events import Campaign
from shoprec.pipeline import Request
from shoprec.promotions import PromotionsConfig, SponsoredConfig
from shoprec.serving import create_app
from shoprec.types import Query

from .conftest import make_settings, send_concurrently

ADMIN = {"X-API-Key": "admin"}


def make_app(home: Path, **sponsored: Any) -> FastAPI:
    config = SponsoredConfig(**{"positions": {"home": [0, 2]}, "floor_rank": 3, **sponsored})
    return create_app(
        make_settings(home, admin_keys=["admin"], promotions=PromotionsConfig(sponsored=config))
    )


@pytest.fixture
def app(home: Path) -> Iterator[FastAPI]:
    application = make_app(home)
    with TestClient(application) as client:
        client.post("/v1/events", json={"user_id": "s", "item_id": "a", "event_type": "view"},
                    headers=ADMIN)  # fmt: skip
        yield application


def campaign(campaign_id: str, item_id: str, **fields: Any) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "item_id": item_id, "bid": 1.0, "daily_budget": 100.0,
            "pacing": "asap", **fields}  # fmt: skip


def put(app: FastAPI, *campaigns: dict[str, Any]) -> None:
    body = {"campaigns": list(campaigns)}
    [response] = send_concurrently(app, ("PUT", "/v1/campaigns", {"json": body, "headers": ADMIN}))
    assert response.json() == {"upserted": len(campaigns)}, response.text


RECS = ("GET", "/v1/users/s/recommendations", {"params": {"n": 3}, "headers": ADMIN})


def items(response: httpx.Response) -> list[tuple[str, bool]]:
    assert response.status_code == 200, response.text
    return [(i["item_id"], i["sponsored"]) for i in response.json()["items"]]


def test_an_irrelevant_high_bid_never_wins(app: FastAPI) -> None:
    [before] = send_concurrently(app, RECS)
    organic = [i for i, _ in items(before)]
    assert organic == ["b", "c", "d"]
    put(app, campaign("loud", "f", bid=1000.0))  # f is below the floor (3) for this shopper
    [after] = send_concurrently(app, RECS)
    assert items(after) == [(i, False) for i in organic]
    # A relevant low bid wins the first slot; the irrelevant one still never shows.
    put(app, campaign("quiet", "d", bid=0.01), campaign("shown", "b", bid=1000.0))
    [response] = send_concurrently(app, RECS)
    assert items(response) == [("d", True), ("b", False), ("c", False)]
    body = response.json()["items"][0]
    assert body["campaign_id"] == "quiet" and body["source"] == "sponsored"


def test_a_budget_of_three_impressions_serves_exactly_three(app: FastAPI) -> None:
    put(app, campaign("three", "c", daily_budget=3.0))
    responses = send_concurrently(app, *[RECS] * 12)
    shown = sum(sponsored for r in responses for _, sponsored in items(r))
    assert shown == 3
    [status] = send_concurrently(app, ("GET", "/v1/campaigns/three", {"headers": ADMIN}))
    body = status.json()
    assert (body["impressions"], body["spent_today"]) == (3, 3.0)


def test_budgets_hold_under_threads(app: FastAPI) -> None:
    put(app, campaign("five", "c", bid=0.5, daily_budget=2.5))
    service = app.state.service
    request = service.user_request("s", n=3)

    def serve(_: int) -> int:
        return len(service.recommend(request, "s").sponsored)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(serve, range(40))) == 5


def test_clicks_are_counted_and_campaigns_managed(app: FastAPI) -> None:
    put(app, campaign("c1", "c"))
    [served] = send_concurrently(app, RECS)
    assert items(served)[0] == ("c", True)
    click = {"user_id": "s", "item_id": "c", "event_type": "click",
             "context": {"campaign_id": "c1"}}  # fmt: skip
    send_concurrently(app, ("POST", "/v1/events", {"json": click, "headers": ADMIN}))
    [listed] = send_concurrently(app, ("GET", "/v1/campaigns", {"headers": ADMIN}))
    [row] = listed.json()["campaigns"]
    assert (row["impressions"], row["clicks"], row["ctr"]) == (1, 1, 1.0)
    deleted = send_concurrently(
        app,
        ("DELETE", "/v1/campaigns/c1", {"headers": ADMIN}),
    )[0]
    assert deleted.status_code == 204
    missing = send_concurrently(app, ("GET", "/v1/campaigns/c1", {"headers": ADMIN}))[0]
    assert missing.status_code == 404
    [response] = send_concurrently(app, RECS)
    assert not any(sponsored for _, sponsored in items(response))


def test_campaign_routes_are_admin_only(app: FastAPI) -> None:
    body = {"json": {"campaigns": [campaign("c", "b")]}}
    assert send_concurrently(app, ("PUT", "/v1/campaigns", body))[0].status_code == 401
    wrong = {**body, "headers": {"X-API-Key": "nope"}}
    assert send_concurrently(app, ("PUT", "/v1/campaigns", wrong))[0].status_code == 403
    assert send_concurrently(app, ("GET", "/v1/campaigns", {}))[0].status_code == 401


def test_scenarios_without_slots_and_paused_campaigns_carry_no_ad(app: FastAPI) -> None:
    put(app, campaign("c", "c"))
    similar = ("GET", "/v1/items/a/similar", {"params": {"n": 4}, "headers": ADMIN})
    assert not any(s for _, s in items(send_concurrently(app, similar)[0]))
    put(app, campaign("c", "c", active=False))
    assert not any(s for _, s in items(send_concurrently(app, RECS)[0]))


def test_targeting_by_category(app: FastAPI) -> None:
    # The shopper looked at shoes (a): a socks-only campaign is not for them, a shoes one is.
    put(app, campaign("socks", "d", categories=["socks"]))
    assert not any(s for _, s in items(send_concurrently(app, RECS)[0]))
    put(app, campaign("shoes", "d", categories=["shoes"]))
    assert items(send_concurrently(app, RECS)[0])[0] == ("d", True)


def test_even_pacing_spends_only_the_elapsed_share(home: Path) -> None:
    application = make_app(home, pacing_slack=0.0)
    service = application.state.service
    try:
        noon = 86_400 * 20_000 + 43_200.0
        service.promotions.clock = lambda: noon
        request = Request(Query(user_id="s", context_items=("a",)), n=3)
        service.promotions.put_campaigns(
            [Campaign(campaign_id="even", item_id="c", bid=1.0, daily_budget=10.0)]
        )
        shown = sum(len(service.recommend(request, "s").sponsored) for _ in range(10))
        assert shown == 5  # half the day elapsed: half the budget
    finally:
        service.close()
