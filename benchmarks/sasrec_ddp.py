"""Data-parallel SASRec on Amazon Beauty: one process against N ranks at the same epoch count.

Protocol (../shared/BENCHMARK_PROTOCOL.md): leave-one-out, the model fit on ``Split.train`` and
scored on the validation targets (whole catalogue, history items excluded) after every epoch.
Every run trains exactly ``--epochs`` epochs (no early stopping) with the same seed and the
same global batch (``batch_size`` rows per step, split across the ranks), so the only
differences are the ranks' dropout draws and the order of float sums. The titles are encoded
once into ``--text-cache`` before the runs; the per-epoch times exclude encoding.

Usage::

    python benchmarks/sasrec_ddp.py --nproc 1 2 --epochs 10 --item-repr fused \\
        --text-cache bench-output/text-cache
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
import torch

from shoprec.data import EvalSet, Interactions, leave_one_out, load_dataset
from shoprec.features import EmbeddingCache, encode_texts, make_text_encoder
from shoprec.models import FitOptions
from shoprec.models.sasrec import RankSpec, SASRec, SASRecConfig, launch, process_group

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_beauty"


def fit_rank(
    spec: RankSpec | None,
    train: Interactions,
    validation: EvalSet,
    config: SASRecConfig,
    seed: int,
    epochs: int,
) -> list[dict[str, float]]:
    """Fit for ``epochs`` epochs as one rank (``spec``) or one process (``None``); the history."""

    def fit(opts: FitOptions) -> list[dict[str, float]]:
        model = SASRec(config)
        model.fit(train, opts)
        return model.history

    opts = FitOptions(seed=seed, device="cpu", max_epochs=epochs, validation=validation)
    if spec is None:
        return fit(opts)
    with process_group(spec, "cpu") as device:
        return fit(
            FitOptions(
                seed=seed,
                device=str(device),
                max_epochs=epochs,
                validation=validation,
                rank=spec.rank,
                world_size=spec.world_size,
            )
        )


def run(
    nproc: int,
    train: Interactions,
    validation: EvalSet,
    config: SASRecConfig,
    seed: int,
    epochs: int,
) -> dict[str, Any]:
    """One run's figures: validation scores at the last epoch, seconds per epoch."""
    start = time.perf_counter()
    if nproc == 1:
        history = fit_rank(None, train, validation, config, seed, epochs)
    else:
        history = launch(fit_rank, nproc, train, validation, config, seed, epochs)
    last = history[-1]
    return {
        "nproc": nproc,
        "seed": seed,
        "epochs": len(history),
        "val_ndcg@10": last["ndcg@10"],
        "val_hr@10": last["hr@10"],
        "ndcg_curve": [round(r["ndcg@10"], 5) for r in history],
        # Training only (rank 0's clock; the ranks step together) and training + validation.
        "train_s_per_epoch": float(np.median([r["seconds"] for r in history])),
        "wall_s_per_epoch": last["elapsed"] / len(history),
        "total_s": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--item-repr", choices=["id", "text", "fused"], default="fused")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, split over ranks")
    parser.add_argument("--text-cache", type=Path, default=None)
    parser.add_argument("--log", type=Path, default=None, help="append one JSON line per run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    data = load_dataset(DATA)
    split = leave_one_out(data)
    print(
        f"amazon_beauty: {data.events['user_id'].n_unique()} users, {data.n_items} items, "
        f"{data.n_events} events",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.text_cache or Path(tmp)
        config = SASRecConfig(
            item_repr=args.item_repr,
            text_cache_dir=str(cache),
            max_epochs=args.epochs,
            patience=args.epochs,
        )
        if config.uses_text:
            start = time.perf_counter()
            encoder = make_text_encoder(config.text_encoder, device="cpu")
            texts = split.train.item_texts()
            encode_texts(encoder, texts, EmbeddingCache(cache), config.text_batch_size)
            print(f"titles encoded (or read) in {time.perf_counter() - start:.1f} s", flush=True)
        rows = []
        for seed in args.seeds:
            for nproc in args.nproc:
                row = run(nproc, split.train, split.validation, config, seed, args.epochs)
                row["item_repr"] = args.item_repr
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.log:
                    with args.log.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
    base = {r["seed"]: r["val_ndcg@10"] for r in rows if r["nproc"] == 1}
    print(
        f"\n| processes | seed | validation NDCG@10 at epoch {args.epochs} | vs 1 process "
        "| HR@10 | train s / epoch | wall s / epoch (with validation) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ref = base.get(r["seed"])
        rel = f"{(r['val_ndcg@10'] / ref - 1) * 100:+.2f}%" if ref else "–"
        print(
            f"| {r['nproc']} | {r['seed']} | {r['val_ndcg@10']:.4f} | {rel} | {r['val_hr@10']:.4f} "
            f"| {r['train_s_per_epoch']:.1f} | {r['wall_s_per_epoch']:.1f} |"
        )


if __name__ == "__main__":
    main()
