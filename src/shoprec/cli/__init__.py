"""Command-line interface: one module per command, each calling library functions only."""

from . import (
    bench_serve,
    benchmark,
    config_show,
    data_generate,
    data_import,
    demo,
    models_list,
    optimize,
    recommend,
    retrain,
    serve,
    token,
    train,
    users,
)
from .app import app, main

__all__ = [
    "app",
    "bench_serve",
    "benchmark",
    "config_show",
    "data_generate",
    "data_import",
    "demo",
    "main",
    "models_list",
    "optimize",
    "recommend",
    "retrain",
    "serve",
    "token",
    "train",
    "users",
]
