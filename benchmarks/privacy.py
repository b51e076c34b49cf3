"""Privacy/utility curve of DP-SGD SASRec on Amazon Beauty (issue #20).

Protocol (../shared/BENCHMARK_PROTOCOL.md, as ``sasrec_beauty.py``): leave-one-out, fit on
``Split.train`` with early stopping on the validation NDCG@10, the best-validation weights scored
on ``Split.test`` (full catalogue, seen items excluded). Every run, private or not, has the same
epoch cap; a private run's noise is calibrated so that the cap spends exactly epsilon at
delta = 1 / the number of shoppers (early stopping spends less, and the table reports what the
accountant says was spent). The non-private run of the same architecture is the reference for
the goal "NDCG@10 at epsilon 8 >= 0.8 x non-private".

Runs are logged one JSON line each (``--log``); a rerun with the same log skips the runs it
holds, so an interrupted curve resumes. The table is printed at the end (``--table-only``:
only the table, from the log).

Usage::

    python benchmarks/privacy.py --log bench-output/privacy.jsonl --max-epochs 10 \\
        --text-cache bench-output/text-cache
    python benchmarks/privacy.py --log bench-output/privacy.jsonl --table-only
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shoprec.data import EvalSet, leave_one_out, load_dataset
from shoprec.evaluation import evaluate as evaluate_cases
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec, SASRecConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_beauty"


def evaluate(model: SASRec, cases: EvalSet) -> dict[str, float]:
    """HR/NDCG@10 over the whole catalogue, history items excluded (shoprec's harness)."""
    metrics = evaluate_cases(model, cases, ks=(10,))
    return {k: metrics[k] for k in ("HR@10", "NDCG@10")}


def parse_value(text: str) -> Any:
    """A --set value as JSON when it parses (numbers, booleans), else the raw string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def plan(
    epsilons: list[float], seeds_at_max: list[int], reference_seeds: list[int]
) -> list[tuple[float | None, int]]:
    """The runs in the order that tells most first: reference, largest epsilon, the rest."""
    runs: list[tuple[float | None, int]] = [(None, reference_seeds[0])]
    top = max(epsilons)
    runs.append((top, seeds_at_max[0]))
    runs += [(eps, 0) for eps in sorted(epsilons, reverse=True) if eps != top]
    runs += [(top, seed) for seed in seeds_at_max[1:]]
    runs += [(None, seed) for seed in reference_seeds[1:]]
    return runs


def run(config: SASRecConfig, split: Any, seed: int, max_epochs: int) -> dict[str, Any]:
    """One fit with early stopping; its figures and the privacy it spent."""
    model = SASRec(config)
    start = time.perf_counter()
    model.fit(
        split.train,
        FitOptions(seed=seed, device="cpu", max_epochs=max_epochs, validation=split.validation),
    )
    hist = model.history
    return {
        "best_epoch": model.best_epoch,
        "epochs": len(hist),
        "fit_s": round(time.perf_counter() - start, 1),
        "epoch_s": round(float(np.median([r["seconds"] for r in hist])), 1),
        "val": evaluate(model, split.validation),
        "test": evaluate(model, split.test),
        "privacy": model.privacy,
        "history": hist,
    }


def logged(log: Path) -> list[dict[str, Any]]:
    """The runs in the log, the first of each (epsilon, seed) (parallel invocations may repeat)."""
    rows: dict[tuple[float | None, int], dict[str, Any]] = {}
    if log.is_file():
        for line in log.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.setdefault((row["dp_epsilon"], row["seed"]), row)
    return list(rows.values())


def table(rows: list[dict[str, Any]]) -> str:
    """The privacy/utility table (markdown), one line per epsilon (mean over its seeds)."""
    ref = [r["test"]["NDCG@10"] for r in rows if r["dp_epsilon"] is None]
    ref_ndcg = float(np.mean(ref)) if ref else math.nan
    lines = [
        "| epsilon | seeds | epsilon spent | noise multiplier | best epochs "
        "| validation NDCG@10 | test HR@10 / NDCG@10 | test NDCG@10 / non-private |",
        "|---|---|---:|---:|---|---:|---|---:|",
    ]
    keys = sorted({r["dp_epsilon"] for r in rows}, key=lambda e: math.inf if e is None else e)
    for eps in keys:
        group = [r for r in rows if r["dp_epsilon"] == eps]
        test = float(np.mean([r["test"]["NDCG@10"] for r in group]))
        hr = float(np.mean([r["test"]["HR@10"] for r in group]))
        val = float(np.mean([r["val"]["NDCG@10"] for r in group]))
        priv = [r["privacy"] for r in group if r["privacy"]]
        spent = "/".join(f"{p['epsilon']:.2f}" for p in priv) or "–"
        sigma = f"{priv[0]['noise_multiplier']:.3f}" if priv else "–"
        per_seed = ", ".join(f"{r['test']['NDCG@10']:.4f}" for r in group)
        lines.append(
            f"| {'∞ (non-private)' if eps is None else eps} "
            f"| {', '.join(str(r['seed']) for r in group)} | {spent} | {sigma} "
            f"| {', '.join(str(r['best_epoch']) for r in group)} | {val:.4f} "
            f"| {hr:.4f} / {test:.4f} ({per_seed}) | {test / ref_ndcg:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    parser.add_argument("--seeds-at-max", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--reference-seeds",
        type=int,
        nargs="+",
        default=[0],
        help="seeds of the non-private reference (the ratio is to their mean)",
    )
    parser.add_argument("--item-repr", choices=["id", "text", "fused"], default="text")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--dp-set", action="append", default=[], metavar="KEY=VALUE", help="private runs only"
    )
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--text-cache", type=Path, default=None)
    parser.add_argument("--log", type=Path, required=True, help="one JSON line per run")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.set)}
    dp_overrides = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.dp_set)}
    if not args.table_only:
        data = load_dataset(DATA)
        split = leave_one_out(data)
        print(f"amazon_beauty: {data.n_items} items, {data.n_events} events", flush=True)
        for eps, seed in plan(args.epsilons, args.seeds_at_max, args.reference_seeds):
            # Read again before every run: another invocation may have logged it meanwhile.
            if any(r["dp_epsilon"] == eps and r["seed"] == seed for r in logged(args.log)):
                continue
            cache = str(args.text_cache) if args.text_cache else None
            params = overrides | (dp_overrides if eps is not None else {})
            config = SASRecConfig(
                item_repr=args.item_repr, text_cache_dir=cache, dp_epsilon=eps, **params
            )
            row = {"dp_epsilon": eps, "seed": seed, "item_repr": args.item_repr}
            row |= {"overrides": params, "max_epochs": args.max_epochs}
            row |= run(config, split, seed, args.max_epochs)
            print(json.dumps({k: v for k, v in row.items() if k != "history"}), flush=True)
            args.log.parent.mkdir(parents=True, exist_ok=True)
            with args.log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    print(table(logged(args.log)))


if __name__ == "__main__":
    main()
