"""Sponsored slots on Amazon Beauty: what ads cost organic NDCG@10, and that every ad is relevant.

Co-visitation (the fast model) is fit on the leave-one-out ``test_train`` part; each test case
gets its organic top ``floor_rank`` (seen items excluded, the protocol's rule). A day of
traffic is replayed: the cases in a random order, spread evenly over one UTC day, each filling
the sponsored positions through the service's own functions (``eligible_bids`` with the
relevance floor, ``run_auction`` charging a :class:`MemoryLedger` with even pacing, ``blend``).
The campaigns are synthetic: ``--campaigns`` items drawn by popularity in the training log,
bids log-normal around 1, daily budgets of 5 to 200 impressions.

Reported per setting (positions, floor): organic NDCG@10 without ads; with ads counting only
organic hits ("organic", the target shown in an organic slot); with ads counting any hit; the
relative drop of the organic figure; the share of responses carrying an ad; the share of ads
whose item was outside the shopper's first ``floor_rank`` candidates (must be 0); and budget
overspends (must be 0).

Usage::

    python benchmarks/sponsored.py
    python benchmarks/sponsored.py --positions 8,9 4,9 2,6 --floors 10 20 --campaigns 2000
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from machine import describe

from shoprec.data import leave_one_out, load_dataset
from shoprec.evaluation.ranking import rank_cases
from shoprec.events import Campaign, MemoryLedger, Pacing
from shoprec.models import FitOptions
from shoprec.models.covisit import CoVisitation, CoVisitationConfig
from shoprec.promotions import SponsoredConfig, blend, eligible_bids, run_auction, utc_day
from shoprec.rules import CatalogView

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "amazon_beauty"
K = 10
_DAY = 86_400.0


def _ndcg_at(positions: np.ndarray) -> float:
    """Mean NDCG@10 of cases whose target sits at ``positions`` (-1: not shown)."""
    gains = np.where(positions >= 0, 1.0 / np.log2(np.maximum(positions, 0) + 2.0), 0.0)
    return float(gains.mean())


def make_campaigns(
    popularity: np.ndarray, ids: list[str], n: int, rng: np.random.Generator
) -> list[Campaign]:
    """``n`` campaigns on items drawn by popularity, bids log-normal, budgets 5-200 shows."""
    p = popularity / popularity.sum()
    items = rng.choice(len(ids), size=min(n, int((p > 0).sum())), replace=False, p=p)
    bids = rng.lognormal(0.0, 0.5, len(items))
    shows = rng.integers(5, 201, len(items))
    return [
        Campaign(
            campaign_id=f"c{k}",
            item_id=ids[i],
            bid=round(float(b), 4),
            daily_budget=round(float(b) * int(s), 4),
            pacing=Pacing.EVEN,
        )
        for k, (i, b, s) in enumerate(zip(items.tolist(), bids, shows, strict=True))
    ]


def replay(
    top: np.ndarray,
    targets: np.ndarray,
    ids: list[str],
    campaigns: list[Campaign],
    config: SponsoredConfig,
    slots: list[int],
    seed: int,
) -> dict[str, float]:
    """One day of traffic with ads; the metrics of one setting."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(top))
    day0 = 20_000 * _DAY
    times = day0 + np.sort(rng.random(len(top))) * _DAY
    ledger = MemoryLedger()
    catalog = CatalogView()  # no catalogue kept: every item is available
    by_item: dict[str, list[Campaign]] = defaultdict(list)
    for c in campaigns:
        by_item[c.item_id].append(c)
    organic_pos = np.full(len(top), -1)
    any_pos = np.full(len(top), -1)
    with_ads = 0
    below_floor = 0
    ads = 0
    for t, case in zip(times, order, strict=True):
        row = [ids[i] for i in top[case, : config.floor_rank] if i >= 0]
        reachable = [c for i in row for c in by_item.get(i, ())]
        winners = {}
        if reachable:
            counts = ledger.counts([c.campaign_id for c in reachable], utc_day(float(t)))
            bids = eligible_bids(reachable, counts, row, [], catalog, config, K - len(slots))
            winners = run_auction(bids, slots, ledger, float(t), config)
        sponsored = {p: b.campaign.item_id for p, b in winners.items()}
        final = blend(row, K, sponsored)
        target = ids[targets[case]]
        if target in final:
            at = final.index(target)
            any_pos[case] = at
            if at not in sponsored:
                organic_pos[case] = at
        with_ads += bool(winners)
        ads += len(winners)
        below_floor += sum(b.rank >= config.floor_rank for b in winners.values())
    day = utc_day(day0)
    spent = ledger.counts([c.campaign_id for c in campaigns], day)
    overspent = sum(spent[c.campaign_id].spent_micros > c.budget_micros for c in campaigns)
    return {
        "organic": _ndcg_at(organic_pos),
        "any": _ndcg_at(any_pos),
        "with_ads": with_ads / len(top),
        "ads": ads,
        "below_floor": below_floor,
        "overspent": overspent,
    }


def main() -> None:
    """Fit co-visitation, replay a day of traffic per setting, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--positions", nargs="+", default=["8,9", "4,9", "2,6"])
    parser.add_argument("--floors", type=int, nargs="+", default=[12, 20])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(describe())
    start = time.perf_counter()
    split = leave_one_out(load_dataset(args.data))
    model = CoVisitation(CoVisitationConfig())
    model.fit(split.test_train, FitOptions(seed=args.seed))
    floor = max(args.floors)
    ranked = rank_cases(model, split.test, k=max(floor, K))
    ids = list(model.item_vocab.ids)
    popularity = np.bincount(split.test_train.item_index, minlength=len(ids)).astype(float)
    campaigns = make_campaigns(popularity, ids, args.campaigns, np.random.default_rng(args.seed))
    no_ads = _ndcg_at(np.where(ranked.ranks < K, ranked.ranks, -1))
    print(
        f"{len(ranked.ranks):,} test cases, {len(ids):,} items, {len(campaigns)} campaigns; "
        f"fit and ranking {time.perf_counter() - start:.1f} s"
    )
    print(
        "| sponsored positions (0-based) | floor | NDCG@10 no ads | organic NDCG@10 with ads "
        "| drop | NDCG@10 any hit | responses with an ad | ads below the floor | overspent |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for spec in args.positions:
        slots = sorted(int(p) for p in spec.split(","))
        for floor_rank in args.floors:
            config = SponsoredConfig(positions={"home": slots}, floor_rank=floor_rank)
            m = replay(ranked.top, split.test.targets, ids, campaigns, config, slots, args.seed)
            drop = 1.0 - m["organic"] / no_ads
            print(
                f"| {spec} | {floor_rank} | {no_ads:.4f} | {m['organic']:.4f} | {drop:.1%} "
                f"| {m['any']:.4f} | {m['with_ads']:.1%} | {m['below_floor']} "
                f"| {m['overspent']} |"
            )
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
