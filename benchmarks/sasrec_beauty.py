"""SASRec on Amazon Beauty: leave-one-out, full-catalogue ranking, seen items excluded.

Protocol (../shared/BENCHMARK_PROTOCOL.md): per user the last event is the test target, the one
before it the validation target. The model is fit on ``Split.train`` with early stopping on the
validation NDCG@10; the best-validation weights then score ``Split.test`` histories, which
include the validation item (the model reads it as input, it is never trained on it). Timing
includes text encoding from a cold cache (a fresh temporary cache per run).

Usage::

    python benchmarks/sasrec_beauty.py --seeds 0 1 2 --item-repr fused
    python benchmarks/sasrec_beauty.py --seeds 0 --set hidden=128 --set dropout=0.3
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from shoprec.data import EvalSet, Split, leave_one_out, load_dataset
from shoprec.evaluation import evaluate as evaluate_cases
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec, SASRecConfig
from shoprec.optimize import latency_ms

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_beauty"


def evaluate(model: SASRec, cases: EvalSet) -> dict[str, float]:
    """HR/NDCG@10 and @20 over the whole catalogue, history items excluded (shoprec's harness)."""
    metrics = evaluate_cases(model, cases, ks=(10, 20))
    return {k: metrics[k] for k in ("HR@10", "NDCG@10", "HR@20", "NDCG@20")}


def parse_value(text: str) -> Any:
    """A --set value as JSON when it parses (numbers, booleans), else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def withhold_items(split: Split, frac: float, seed: int) -> tuple[Split, dict[str, EvalSet]]:
    """Cold-item protocol: drop a seeded ``frac`` of items from every training event.

    Returns the split with the reduced training log (validation cases targeting a withheld item
    moved out of early stopping) and the groups to report: ``val_cold`` (those validation
    cases: the target for choosing cold-start settings such as ``id_dropout``), ``test_cold``
    and ``test_warm`` (test cases by target). Histories keep withheld items: the model reads
    them through their text.
    """
    data = split.train
    rng = np.random.default_rng(seed)
    n_items = data.n_items
    cold = np.zeros(n_items, dtype=bool)
    cold[rng.choice(n_items, size=round(frac * n_items), replace=False)] = True
    cold_ids = [data.item_vocab.ids[i] for i in np.flatnonzero(cold)]
    train = data.with_events(data.events.filter(~pl.col("item_id").is_in(cold_ids)))
    val = split.validation.take(np.flatnonzero(~cold[split.validation.targets]))
    groups = {
        "val_cold": split.validation.take(np.flatnonzero(cold[split.validation.targets])),
        "test_cold": split.test.take(np.flatnonzero(cold[split.test.targets])),
        "test_warm": split.test.take(np.flatnonzero(~cold[split.test.targets])),
    }
    return Split(train, val, split.test_train, split.test), groups


def run_seed(
    split: Split,
    config: SASRecConfig,
    seed: int,
    max_epochs: int | None,
    refit: bool,
    groups: dict[str, EvalSet] | None = None,
    save: Path | None = None,
) -> dict[str, Any]:
    """Fit with early stopping, evaluate validation and test (and optionally the refit)."""
    model = SASRec(config)
    start = time.perf_counter()
    model.fit(
        split.train,
        FitOptions(seed=seed, device="cpu", max_epochs=max_epochs, validation=split.validation),
    )
    fit_s = time.perf_counter() - start
    hist = model.history
    # Time to the best validation epoch: encoding + setup + the epochs up to the best one,
    # validation included (the later epochs only confirm that it was the best).
    to_best = fit_s - hist[-1]["elapsed"] + hist[model.best_epoch - 1]["elapsed"]
    row: dict[str, Any] = {
        "best_epoch": model.best_epoch,
        "epochs": len(hist),
        "fit_s": round(fit_s, 1),
        "to_best_s": round(to_best, 1),
        "epoch_s": round(float(np.median([r["seconds"] for r in hist])), 1),
        "val": evaluate(model, split.validation),
        "test": evaluate(model, split.test),
        "recommend_ms": latency_ms(model, split.test, n=500),
    }
    for name, cases in (groups or {}).items():
        row[name] = evaluate(model, cases)
        row[f"n_{name}"] = len(cases)
    if refit:
        row |= refit_on_test_train(split, config, seed, model.best_epoch, save)
    elif save is not None:
        kind = "cold" if groups else "val"
        model.save(save / f"sasrec-{config.item_repr}-{kind}-seed{seed}")
    return row


def refit_on_test_train(
    split: Split, config: SASRecConfig, seed: int, epochs: int, save: Path | None
) -> dict[str, Any]:
    """The protocol's final fit: train + validation targets (``Split.test_train``) for the
    epoch count chosen on validation, scored on the test cases."""
    final = SASRec(config)
    start = time.perf_counter()
    final.fit(split.test_train, FitOptions(seed=seed, device="cpu", max_epochs=epochs))
    row: dict[str, Any] = {
        "refit_epochs": epochs,
        "refit_s": round(time.perf_counter() - start, 1),
        "test_refit": evaluate(final, split.test),
    }
    if save is not None:
        final.save(save / f"sasrec-{config.item_repr}-seed{seed}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--item-repr", choices=["id", "text", "fused"], default="fused")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--text-cache",
        type=Path,
        default=None,
        help="reuse a cache (timing then excludes encoding)",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        help="also refit on Split.test_train for the best epoch count",
    )
    parser.add_argument(
        "--cold-items",
        type=float,
        default=0.0,
        help="withhold this share of items from training; report cold vs warm test targets",
    )
    parser.add_argument("--log", type=Path, default=None, help="append one JSON line per seed")
    parser.add_argument(
        "--save",
        type=Path,
        default=None,
        help="save each refit model (without --refit: the early-stopped one) under this folder",
    )
    parser.add_argument(
        "--refit-only",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="only the refit, for an epoch count a logged validation run of the seed chose",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    data = load_dataset(DATA)
    split = leave_one_out(data)
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    n_users = data.events["user_id"].n_unique()
    print(
        f"amazon_beauty: {n_users} users, {data.n_items} items, {data.n_events} events", flush=True
    )
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            cache = args.text_cache or Path(tmp)  # a fresh cache per seed: timing includes encoding
            config = SASRecConfig(item_repr=args.item_repr, text_cache_dir=str(cache), **overrides)
            row = {"seed": seed, "item_repr": args.item_repr, "overrides": overrides}
            if args.refit_only is not None:
                row |= refit_on_test_train(split, config, seed, args.refit_only, args.save)
            elif args.cold_items > 0:
                cold_split, groups = withhold_items(split, args.cold_items, seed)
                row["cold_items"] = args.cold_items
                row |= run_seed(cold_split, config, seed, args.max_epochs, False, groups, args.save)
            else:
                row |= run_seed(split, config, seed, args.max_epochs, args.refit, None, args.save)
        results.append(row)
        print(json.dumps(row), flush=True)
        if args.log:
            with args.log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    for split_name in ("val", "test", "test_refit", "val_cold", "test_cold", "test_warm"):
        for metric in ("NDCG@10", "HR@10"):
            vals = [r[split_name][metric] for r in results if split_name in r]
            if not vals:
                continue
            per_seed = ", ".join(f"{v:.4f}" for v in vals)
            print(f"{split_name} {metric}: mean {np.mean(vals):.4f} (seeds: {per_seed})")


if __name__ == "__main__":
    main()
