"""The CLI on a shared PostgreSQL store, with pseudonymous ids: import, train, recommend, forget.

Every command that reads or writes events follows ``events_url`` (#17), and with
``privacy.pseudonymize`` every one of them names shoppers by their keyed hash (#18).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.events import Pseudonyms, open_event_store

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_train_recommend_forget_on_postgresql_with_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("SHOPREC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPREC_EVENTS_URL", postgres_url)
    monkeypatch.setenv("SHOPREC_PRIVACY__PSEUDONYMIZE", "true")
    monkeypatch.setenv("SHOPREC_PRIVACY__KEY", "k3y")
    monkeypatch.chdir(tmp_path)
    shop = tmp_path / "shop"
    _ok(["data", "generate", "--output", str(shop), "--preset", "small"])
    _ok(["data", "import", str(shop)])
    assert not (tmp_path / "home" / "shoprec.db").exists()  # nothing went to SQLite
    pseudonym = Pseudonyms(SecretStr("k3y")).of("u000001")
    with open_event_store(postgres_url, tmp_path / "unused.db") as store:
        users = store.users()
        assert pseudonym in users and "u000001" not in users
        stored = store.count()
    assert "HR@10" in _ok(["train", "--model", "covisit"])
    out = _ok(["recommend", "--user", "u000001", "--n", "3"])
    assert "shopper u000001" in out and "0 events" not in out
    _ok(["users", "forget", "u000001"])
    with open_event_store(postgres_url, tmp_path / "unused.db") as store:
        assert pseudonym not in store.users() and store.count() < stored
