"""Settings: the TOML file, the environment over it, and settings built by code left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoprec.settings import Settings, load_settings, mask_url


def test_the_environment_overrides_the_file_but_not_settings_built_by_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#18: `bench-serve --model-dir` served the caller's SHOPREC_HOME, not its own home."""
    config = tmp_path / "shoprec.toml"
    config.write_text('home = "from-file"\n[serving]\nport = 9000\n')
    monkeypatch.setenv("SHOPREC_HOME", "from-env")
    monkeypatch.setenv("SHOPREC_STATE_URL", "redis://env:6379/0")
    loaded = load_settings(config)
    assert (str(loaded.home), loaded.serving.port) == ("from-env", 9000)
    assert loaded.state_url == "redis://env:6379/0"
    built = Settings(home=tmp_path / "own")
    assert (built.home, built.state_url) == (tmp_path / "own", None)


def test_passwords_in_backend_urls_are_masked() -> None:
    assert mask_url("postgresql://shop:s3cret@db:5432/x") == "postgresql://shop:***@db:5432/x"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url(None) is None
