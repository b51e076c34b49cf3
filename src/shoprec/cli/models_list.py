"""``shoprec models``: the registered models, then the versions trained in this home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from shoprec.errors import ArtifactError
from shoprec.jobs import METRICS_FILE
from shoprec.models import ModelVersions, model_class, model_keys

from .app import ConfigOption, app, console, settings_from


def _record(version_dir: Path) -> dict[str, Any]:
    """A version's ``metrics.json`` (empty when it has none or it is unreadable)."""
    try:
        record = json.loads((version_dir / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def privacy_cell(record: dict[str, Any]) -> str:
    """How private a version is: the accountant's epsilon (and delta), or "not private"."""
    privacy = record.get("privacy")
    if not isinstance(privacy, dict):
        return "not private"
    return f"ε = {privacy['epsilon']:.3g} (δ = {privacy['delta']:.2g})"


def versions_table(models_dir: Path) -> Table | None:
    """The trained versions, newest first, with test NDCG@10 and privacy (``None``: none)."""
    versions = ModelVersions(models_dir)
    names = versions.versions()
    if not names:
        return None
    try:
        current: str | None = versions.current().name
    except ArtifactError:  # none published, or the pointer names a missing version
        current = None
    table = Table("version", "model", "test NDCG@10", "privacy", title=f"versions in {models_dir}")
    for name in reversed(names):
        record = _record(models_dir / name)
        ndcg = record.get("test", {}).get("NDCG@10")
        table.add_row(
            name + (" (current)" if name == current else ""),
            str(record.get("model", "")),
            f"{ndcg:.4f}" if isinstance(ndcg, int | float) else "–",
            privacy_cell(record),
        )
    return table


@app.command("models")
def list_models(config: ConfigOption = None) -> None:
    """List registered model keys with their defaults, then this home's trained versions."""
    table = Table("key", "class", "hyperparameters (defaults)")
    for key in model_keys():
        cls = model_class(key)
        fields = ", ".join(
            f"{name}={field.default!r}" if field.default_factory is None else name
            for name, field in cls.config_cls.model_fields.items()
        )
        table.add_row(key, cls.__name__, fields)
    console.print(table)
    versions = versions_table(settings_from(config).models_dir)
    if versions is not None:
        console.print(versions)
