"""``shoprec models``: list the registered models and their hyperparameters."""

from __future__ import annotations

from rich.table import Table

from shoprec.models import model_class, model_keys

from .app import app, console


@app.command("models")
def list_models() -> None:
    """List registered model keys with their config fields and defaults."""
    table = Table("key", "class", "hyperparameters (defaults)")
    for key in model_keys():
        cls = model_class(key)
        fields = ", ".join(
            f"{name}={field.default!r}" if field.default_factory is None else name
            for name, field in cls.config_cls.model_fields.items()
        )
        table.add_row(key, cls.__name__, fields)
    console.print(table)
