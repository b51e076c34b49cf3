"""Pseudonymous shopper ids: the stores keep a keyed hash, never the id (#18)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shoprec.errors import ConfigError
from shoprec.events import Pseudonyms, SQLiteEventStore
from shoprec.serving import create_app
from shoprec.settings import Settings, load_settings

from .conftest import make_settings

SHOPPER = "alice@example.com"


def _settings(home: Path) -> Settings:
    base = make_settings(home).model_dump()
    return Settings.model_validate(base | {"privacy": {"pseudonymize": True, "key": "k3y"}})


def test_the_store_keeps_a_keyed_hash_and_the_api_takes_the_real_id(home: Path) -> None:
    pseudonym = Pseudonyms(SecretStr("k3y")).of(SHOPPER)
    assert pseudonym.startswith("p_") and pseudonym != Pseudonyms(SecretStr("other")).of(SHOPPER)
    with TestClient(create_app(_settings(home))) as client:
        event = {"user_id": SHOPPER, "item_id": "a", "event_type": "view"}
        assert client.post("/v1/events", json=event).status_code == 200
        items = client.get(f"/v1/users/{SHOPPER}/recommendations").json()["items"]
        assert any("because you viewed shoes a" in i["reason"] for i in items)  # their history
        stats = client.get("/v1/admin/stats").text
        assert SHOPPER not in stats and pseudonym in stats
        with SQLiteEventStore(home / "shoprec.db") as store:
            assert pseudonym in store.users() and SHOPPER not in store.users()
        for path in home.rglob("*"):
            if path.is_file():
                assert SHOPPER.encode() not in path.read_bytes(), path
        forgotten = client.delete(f"/v1/users/{SHOPPER}").json()
        assert forgotten["events_deleted"] == 1
        with SQLiteEventStore(home / "shoprec.db") as store:
            assert pseudonym not in store.users()


def test_pseudonymizing_needs_a_key(tmp_path: Path) -> None:
    config = tmp_path / "shoprec.toml"
    config.write_text("[privacy]\npseudonymize = true\n")
    with pytest.raises(ConfigError, match="privacy.pseudonymize needs privacy.key"):
        load_settings(config)
