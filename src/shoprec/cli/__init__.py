"""Command-line interface: one module per command, each calling library functions only."""

from . import config_show, models_list
from .app import app, main

__all__ = ["app", "config_show", "main", "models_list"]
