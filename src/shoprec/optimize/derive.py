"""From a fitted model to a compressed or derived one: the methods, artifact-to-artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shoprec.data import Interactions
from shoprec.errors import ConfigError
from shoprec.models import BaseRecommender, FitOptions, load_model, model_class

#: ``--method`` -> (registered key of the model it makes, preset settings, suffix in reports).
METHODS: dict[str, tuple[str, dict[str, Any], str]] = {
    "int8": ("sasrec-int8", {}, "int8"),
    "fp16": ("sasrec-fp16", {"dtype": "float16"}, "fp16"),
    "bf16": ("sasrec-fp16", {"dtype": "bfloat16"}, "bf16"),
    "prune": ("sasrec-pruned", {}, "pruned"),
    "distill": ("sasrec-distilled", {}, "distilled"),
    "onnx": ("sasrec-onnx", {}, "onnx"),
    "onnx-int8": ("sasrec-onnx", {"int8": True}, "onnx-int8"),
}

#: Methods that train and so need the training data.
NEEDS_DATA = frozenset({"prune", "distill"})


def _method(method: str) -> tuple[str, dict[str, Any], str]:
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return METHODS[method]


def derived_name(base_key: str, method: str) -> str:
    """Report name of a derived model: ``sasrec`` + ``int8`` -> ``sasrec-int8``."""
    return f"{base_key}-{_method(method)[2]}"


def derive_model(
    model: BaseRecommender,
    method: str,
    data: Interactions | None = None,
    opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
    settings: dict[str, Any] | None = None,
) -> BaseRecommender:
    """A compressed or derived model (``method``) of a fitted SASRec-family model.

    Args:
        model: The fitted source model (``sasrec`` and its presets, or a pruned/distilled one).
        method: One of :data:`METHODS`.
        data: Training interactions (``prune`` fine-tunes and ``distill`` trains on them); they
            are re-indexed to the model's catalogue order.
        opts: Seed, device and epoch cap of the training methods.
        settings: Settings of the new model (e.g. ``{"prune_amount": 0.7}``) over the
            method's preset.

    Raises:
        ConfigError: For an unknown method, a model that is not a SASRec network, or a
            training method without data.
    """
    key, preset, _ = _method(method)
    source_cls = model_class("sasrec")
    if not isinstance(model, source_cls):
        raise ConfigError(
            f"{method}: needs a SASRec-family model (a PyTorch network), got {model.key!r}"
        )
    if method in NEEDS_DATA:
        if data is None:
            raise ConfigError(f"--method {method} trains: pass the training data (--data DIR)")
        data = Interactions(data.events, data.items, model.item_vocab)
    derive = getattr(model_class(key), "derive")  # noqa: B009 - classmethod of the new model
    derived: BaseRecommender = derive(model, data, opts, **{**preset, **(settings or {})})
    return derived


def optimize_artifact(
    model_dir: Path,
    method: str,
    output: Path,
    data: Interactions | None = None,
    opts: FitOptions = FitOptions(),  # noqa: B008 - frozen dataclass, safe to share
    settings: dict[str, Any] | None = None,
) -> BaseRecommender:
    """Load the artifact at ``model_dir``, derive ``method``'s model, save it to ``output``."""
    derived = derive_model(load_model(model_dir), method, data, opts, settings)
    derived.save(output)
    return derived
