"""The compression benchmark: train one model, derive every compressed one, compare them all.

Leave-one-out split, full catalogue, seen items excluded. The source model is fit on
``Split.test_train`` (train + validation targets): either for a fixed epoch budget, or for the
epoch count that early stopping chose on the validation target (a first fit on ``Split.train``),
as ``shoprec benchmark`` does. Each model is derived from that one fitted model (pruning
fine-tunes and the student trains on ``Split.test_train`` too) and every row is measured on the
same test cases and the same timed histories.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shoprec.data import Interactions, leave_one_out
from shoprec.errors import ConfigError
from shoprec.evaluation.benchmark import best_trial, tune
from shoprec.models import BaseRecommender, FitOptions, create_model, load_model

from .derive import METHODS, derive_model, derived_name
from .measure import measure_model

#: ``progress(description, done, total)``.
ProgressCallback = Callable[[str, int, int], None]

#: Columns of the printed table: (header, row key, format).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("model", "model", "{}"),
    ("size MB", "size_mb", "{:.2f}"),
    ("params", "params", "{:,}"),
    ("p50 ms", "p50_ms", "{:.2f}"),
    ("p99 ms", "p99_ms", "{:.2f}"),
    ("histories/s", "histories_per_s", "{:,.0f}"),
    ("HR@10", "HR@10", "{:.4f}"),
    ("NDCG@10", "NDCG@10", "{:.4f}"),
    ("NDCG vs base", "ndcg_ratio", "{:.3f}"),
    ("p50 speed-up", "p50_speedup", "{:.2f}x"),
)


def run_compression_benchmark(
    data: Interactions,
    key: str = "sasrec",
    *,
    params: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    methods: Sequence[str] = tuple(METHODS),
    settings: Mapping[str, dict[str, Any]] | None = None,
    seed: int = 0,
    latency_queries: int = 300,
    output: Path | None = None,
    progress: ProgressCallback | None = None,
    dataset: str | None = None,
    source_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Fit ``key`` once (or load it), derive each method's model, and measure every one.

    Args:
        data: The whole interaction log and catalogue.
        key: A SASRec-family model key.
        params: Hyperparameters of the source model.
        epochs: Fixed epoch budget (no tuning); ``None`` chooses it by early stopping on the
            validation target first.
        methods: Methods to derive (default: all of :data:`METHODS`, in its order).
        settings: Settings of each method's model (e.g. ``{"prune": {"prune_amount": 0.7}}``).
        seed: Model seed.
        latency_queries: Single histories timed per model.
        output: Folder for ``results.json``, ``results.md`` and every model's artifact under
            ``artifacts/<name>`` (``None``: none).
        progress: Progress callback.
        dataset: Name shown in the reports.
        source_dir: A ``key`` artifact already fit on this data's ``Split.test_train`` (e.g.
            by ``benchmarks/sasrec_beauty.py --refit --save``) to compress instead of fitting
            one; ``epochs`` is then the budget of the training methods and must be given.

    Returns:
        One row per model: the source first, then each derived one, with ratios to the source.

    Raises:
        ConfigError: ``source_dir`` holds another model or catalogue, or ``epochs`` is missing.
    """
    total = len(methods) + 2
    done = 0

    def step(message: str) -> None:
        nonlocal done
        if progress is not None:
            progress(message, done, total)
        done += 1

    split = leave_one_out(data)
    tuned = None
    start = time.perf_counter()
    if source_dir is not None:
        step(f"{key}: loading {source_dir}")
        source = _load_source(source_dir, key, data, epochs)
    else:
        step(f"{key}: choosing epochs on validation" if epochs is None else f"{key}: fitting")
        if epochs is None:
            tuned = best_trial(tune(key, split, seed, points=[dict(params or {})]))
            epochs = tuned.epochs
        step(f"{key}: fitting on train + validation ({epochs} epochs)")
        source = create_model(key, dict(params or {}))
        source.fit(split.test_train, FitOptions(seed=seed, max_epochs=epochs))
    opts = FitOptions(seed=seed, max_epochs=epochs)
    keep = (lambda name: output / "artifacts" / name) if output is not None else (lambda _: None)
    base = measure_model(key, source, split.test, latency_queries, keep(key))
    base["derive_seconds"] = time.perf_counter() - start
    rows = [base]
    for method in methods:
        name = derived_name(key, method)
        step(f"{name}: deriving and measuring")
        start = time.perf_counter()
        derived = derive_model(source, method, split.test_train, opts, (settings or {}).get(method))
        derive_seconds = time.perf_counter() - start
        row = measure_model(name, derived, split.test, latency_queries, keep(name))
        row["method"] = method
        row["derive_seconds"] = derive_seconds
        row |= {k: v for k, v in getattr(derived, "source_state", {}).items()}
        sparsity = getattr(derived, "sparsity", None)
        if callable(sparsity):
            values = list(sparsity().values())
            row["linear_sparsity"] = sum(values) / len(values)
        rows.append(row)
    for row in rows:
        row |= _ratios(row, base)
        row |= {"dataset": dataset, "protocol": "loo", "epochs": epochs, "seed": seed}
        if tuned is not None:
            row["validation_NDCG@10"] = tuned.score
    if progress is not None:
        progress("done", total, total)
    if output is not None:
        write_compression_results(rows, output, dataset)
    return rows


def _load_source(
    source_dir: Path, key: str, data: Interactions, epochs: int | None
) -> BaseRecommender:
    """The artifact to compress, checked against the benchmark's model key and catalogue."""
    if epochs is None:
        raise ConfigError("--epochs is needed with a trained model: the training methods' budget")
    source = load_model(source_dir)
    if source.key != key:
        raise ConfigError(f"{source_dir} holds a {source.key!r} model, not {key!r}")
    if source.item_vocab.ids != data.item_vocab.ids:
        raise ConfigError(f"{source_dir} was not trained on this catalogue")
    return source


def _ratios(row: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, float | None]:
    def ratio(a: Any, b: Any) -> float | None:
        return float(a) / float(b) if a is not None and b not in (None, 0) else None

    return {
        "size_ratio": ratio(row["size_mb"], base["size_mb"]),
        "params_ratio": ratio(row["params"], base["params"]),
        "ndcg_ratio": ratio(row["NDCG@10"], base["NDCG@10"]),
        "p50_speedup": ratio(base["p50_ms"], row["p50_ms"]),
        "throughput_ratio": ratio(row["histories_per_s"], base["histories_per_s"]),
    }


def summary_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the comparison table."""
    header = [c[0] for c in COLUMNS]
    lines = [
        [fmt.format(row[k]) if row.get(k) is not None else "-" for _, k, fmt in COLUMNS]
        for row in rows
    ]
    return header, lines


def write_compression_results(
    rows: Sequence[Mapping[str, Any]], output: Path, dataset: str | None = None
) -> None:
    """``results.json`` (one object per model) and ``results.md`` (the table) in ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(list(rows), indent=2), encoding="utf-8")
    header, lines = summary_rows(rows)
    md = [
        f"# Compression benchmark{f': {dataset}' if dataset else ''}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(line) + " |" for line in lines),
        "",
    ]
    (output / "results.md").write_text("\n".join(md), encoding="utf-8")
