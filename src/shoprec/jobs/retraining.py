"""Background retraining: the next model version from the event log, on a schedule or trigger.

Each run trains the configured model on the whole embedded store, warm-started from the
current version when it is the same kind of model (new items start from their text), and
publishes it; a running service swaps it in through the ``CURRENT`` pointer it watches. A
run is skipped when fewer than ``min_new_events`` events arrived since the current version
was trained (its ``metrics.json`` records the store position it saw).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shoprec.errors import ArtifactError
from shoprec.events import open_event_store
from shoprec.models import FitOptions, ModelVersions, read_artifact_meta
from shoprec.settings import Settings

from .training import METRICS_FILE, TrainResult, load_store_data, train_and_publish

#: Key of ``metrics.json`` holding the last store sequence number the version was trained on.
STORE_SEQ = "store_seq"


@dataclass(frozen=True)
class RetrainPolicy:
    """When to retrain.

    Attributes:
        every_s: Seconds between checks (the schedule).
        min_new_events: Events since the current version that make a check train (the trigger).
    """

    every_s: float = 3600.0
    min_new_events: int = 1


def trained_through(version_dir: Path) -> int:
    """The store sequence number a version was trained up to (0 when not recorded)."""
    try:
        record = json.loads((version_dir / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return int(record.get(STORE_SEQ, 0)) if isinstance(record, dict) else 0


def _current(versions: ModelVersions) -> Path | None:
    try:
        return versions.current()
    except ArtifactError:
        return None


def new_events(settings: Settings) -> tuple[int, int]:
    """``(events since the current version, the store's last sequence number)``."""
    with open_event_store(settings.events_url, settings.store_path) as store:
        last = store.last_seq()
    current = _current(ModelVersions(settings.models_dir))
    return last - (trained_through(current) if current is not None else 0), last


def retrain_once(settings: Settings, min_new_events: int = 1) -> TrainResult | None:
    """Train and publish the next version if enough events arrived; ``None`` when skipped."""
    fresh, last = new_events(settings)
    if fresh < min_new_events:
        return None
    versions = ModelVersions(settings.models_dir)
    key = settings.model.key
    current = _current(versions)
    warm = current if current is not None and read_artifact_meta(current)["model"] == key else None
    opts = FitOptions(
        seed=settings.train.seed, device=settings.train.device, max_epochs=settings.train.max_epochs
    )
    return train_and_publish(
        load_store_data(settings.events_url, settings.store_path),
        key,
        settings.model.params,
        versions,
        opts,
        cache_dir=settings.cache_dir,
        warm_start=warm,
        provenance={STORE_SEQ: last},
    )


def retrain_loop(
    settings: Settings,
    policy: RetrainPolicy,
    stop: threading.Event,
    report: Callable[[TrainResult | None], None] = lambda _: None,
) -> None:
    """Run :func:`retrain_once` every ``policy.every_s`` seconds until ``stop`` is set."""
    while not stop.is_set():
        report(retrain_once(settings, policy.min_new_events))
        stop.wait(policy.every_s)
