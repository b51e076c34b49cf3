"""Shared configuration bases for models: hyperparameters (config) versus run context (options)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from shoprec.errors import ConfigError
from shoprec.types import EventType


class BaseConfig(BaseModel):
    """Base of every component config: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def default_event_weights() -> dict[str, float]:
    """Default strength of each event type (purchase > add-to-cart > favourite > view)."""
    return {
        EventType.VIEW: 1.0,
        EventType.CLICK: 1.0,
        EventType.SEARCH: 0.5,
        EventType.ADDTOCART: 3.0,
        EventType.REMOVEFROMCART: 0.0,
        EventType.FAVORITE: 2.0,
        EventType.PURCHASE: 5.0,
        EventType.COUPON_REDEEM: 5.0,  # a purchase made with a coupon
        EventType.REVIEW: 4.0,
        EventType.RATING: 3.0,
    }


class WeightedConfig(BaseConfig):
    """Config mixin for models that weight interactions by event type."""

    event_weights: dict[str, float] = Field(default_factory=default_event_weights)
    """Weight of each event type; types not listed weigh 1."""


#: ``update(done, total, info)``: how far a long step of a fit has come.
ProgressUpdate = Callable[[int, int, str], None]


class Progress(Protocol):
    """Shows the long steps of a fit: ``with progress("training") as update: update(3, 10, "")``.

    The caller chooses the display (the CLI passes rich bars); models only report to it.
    """

    def __call__(self, description: str) -> AbstractContextManager[ProgressUpdate]:
        """A context manager for one step, yielding its ``update(done, total, info)``."""


@dataclass(frozen=True)
class FitOptions:
    """Run context for ``fit`` (not hyperparameters).

    Attributes:
        seed: Random seed; the same seed and data give the same model.
        device: Torch device for models that use one (``"cpu"``, ``"cuda"``, ``"auto"``).
        max_epochs: Cap on training epochs for iterative models (``None``: the config's own).
        validation: Hold-out data the model may use for early stopping.
        progress: Where long steps (text encoding, training epochs) report their progress;
            ``None``: nowhere.
        rank: This process's place among ``world_size`` data-parallel training processes; rank
            0 alone validates, early-stops and keeps the best weights.
        world_size: Processes training one model together, each on its share of every batch
            (``torch.distributed`` must already be initialised when more than 1; only SASRec
            trains data-parallel).
        log_dir: Folder for TensorBoard training curves of iterative models (loss, validation
            metrics, learning rate, epoch time per epoch); ``None``: none are written.
    """

    seed: int = 0
    device: str = "auto"
    max_epochs: int | None = None
    validation: object | None = None
    progress: Progress | None = None
    rank: int = 0
    world_size: int = 1
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(
                f"FitOptions: rank {self.rank} is outside a world of {self.world_size} processes"
            )
