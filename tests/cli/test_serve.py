"""``shoprec serve`` builds the app from the settings and runs uvicorn with uvloop/httptools."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from typer.testing import CliRunner

import shoprec.cli.serve  # noqa: F401 - registers the command
from shoprec.cli import app
from shoprec.serving import SETTINGS_ENV, worker_app
from shoprec.serving.security import token_valid

runner = CliRunner()


def test_serve_runs_uvicorn_with_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run(application: Any, **kwargs: Any) -> None:
        calls.append({"app": application, **kwargs})

    monkeypatch.setattr("uvicorn.run", fake_run)
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[serving]\nport = 9123\n')
    result = runner.invoke(app, ["serve", "-c", str(config), "--host", "0.0.0.0", "--insecure"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert isinstance(call["app"], FastAPI)
    assert (call["host"], call["port"]) == ("0.0.0.0", 9123)
    assert (call["loop"], call["http"]) == ("uvloop", "httptools")
    call["app"].state.service.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "shop.example.com"])
def test_serve_beyond_loopback_needs_a_key_or_insecure(tmp_path: Path, host: str) -> None:
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n')
    result = runner.invoke(app, ["serve", "-c", str(config), "--host", host])
    assert result.exit_code != 0
    assert f"refusing to serve on {host} with no API key" in str(result.exception)


def test_token_command_mints_a_token_the_service_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[serving]\ntoken_secret = "s3"\n')
    result = runner.invoke(app, ["token", "alice", "--ttl", "60", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert token_valid(SecretStr("s3"), result.output.strip(), "alice")
    assert not token_valid(SecretStr("s3"), result.output.strip(), "bob")
    unset = runner.invoke(app, ["token", "alice"])
    assert unset.exit_code != 0 and "token_secret is not set" in str(unset.exception)


def test_serve_refuses_several_workers_with_state_in_memory(tmp_path: Path) -> None:
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[serving]\nworkers = 2\n')
    result = runner.invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code != 0
    assert "needs shared live state: set state_url" in str(result.exception)


def test_serve_starts_workers_that_share_redis_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda target, **kw: calls.append({"app": target, **kw}))
    monkeypatch.setenv(SETTINGS_ENV, "")  # restored afterwards: the command sets it
    monkeypatch.setenv("SHOPREC_STATE_URL", redis_url)
    monkeypatch.setenv("SHOPREC_SERVING__WRITE_KEYS", '["s3cret"]')
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n')
    result = runner.invoke(app, ["serve", "-c", str(config), "--workers", "3", "--insecure"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert (call["app"], call["factory"], call["workers"]) == (
        "shoprec.serving:worker_app",
        True,
        3,
    )
    # Each worker builds its app from the settings file the variable names: the real keys,
    # readable by this user only.
    path = Path(os.environ[SETTINGS_ENV])
    assert path.stat().st_mode & 0o777 == 0o600
    worker = worker_app()
    try:
        service = worker.state.service
        assert service.settings.state_url == redis_url
        assert [k.get_secret_value() for k in service.config.write_keys] == ["s3cret"]
        assert service.bus is not None
    finally:
        worker.state.unwatch_gc()
        gc.unfreeze()
        worker.state.service.close()
