"""``shoprec config show``: print the effective configuration (file + environment + defaults)."""

from __future__ import annotations

import json

from .app import ConfigOption, config_app, console, settings_from


@config_app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective settings as JSON."""
    settings = settings_from(config)
    console.print_json(json.dumps(settings.model_dump(mode="json")))
