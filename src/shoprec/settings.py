"""Effective configuration: TOML file + ``SHOPREC_*`` environment overrides, validated.

Only the edges (CLI, the service's app factory) build :class:`Settings`; every component below
receives its own config object from here and never reads files or the environment itself.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shoprec.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("shoprec.toml")


class ModelSettings(BaseModel):
    """Which model to train and with which hyperparameters."""

    model_config = ConfigDict(extra="forbid")

    key: str = "ease"
    """Registered model key (``shoprec models`` lists them)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Values for the model's own config; unknown keys are errors."""


class TrainSettings(BaseModel):
    """Run context of training (not hyperparameters)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    """Random seed; the same seed and data give the same model."""
    device: str = "auto"
    """Torch device for neural models: ``auto``, ``cpu`` or ``cuda``."""
    max_epochs: int | None = None
    """Cap on epochs for iterative models (``None``: the model's own)."""


class Settings(BaseSettings):
    """Everything shoprec can be told; defaults run on one machine with embedded storage."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPREC_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Path("shoprec-data")
    """Folder of the embedded state: the event store, model artifacts and caches."""
    model: ModelSettings = Field(default_factory=ModelSettings)
    """The model ``shoprec train`` builds."""
    train: TrainSettings = Field(default_factory=TrainSettings)
    """Training run context."""

    @property
    def store_path(self) -> Path:
        """SQLite file holding events and the catalogue."""
        return self.home / "shoprec.db"

    @property
    def models_dir(self) -> Path:
        """Folder of versioned model artifacts (``current`` points at the live one)."""
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        """Folder of caches (text embeddings by content hash)."""
        return self.home / "cache"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment variables override the TOML file (passed as init values)."""
        return env_settings, init_settings


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path`` (default ``./shoprec.toml`` when present) plus the environment.

    Raises:
        ConfigError: The file cannot be read or a value is invalid (the message names the key).
    """
    values: dict[str, Any] = {}
    file = path if path is not None else DEFAULT_CONFIG_FILE
    if path is not None and not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    if file.is_file():
        try:
            values = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: invalid TOML: {exc}") from exc
    try:
        return Settings(**values)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings ({file}): {problems}") from exc
