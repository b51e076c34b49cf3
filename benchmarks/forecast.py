"""Tomorrow's hot items: the LightGBM demand forecast against "same as today" (#21).

Time split: each of the last ``--test-days`` days of a log is forecast from the days before it
(the model refit per day), next-day weighted events per item (purchase 5, add-to-cart 3,
favourite 2, view 1). Figures (:func:`shoprec.evaluation.forecast.evaluate_forecast`): MAE
over the items active in the week before the day, and the hit rate of the top-100 rising
items (the naive forecast ranks rising items by today's rise: momentum).

Datasets: the synthetic shop (``demo`` preset: 3,000 shoppers, 1,500 items, 90 days, rising and
falling categories planted) and ``../shared/data/taobao_multibehavior`` (9 days, 357k events,
days at UTC+8, no categories).

Usage::

    python benchmarks/forecast.py
    python benchmarks/forecast.py --datasets synthetic --test-days 14
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl
from machine import describe

from shoprec.data import load_dataset
from shoprec.data.synthetic import generate_shop, preset
from shoprec.evaluation.forecast import evaluate_forecast
from shoprec.models.demand import DemandConfig

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(name: str, root: Path) -> tuple[pl.DataFrame, pl.DataFrame | None, DemandConfig]:
    if name == "synthetic":
        shop = generate_shop(preset("demo"))
        return shop.events, shop.items, DemandConfig()
    data = load_dataset(root / name)
    items = data.items if data.items.height else None
    return data.events, items, DemandConfig(day_offset_hours=8.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=SHARED)
    parser.add_argument("--datasets", default="synthetic,taobao_multibehavior")
    parser.add_argument(
        "--test-days", type=int, default=None, help="default: 7 synthetic, 2 taobao"
    )
    parser.add_argument("--top", type=int, default=100)
    args = parser.parse_args()
    print(describe())
    hit, naive_hit = f"rising_hit@{args.top}", f"rising_hit@{args.top}_naive"
    print()
    print(
        f"| dataset | test days | items/day | MAE forecast | MAE naive | "
        f"top-{args.top} rising hit forecast | naive (momentum) | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        start = time.perf_counter()
        events, items, config = load(name, args.data_root)
        days = args.test_days or (7 if name == "synthetic" else 2)
        rows = evaluate_forecast(events, items, config, test_days=days, top=args.top)
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(
            f"| {name} | {len(rows)} | {mean['items']:.0f} | {mean['MAE']:.3f} | "
            f"{mean['MAE_naive']:.3f} | {mean[hit]:.3f} | {mean[naive_hit]:.3f} | "
            f"{time.perf_counter() - start:.0f} |"
        )


if __name__ == "__main__":
    main()
