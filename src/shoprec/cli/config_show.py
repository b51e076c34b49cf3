"""``shoprec config show``: print the effective configuration (file + environment + defaults)."""

from __future__ import annotations

import json

from shoprec.settings import mask_url

from .app import ConfigOption, config_app, console, settings_from


@config_app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective settings as JSON (passwords in backend URLs masked)."""
    settings = settings_from(config)
    values = settings.model_dump(mode="json")
    for key in ("events_url", "state_url"):
        values[key] = mask_url(values[key])
    console.print_json(json.dumps(values))
