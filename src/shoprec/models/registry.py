"""Registry of models by short key ("popularity", "ease", "sasrec", ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from shoprec.errors import UnknownModelError

from .base import BaseRecommender, read_artifact_meta

_REGISTRY: dict[str, type[BaseRecommender]] = {}
# Keys whose classes live in optional modules, imported on first use (keeps torch out of
# `import shoprec`): key -> (module, class name, config overrides).
_LAZY: dict[str, tuple[str, str, dict[str, Any]]] = {}

M = TypeVar("M", bound=type[BaseRecommender])


def register(cls: M) -> M:
    """Class decorator: register a model under its ``key``."""
    _REGISTRY[cls.key] = cls
    return cls


def register_lazy(key: str, module: str, cls_name: str, **overrides: Any) -> None:
    """Register a model (or a preset of one) that is imported only when first asked for."""
    _LAZY[key] = (module, cls_name, overrides)


def model_keys() -> list[str]:
    """Every registered key, sorted."""
    return sorted({*_REGISTRY, *_LAZY})


def model_class(key: str) -> type[BaseRecommender]:
    """The class registered under ``key``."""
    if key in _REGISTRY:
        return _REGISTRY[key]
    if key in _LAZY:
        import importlib

        module, name, _ = _LAZY[key]
        cls: type[BaseRecommender] = getattr(importlib.import_module(module), name)
        return cls
    raise UnknownModelError(f"unknown model {key!r}; known: {', '.join(model_keys())}")


def create_model(key: str, params: dict[str, Any] | None = None) -> BaseRecommender:
    """Build an unfitted model from its key and config values (a preset's overrides first)."""
    cls = model_class(key)
    overrides = _LAZY[key][2] if key in _LAZY and key not in _REGISTRY else {}
    return cls(cls.config_cls.model_validate({**overrides, **(params or {})}))


def load_model(path: Path) -> BaseRecommender:
    """Load any model artifact directory, dispatching on the key in its ``config.json``."""
    meta = read_artifact_meta(path)
    return model_class(meta["model"]).load(path)
