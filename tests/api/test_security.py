"""Access control that fails closed: admin routes, shoppers' own data, tokens, rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shoprec.serving import create_app
from shoprec.serving.security import RateLimiter, mint_token, token_valid

from .conftest import make_settings

SECRET = "token-secret"
ADMIN_ROUTES = [
    ("post", "/v1/admin/reload"),
    ("get", "/v1/admin/experiments"),
    ("get", "/v1/admin/stats"),
    ("get", "/v1/users"),
    ("delete", "/v1/users/u1"),
]


@pytest.mark.parametrize("configured", ["read_keys", "write_keys"])
def test_admin_routes_are_closed_once_any_key_is_set_but_no_admin_key(
    home: Path, configured: str
) -> None:
    with TestClient(create_app(make_settings(home, **{configured: ["k"]}))) as client:
        for method, path in ADMIN_ROUTES:
            for headers in ({}, {"X-API-Key": "k"}):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 403, (method, path, headers)
                assert "admin routes are closed" in response.json()["detail"]


def test_admin_routes_are_open_only_with_no_key_at_all(home: Path) -> None:
    with TestClient(create_app(make_settings(home))) as client:
        assert client.get("/v1/users").status_code == 200
        assert client.get("/v1/admin/experiments").status_code == 200


@pytest.fixture
def secured(home: Path) -> TestClient:
    settings = make_settings(
        home, read_keys=["r"], write_keys=["w"], admin_keys=["a"], token_secret=SECRET
    )
    return TestClient(create_app(settings))


def _token(user: str, ttl: float = 60.0) -> dict[str, str]:
    return {"X-Shopper-Token": mint_token(SecretStr(SECRET), user, ttl)}


def test_a_shopper_reads_their_own_recommendations_and_nobody_elses(secured: TestClient) -> None:
    with secured as client:
        mine = client.get("/v1/users/u1/recommendations", headers=_token("u1"))
        assert mine.status_code == 200 and mine.json()["items"]
        theirs = client.get("/v1/users/u2/recommendations", headers=_token("u1"))
        assert theirs.status_code == 403
        assert client.get("/v1/users/u1/recommendations").status_code == 401
        expired = client.get("/v1/users/u1/recommendations", headers=_token("u1", ttl=-5))
        assert expired.status_code == 403
        forged = {"X-Shopper-Token": mint_token(SecretStr("guess"), "u1", 60)}
        assert client.get("/v1/users/u1/recommendations", headers=forged).status_code == 403
        # The shop's server reads any shopper with its key, the read key included.
        key = {"X-API-Key": "r"}
        assert client.get("/v1/users/u2/recommendations", headers=key).status_code == 200
        # The same rule guards the body routes that name a shopper.
        for path in ("/v1/recommendations", "/v1/cart/recommendations"):
            body = {"user_id": "u2"}
            assert client.post(path, json=body, headers=_token("u1")).status_code == 403
            assert client.post(path, json=body, headers=_token("u2")).status_code == 200
            assert client.post(path, json=body, headers=key | _token("u2")).status_code == 200


def test_a_token_sends_its_own_shoppers_events_only(secured: TestClient) -> None:
    own = {"user_id": "u1", "item_id": "a", "event_type": "view"}
    with secured as client:
        assert client.post("/v1/events", json=own, headers=_token("u1")).status_code == 200
        other = client.post("/v1/events", json={**own, "user_id": "u2"}, headers=_token("u1"))
        assert other.status_code == 403
        mixed = {"events": [own, {**own, "user_id": "u2"}]}
        assert client.post("/v1/events", json=mixed, headers=_token("u1")).status_code == 403
        # A read key cannot write, even for a shopper it may read.
        read = client.post("/v1/events", json=own, headers={"X-API-Key": "r"})
        assert read.status_code == 403
        assert client.post("/v1/events", json=mixed, headers={"X-API-Key": "w"}).status_code == 200


def test_tokens_name_one_shopper_and_an_expiry() -> None:
    secret = SecretStr("s")
    token = mint_token(secret, "alice", 10, now=1000.0)
    assert token.startswith("1010.")
    assert token_valid(secret, token, "alice", now=1009.0)
    assert not token_valid(secret, token, "alice", now=1011.0)
    assert not token_valid(secret, token, "bob", now=1009.0)
    assert not token_valid(SecretStr("t"), token, "alice", now=1009.0)
    for bad in ("", "abc", "1010", "99999999999999.x", "-5.abc"):
        assert not token_valid(secret, bad, "alice", now=0.0)


def test_rate_limit_answers_429_with_retry_after(home: Path) -> None:
    settings = make_settings(home, rate_limit_per_s=0.5, rate_limit_burst=3)
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/v1/items/a/similar").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        limited = client.get("/v1/items/a/similar")
        assert limited.headers["retry-after"] == "2" and "too many" in limited.json()["detail"]
        # Another key has its own bucket; health checks are never limited.
        other = client.get("/v1/items/a/similar", headers={"X-API-Key": "x"})
        assert other.status_code == 200
        assert client.get("/health/live").status_code == 200


def test_token_bucket_refills_at_its_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=2)
    assert [limiter.take("c", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.take("c", now=0.25) == pytest.approx(0.25)  # half a token so far
    assert limiter.take("c", now=0.5) == 0.0  # refused takes spent nothing: one token now
    assert limiter.take("c", now=0.5) == pytest.approx(0.5)
    assert limiter.take("d", now=0.5) == 0.0  # another client: a full bucket
