"""Fair exposure on amazon_beauty: what the exposure-aware re-ranking costs and gains (#21).

Leave-one-out, full-catalogue ranking, seen items excluded (the default protocol). A fast model
(co-visitation by default, or EASE) scores every case; each case's best ``--pool`` items are
re-ranked by :func:`shoprec.rules.exposure_order` under each rule of a small grid (popularity
mix, per-brand cap, both), and the top 10 is measured: NDCG@10 and HR@10 (accuracy), Gini over
the catalogue's items of the top-10 impressions, long-tail share and the brand exposure gap
(:mod:`shoprec.evaluation.exposure`).

The rule is chosen on the **validation** target (model fit on ``train``): the setting with the
largest Gini reduction whose NDCG@10 cost is at most ``--max-cost``; the table then shows every
setting on the **test** target (model fit on ``test_train``), the chosen one marked.

Usage::

    python benchmarks/fair_exposure.py                       # covisit, amazon_beauty
    python benchmarks/fair_exposure.py --model ease --pool 50
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from machine import describe

from shoprec.data import EvalSet, Interactions, leave_one_out, load_dataset
from shoprec.evaluation import item_counts
from shoprec.evaluation.exposure import exposure_metrics, item_brands
from shoprec.models import BaseRecommender, FitOptions, create_model
from shoprec.rules import ExposureRule, exposure_order, popularity_scale

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
K = 10
BATCH = 512


def rules() -> list[ExposureRule]:
    """The grid: off, popularity mix alone, brand cap alone, both."""
    grid = [ExposureRule()]
    grid += [ExposureRule(popularity_penalty=p) for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)]
    grid += [ExposureRule(brand_cap=c) for c in (1, 2, 3)]
    grid += [ExposureRule(popularity_penalty=p, brand_cap=2) for p in (0.2, 0.4)]
    return grid


def label(rule: ExposureRule) -> str:
    if not rule.active:
        return "off (model order)"
    parts = []
    if rule.popularity_penalty:
        parts.append(f"popularity mix {rule.popularity_penalty:g}")
    if rule.brand_cap is not None:
        parts.append(f"brand cap {rule.brand_cap}")
    return " + ".join(parts)


def pools(
    model: BaseRecommender, cases: EvalSet, size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Each case's best ``size`` items (seen excluded) and their scores, best first."""
    tops, vals = [], []
    for start in range(0, len(cases), BATCH):
        part = cases.take(np.arange(start, min(start + BATCH, len(cases))))
        scores = np.array(model.score_batch(part.histories), dtype=np.float32)
        scores[np.isnan(scores)] = -np.inf
        rows = np.repeat(np.arange(len(part)), np.diff(part.histories.offsets))
        scores[rows, part.histories.items] = -np.inf
        idx = np.argpartition(-scores, size, axis=1)[:, :size]
        v = np.take_along_axis(scores, idx, axis=1)
        order = np.lexsort((idx, -v), axis=1)
        tops.append(np.take_along_axis(idx, order, axis=1))
        vals.append(np.take_along_axis(v, order, axis=1))
    return np.concatenate(tops), np.concatenate(vals)


def measure(
    rule: ExposureRule,
    pool: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float32],
    targets: npt.NDArray[np.int64],
    counts: npt.NDArray[np.float64],
    brands: list[str | None],
) -> dict[str, float]:
    popularity = popularity_scale(counts)
    top = np.full((len(pool), K), -1, dtype=np.int64)
    for row in range(len(pool)):
        items, s = pool[row], scores[row]
        ok = np.isfinite(s)
        items, s = items[ok], s[ok]
        picked = exposure_order(s, K, rule, popularity[items], [brands[i] for i in items])
        top[row, : len(picked)] = items[picked]
    hit = top == targets[:, None]
    position = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    gains = np.where(position >= 0, 1.0 / np.log2(np.maximum(position, 0) + 2.0), 0.0)
    return {
        "NDCG@10": float(gains.mean()),
        "HR@10": float((position >= 0).mean()),
        **exposure_metrics(top, counts, brands, K),
    }


def run(
    model_key: str, fit_on: Interactions, cases: EvalSet, pool_size: int, grid: list[ExposureRule]
) -> list[dict[str, float]]:
    model = create_model(model_key)
    model.fit(fit_on, FitOptions(seed=0))
    pool, scores = pools(model, cases, pool_size)
    counts = item_counts(fit_on)
    brands = item_brands(fit_on)
    return [measure(rule, pool, scores, cases.targets, counts, brands) for rule in grid]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "amazon_beauty")
    parser.add_argument("--model", default="covisit")
    parser.add_argument("--pool", type=int, default=50)
    parser.add_argument("--max-cost", type=float, default=0.03)
    args = parser.parse_args()
    print(describe(f"data {args.data.name}, model {args.model}, pool {args.pool}"))
    start = time.perf_counter()
    data = load_dataset(args.data)
    split = leave_one_out(data)
    grid = rules()
    validation = run(args.model, split.train, split.validation, args.pool, grid)
    base = validation[0]
    allowed = [
        i for i, m in enumerate(validation) if m["NDCG@10"] >= (1 - args.max_cost) * base["NDCG@10"]
    ]
    chosen = min(allowed, key=lambda i: validation[i]["gini@10"])
    test = run(args.model, split.test_train, split.test, args.pool, grid)
    ref = test[0]
    print(f"chosen on validation: {label(grid[chosen])}")
    print()
    print("| rule | NDCG@10 | HR@10 | NDCG cost | Gini@10 | Gini change | tail@10 | brand gap@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for i, (rule, m) in enumerate(zip(grid, test, strict=True)):
        cost = 1 - m["NDCG@10"] / ref["NDCG@10"]
        change = m["gini@10"] / ref["gini@10"] - 1
        mark = " **(chosen)**" if i == chosen else ""
        print(
            f"| {label(rule)}{mark} | {m['NDCG@10']:.4f} | {m['HR@10']:.4f} | {cost:+.1%} | "
            f"{m['gini@10']:.3f} | {change:+.1%} | {m['long_tail@10']:.3f} | "
            f"{m['exposure_gap_brand@10']:.3f} |"
        )
    print()
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
