"""Cold items on Amazon Beauty: how a fused SASRec serves items it never saw in training.

Takes a model fit on the cold-item split (``sasrec_beauty.py --cold-items 0.1 --save DIR``
saves it as ``DIR/sasrec-fused-cold-seed<S>``) and scores the validation targets with each
imputation setting: ``cold_neighbors`` (0 = the item's text projection alone) and
``cold_temperature``. The setting is chosen on HR@10 over all validation targets (warm and
cold weighted by their counts); the test groups are scored only for the model's own config.

Usage::

    python benchmarks/cold_items.py bench-output/models/sasrec-fused-cold-seed0
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch
from sasrec_beauty import DATA, evaluate, withhold_items

from shoprec.data import leave_one_out, load_dataset
from shoprec.models.sasrec import SASRec


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--seed", type=int, default=0, help="the seed the split was made with")
    parser.add_argument("--share", type=float, default=0.1, help="share of items withheld")
    parser.add_argument("--neighbors", type=int, nargs="+", default=[0, 1, 3, 5, 10, 20])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = SASRec.load(args.model)
    split, groups = withhold_items(leave_one_out(load_dataset(DATA)), args.share, args.seed)
    val = {"val warm": split.validation, "val cold": groups["val_cold"]}
    n = {name: len(cases) for name, cases in val.items()}
    print(f"validation targets: {n['val warm']} warm, {n['val cold']} cold")
    print("| cold_neighbors | cold_temperature | val warm HR@10 | val cold HR@10 | cold / warm "
          "| **val all HR@10** | val all NDCG@10 |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    settings = [(0, 1.0)] + list(
        itertools.product([k for k in args.neighbors if k > 0], args.temperatures)
    )
    for k, temp in settings:
        if k == 1 and temp != args.temperatures[0]:
            continue  # one neighbour: the temperature does nothing
        model.set_cold_imputation(k, temp)
        res = {name: evaluate(model, cases) for name, cases in val.items()}
        overall = {
            m: sum(n[g] * res[g][m] for g in val) / sum(n.values()) for m in ("HR@10", "NDCG@10")
        }
        warm, cold = res["val warm"]["HR@10"], res["val cold"]["HR@10"]
        shown_t = "–" if k <= 1 else f"{temp:g}"
        print(
            f"| {k} | {shown_t} | {warm:.4f} | {cold:.4f} | {cold / warm:.2f} "
            f"| {overall['HR@10']:.4f} | {overall['NDCG@10']:.4f} |",
            flush=True,
        )
    cfg = model.config
    model.set_cold_imputation(cfg.cold_neighbors, cfg.cold_temperature)
    test = {name: evaluate(model, groups[name]) for name in ("test_warm", "test_cold")}
    warm, cold = test["test_warm"]["HR@10"], test["test_cold"]["HR@10"]
    print(
        f"test with the config's setting (cold_neighbors={cfg.cold_neighbors}, "
        f"cold_temperature={cfg.cold_temperature:g}): warm HR@10 {warm:.4f} / NDCG@10 "
        f"{test['test_warm']['NDCG@10']:.4f}, cold HR@10 {cold:.4f} / NDCG@10 "
        f"{test['test_cold']['NDCG@10']:.4f}, cold / warm {cold / warm:.2f}"
    )


if __name__ == "__main__":
    main()
