"""``shoprec serve`` builds the app from the settings and runs uvicorn with uvloop/httptools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

import shoprec.cli.serve  # noqa: F401 - registers the command
from shoprec.cli import app

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
    result = runner.invoke(app, ["serve", "-c", str(config), "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert isinstance(call["app"], FastAPI)
    assert (call["host"], call["port"]) == ("0.0.0.0", 9123)
    assert (call["loop"], call["http"]) == ("uvloop", "httptools")
    call["app"].state.service.close()


def test_serve_refuses_several_workers(tmp_path: Path) -> None:
    config = tmp_path / "shoprec.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[serving]\nworkers = 2\n')
    result = runner.invoke(app, ["serve", "-c", str(config)])
    assert result.exit_code != 0
    assert "only 1 is supported" in str(result.exception)
