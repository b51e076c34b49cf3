"""Effective configuration: TOML file + ``SHOPREC_*`` environment overrides, validated.

Only the edges (CLI, the service's app factory) build :class:`Settings`; every component below
receives its own config object from here and never reads files or the environment itself.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shoprec.errors import ConfigError
from shoprec.events import Pseudonyms
from shoprec.pipeline import PipelineConfig
from shoprec.promotions import PromotionsConfig

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


class VariantSettings(BaseModel):
    """One arm of an A/B test: a share of shoppers and what differs for them."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    """Name reported with each response and in the experiment metrics."""
    weight: Annotated[float, Field(gt=0.0)] = 1.0
    """Share of shoppers (relative to the other variants' weights)."""
    model: str | None = None
    """Model version directory name under ``models/`` (``None``: the current model)."""
    blend_weights: dict[str, float] | None = None
    """Source weights for this variant (``None``: the pipeline's)."""
    diversity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    """MMR diversity weight for this variant (``None``: the pipeline's)."""


class PrivacySettings(BaseModel):
    """How shoppers' identities are kept."""

    model_config = ConfigDict(extra="forbid")

    pseudonymize: bool = False
    """Keep a keyed hash of each shopper id instead of the id, in every store (events, live
    state, Redis, the dashboard); the API and the CLI still take the real ids."""
    key: SecretStr | None = None
    """The secret of that hash (``SHOPREC_PRIVACY__KEY``); required with ``pseudonymize``.
    Changing it makes every stored shopper a stranger."""

    @model_validator(mode="after")
    def _key_given(self) -> PrivacySettings:
        if self.pseudonymize and self.key is None:
            raise ValueError("privacy.pseudonymize needs privacy.key (SHOPREC_PRIVACY__KEY)")
        return self

    def pseudonyms(self) -> Pseudonyms:
        """The id mapping these settings ask for (the identity unless ``pseudonymize``)."""
        return Pseudonyms(self.key if self.pseudonymize else None)


class ServingSettings(BaseModel):
    """The HTTP service: address, security, limits, pipeline and experiments."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """TCP port."""
    workers: Annotated[int, Field(ge=1)] = 1
    """Server processes on the port; more than 1 needs shared live state (``state_url``)."""
    write_keys: list[SecretStr] = Field(default_factory=list)
    """API keys allowed to send events and change the catalogue (``X-API-Key``). With no key
    of any kind configured the service is open; once one is, writes need a write or admin key."""
    admin_keys: list[SecretStr] = Field(default_factory=list)
    """API keys for admin routes (reload, retrain, experiments, shoppers, forgetting them).
    Once any key is configured, admin routes need one of these (none set: they are closed)."""
    read_keys: list[SecretStr] = Field(default_factory=list)
    """API keys for recommendation reads; empty: reads need no key (but a named shopper's
    recommendations need a key or their token once any key is set)."""
    token_secret: SecretStr | None = None
    """Secret signing shopper tokens (``shoprec token``): a token lets one shopper's browser
    read their own recommendations and send their own events. ``None``: no tokens."""
    rate_limit_per_s: Annotated[float, Field(gt=0.0)] | None = None
    """Requests per second each API key (or, without one, each client address) may make to
    ``/v1`` on one replica; more get 429 with ``Retry-After``. ``None``: no limit."""
    rate_limit_burst: Annotated[int, Field(ge=1)] = 100
    """Requests a client may make at once above its rate (the token bucket's size)."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API (``["*"]`` for any); empty: no CORS headers."""
    max_body_bytes: Annotated[int, Field(ge=1)] = 1_048_576
    """Largest accepted request body; larger ones get 413."""
    max_batch_size: Annotated[int, Field(ge=1)] = 1000
    """Most events or items in one request; more get 413."""
    max_clock_skew_s: Annotated[float, Field(ge=0.0)] = 300.0
    """Events stamped later than now plus this are refused (422): one far-future timestamp
    would otherwise outweigh every other event in trending."""
    max_n: Annotated[int, Field(ge=1, le=1000)] = 100
    """Largest ``n`` a recommendation request may ask for."""
    reload_interval_s: Annotated[float, Field(ge=0.0)] = 1.0
    """How often the ``CURRENT`` model pointer is checked for a new version (0: never)."""
    covisit: bool = True
    """Fit a co-visitation model on the event log at (re)load for the co-visitation source
    when the live model is not one (``False``: use the live model's item similarity)."""
    state_capacity: Annotated[int, Field(ge=1)] = 100_000
    """Shoppers whose live state is held in memory (least recently seen reloaded on demand)."""
    state_ttl_s: Annotated[float, Field(ge=1.0)] = 7 * 86_400.0
    """With shared state (``state_url``): a shopper's or anonymous session's live state
    expires this long after their last event (rebuilt from the event store if they return)."""
    health_interval_s: Annotated[float, Field(gt=0.0)] = 0.5
    """With a shared backend: how often each replica checks that PostgreSQL and Redis answer
    (``/health/ready`` and refusing writes while one is gone use the latest check)."""
    experiment_salt: str = "shoprec"
    """Salt of the variant assignment hash (change it to reshuffle shoppers)."""
    variants: list[VariantSettings] = Field(default_factory=list)
    """A/B test arms; empty: everyone gets the ``default`` variant."""
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    """Sources, blend weights, event-type weights, diversity and scenarios."""
    promotions: PromotionsConfig = Field(default_factory=PromotionsConfig)
    """Coupons (their ranking model) and sponsored slots (positions per scenario, relevance
    floor, click prior, pacing); see docs/promotions.md."""


class Settings(BaseSettings):
    """Everything shoprec can be told; defaults run on one machine with embedded storage."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPREC_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Path("shoprec-data")
    """Folder of the embedded state: the event store, model artifacts and caches."""
    events_url: str | None = None
    """Where events and the catalogue live: ``postgresql://user:pass@host:5432/db`` for a
    shared PostgreSQL; ``None``: the embedded SQLite file in ``home`` (docs/scaling.md)."""
    state_url: str | None = None
    """Where live state lives (shoppers' recent events and carts, trending, A/B counters, the
    serving model version): ``redis://host:6379/0`` to share it between replicas; ``None``: in
    this process's memory (one replica only)."""
    model: ModelSettings = Field(default_factory=ModelSettings)
    """The model ``shoprec train`` builds."""
    train: TrainSettings = Field(default_factory=TrainSettings)
    """Training run context."""
    serving: ServingSettings = Field(default_factory=ServingSettings)
    """The HTTP service (``shoprec serve``)."""
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    """How shoppers' identities are kept (pseudonymous ids)."""

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

    #: Whether ``SHOPREC_*`` environment variables override the values given.
    _from_environment: ClassVar[bool] = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values passed, unless the environment is asked for.

        Code that builds settings gets exactly what it asked for (a benchmark's own home must
        not be replaced by the caller's ``SHOPREC_HOME``); the environment is the CLI's and
        the server's edge, read by :func:`load_settings`, where it overrides the TOML file.
        """
        return (env_settings, init_settings) if cls._from_environment else (init_settings,)


class _FromEnvironment(Settings):
    """:class:`Settings` whose ``SHOPREC_*`` environment variables override the values given."""

    _from_environment: ClassVar[bool] = True


def mask_url(url: str | None) -> str | None:
    """``url`` with its password replaced by ``***`` (for printing settings)."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path`` plus the environment.

    ``path`` is TOML, or JSON by its suffix; by default ``./shoprec.toml`` when present.

    Raises:
        ConfigError: The file cannot be read or a value is invalid (the message names the key).
    """
    values: dict[str, Any] = {}
    file = path if path is not None else DEFAULT_CONFIG_FILE
    if path is not None and not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    if file.is_file():
        text = file.read_text(encoding="utf-8")
        try:
            # JSON too: settings a process hands to a child (e.g. a retraining run).
            values = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{file}: invalid {file.suffix[1:].upper()}: {exc}") from exc
    try:
        return _FromEnvironment(**values)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings ({file}): {problems}") from exc
