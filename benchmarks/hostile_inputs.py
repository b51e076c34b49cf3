"""Each hostile or clumsy request of issue #18 against a fresh service: status and what was stored.

    python benchmarks/hostile_inputs.py

Builds a small shop (the synthetic `small` preset, a co-visitation model) in a temporary home,
serves it in process with write, admin and read keys and a token secret configured, sends each
request and prints a table: the status now and how many events the store gained. The "before"
column of docs/security.md is what the issue measured on main before the change.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shoprec.data import Interactions
from shoprec.data.synthetic import generate_shop, preset
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.serving import create_app
from shoprec.serving.security import mint_token
from shoprec.settings import ServingSettings, Settings

WRITE, ADMIN, READ = {"X-API-Key": "w"}, {"X-API-Key": "a"}, {"X-API-Key": "r"}
EVENT = {"user_id": "u1", "item_id": "i000001", "event_type": "view"}
Attack = tuple[str, Callable[[TestClient], Any]]


def _raw(client: TestClient, method: str, path: str, body: str, headers: dict[str, str]) -> Any:
    headers = {**headers, "content-type": "application/json"}
    return client.request(method, path, content=body.encode(), headers=headers)


def attacks(token: str) -> list[Attack]:
    """(what, request) pairs, in the order of the issue."""
    surrogate = (
        '{"user_id": "u1", "item_id": "i000001", "event_type": "view", "context": {"a": "\\ud800"}}'
    )
    title = '{"items": [{"item_id": "zz", "title": "\\ud800"}]}'
    return [
        (
            "event with a lone surrogate in its context",
            lambda c: _raw(c, "POST", "/v1/events", surrogate, WRITE),
        ),
        (
            "item with a lone surrogate in its title",
            lambda c: _raw(c, "PUT", "/v1/items", title, WRITE),
        ),
        (
            "event with timestamp 1e15",
            lambda c: c.post("/v1/events", json={**EVENT, "timestamp": 1e15}, headers=WRITE),
        ),
        (
            "event with NaN value",
            lambda c: _raw(
                c,
                "POST",
                "/v1/events",
                '{"user_id": "u1", "item_id": "i000001", "event_type": "view", "value": NaN}',
                WRITE,
            ),
        ),
        (
            "boost of 1e308 and a pin at position 10^9",
            lambda c: c.post(
                "/v1/recommendations",
                json={"boost_items": {"i000001": 1e308}, "pins": {"i000002": 10**9}},
                headers=READ,
            ),
        ),
        (
            "n = 10^6",
            lambda c: c.get("/v1/items/i000001/similar", params={"n": 10**6}, headers=READ),
        ),
        (
            "PATCH an item with attributes: null",
            lambda c: c.patch("/v1/items/i000001", json={"attributes": None}, headers=WRITE),
        ),
        (
            "admin route (reload) with a write key, no admin key configured*",
            lambda c: c.post("/v1/admin/reload", headers=WRITE),
        ),
        ("list shopper ids with a read key", lambda c: c.get("/v1/users", headers=READ)),
        (
            "another shopper's recommendations, no key",
            lambda c: c.get("/v1/users/u2/recommendations"),
        ),
        (
            "another shopper's recommendations with u1's token",
            lambda c: c.get("/v1/users/u2/recommendations", headers={"X-Shopper-Token": token}),
        ),
        (
            "own recommendations with u1's token",
            lambda c: c.get("/v1/users/u1/recommendations", headers={"X-Shopper-Token": token}),
        ),
        (
            "events for u2 with u1's token",
            lambda c: c.post(
                "/v1/events", json={**EVENT, "user_id": "u2"}, headers={"X-Shopper-Token": token}
            ),
        ),
        (
            "an event sent twice with the same event_id (retry)",
            lambda c: [
                c.post("/v1/events", json={**EVENT, "event_id": "e-1"}, headers=WRITE)
                for _ in range(2)
            ][-1],
        ),
        (
            "forget u3, then an event of u3",
            lambda c: (
                c.delete("/v1/users/u3", headers=ADMIN),
                c.post("/v1/events", json={**EVENT, "user_id": "u3"}, headers=WRITE),
            )[1],
        ),
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shoprec-hostile-") as tmp:
        home = Path(tmp) / "home"
        shop = generate_shop(preset("small"))
        with SQLiteCatalog(home / "shoprec.db") as catalogue:
            catalogue.upsert(shop.items)
        with SQLiteEventStore(home / "shoprec.db") as store:
            store.append_many([shop.events])
        data = Interactions(shop.events, shop.items)
        train_and_publish(
            data, "covisit", {}, ModelVersions(home / "models"), FitOptions(), validate=False
        )
        serving = ServingSettings.model_validate(
            {
                "write_keys": ["w"],
                "admin_keys": ["a"],
                "read_keys": ["r"],
                "token_secret": "s",
                "reload_interval_s": 0,
            }
        )
        token = mint_token(SecretStr("s"), "u1", 600)
        table = Table("request", "status", "detail", "events stored by it")
        with TestClient(create_app(Settings(home=home, serving=serving))) as client:
            for what, send in attacks(token):
                before = client.app.state.service.live.backends.events.count()  # type: ignore[attr-defined]
                response = send(client)
                after = client.app.state.service.live.backends.events.count()  # type: ignore[attr-defined]
                detail = response.json().get("detail", "") if response.status_code >= 400 else ""
                table.add_row(
                    what, str(response.status_code), escape(str(detail)[:70]), str(after - before)
                )
        # *: with write keys set but no admin key, admin routes are closed (403), not open.
        closed = ServingSettings.model_validate({"write_keys": ["w"], "reload_interval_s": 0})
        with TestClient(create_app(Settings(home=home, serving=closed))) as client:
            response = client.post("/v1/admin/reload", headers=WRITE)
            table.add_row(
                "* same, write keys only configured",
                str(response.status_code),
                response.json()["detail"][:70],
                "0",
            )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
