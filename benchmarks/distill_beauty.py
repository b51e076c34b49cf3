"""Distilled SASRec students on Amazon Beauty, chosen on the validation target.

The teacher is a fused SASRec fit on ``Split.train`` with early stopping (``sasrec_beauty.py
--seeds 1 --save DIR`` saves it as ``DIR/sasrec-fused-val-seed1``). Each student is derived from
it on ``Split.train`` and scored on the validation targets after every epoch, so its shape and
epoch count are chosen without the test targets; ``shoprec benchmark --optimize`` then reports
the chosen default on test. That run trains a fixed number of epochs and keeps the last weights,
so "last / teacher" (the last epoch's score) is the figure it can reproduce; "best / teacher" is
the best epoch's, optimistic by the choice.

Usage::

    python benchmarks/distill_beauty.py bench-output/models/sasrec-fused-val-seed1 \\
        --student student_text_hidden=128,student_id_dim=8 --student student_id_dim=8
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from sasrec_beauty import DATA, evaluate, parse_value

from shoprec.data import leave_one_out, load_dataset
from shoprec.models import FitOptions
from shoprec.models.sasrec import SASRec, distill


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("teacher", type=Path)
    parser.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="DistilledConfig settings of one student (repeat for several; none: the default)",
    )
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    teacher = SASRec.load(args.teacher)
    split = leave_one_out(load_dataset(DATA))
    base = evaluate(teacher, split.validation)["NDCG@10"]
    t_params = teacher.parameter_count()
    print(f"teacher: val NDCG@10 {base:.4f}, {t_params:,} parameters")
    print(
        "| student | params | share | val NDCG@10 per epoch | best | best / teacher "
        "| last / teacher | s |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for spec in args.student or [""]:
        settings = {
            k: parse_value(v) for k, v in (s.split("=", 1) for s in spec.split(",") if s)
        } | {"student_epochs": args.epochs, "patience": args.epochs}  # every epoch runs
        start = time.perf_counter()
        student = distill(
            teacher,
            split.train,
            FitOptions(seed=args.seed, device="cpu", validation=split.validation),
            **settings,
        )
        seconds = time.perf_counter() - start
        curve = [r["ndcg@10"] for r in student.history]
        best = max(curve)
        params = student.parameter_count()
        print(
            f"| {json.dumps(settings)} | {params:,} | {params / t_params:.1%} "
            f"| {', '.join(f'{v:.4f}' for v in curve)} | {best:.4f} (epoch "
            f"{curve.index(best) + 1}) | {best / base:.1%} | {curve[-1] / base:.1%} "
            f"| {seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
