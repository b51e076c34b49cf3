"""Items listed while a ranked model serves: as good as items listed at its fit, and how fast.

On the cold-item split of a dataset (``--protocol cold-item``: a seeded 10% of the items never
interacted with; the test targets are on them), fits the ranked model twice on the split's
``test_train`` log:

- **listed at the fit**: the catalogue holds the cold items (text, price, category, brand), so
  the fit describes them by their text neighbours (what ``shoprec benchmark`` measures);
- **listed after the fit**: the catalogue lacks them; after the fit they are added with
  ``add_items`` (their catalogue rows included), as a ``PUT /v1/items`` does on a served model.

Both are scored on the test targets (NDCG@10, HR@10 over the full catalogue). Then times what
the server does per catalogue update, on the second model before its items are added: a copy
(``copy.deepcopy``, so requests in flight keep theirs) plus ``add_items`` of 1, 10 and 100 new
items (median of ``--repeats``), one thread.

Usage::

    python benchmarks/ranked_new_items.py --text-cache bench-output/text-cache
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import polars as pl
from machine import describe
from threadpoolctl import threadpool_limits

from shoprec.data import EvalSet, Interactions, UserSequences, load_dataset, make_split
from shoprec.evaluation import evaluate
from shoprec.models import FitOptions
from shoprec.ranking import RankedConfig, RankedRecommender
from shoprec.types import Columns

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BATCHES = (1, 10, 100)


def remapped(cases: EvalSet, old: list[str], new: RankedRecommender) -> EvalSet:
    """``cases`` (rows of the vocabulary ``old``) in the rows of ``new``'s vocabulary."""
    rows = new.item_vocab.lookup(old)
    h = cases.histories
    histories = UserSequences(
        user_ids=h.user_ids,
        offsets=h.offsets,
        items=rows[h.items],
        types=h.types,
        timestamps=h.timestamps,
    )
    return EvalSet(histories, rows[cases.targets])


def fit(data: Interactions, config: RankedConfig, seed: int) -> tuple[RankedRecommender, float]:
    model = RankedRecommender(config)
    start = time.perf_counter()
    model.fit(data, FitOptions(seed=seed))
    return model, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "amazon_beauty")
    parser.add_argument("--text-cache", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    split = make_split(load_dataset(args.data), "cold-item", args.seed)
    data = split.test_train
    vocab = data.item_vocab.ids
    cold = sorted({vocab[t] for t in split.test.targets})
    events_of = np.bincount(data.item_index, minlength=data.n_items)
    unseen = [vocab[r] for r in np.flatnonzero(events_of == 0)]  # the cold items and any other
    config = RankedConfig(text_cache_dir=str(args.text_cache) if args.text_cache else None)

    at_fit, at_fit_s = fit(data, config, args.seed)
    listed = data.items.filter(~pl.col(Columns.ITEM).is_in(unseen))
    later, later_s = fit(Interactions(data.events, listed), config, args.seed)
    texts = dict(zip(vocab, data.item_texts(), strict=True))
    rows = data.items.filter(pl.col(Columns.ITEM).is_in(unseen))

    timings = {}
    with threadpool_limits(1):
        for n in BATCHES:
            ids = unseen[:n]
            seconds = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                grown = copy.deepcopy(later)
                grown.add_items(ids, [texts[i] for i in ids], rows)
                seconds.append(time.perf_counter() - start)
            timings[n] = float(np.median(seconds))
    later.add_items(unseen, [texts[i] for i in unseen], rows)

    print(describe(f"{args.data.name}, cold-item split seed {args.seed}"))
    print(
        f"{len(cold):,} cold test items, {len(split.test):,} test targets, "
        f"{len(unseen):,} items without events in the log"
    )
    print("| cold items | fit (s) | test NDCG@10 | test HR@10 |")
    print("|---|---:|---:|---:|")
    for name, model, seconds, cases in (
        ("listed at the fit", at_fit, at_fit_s, split.test),
        ("listed after the fit (`add_items`)", later, later_s, remapped(split.test, vocab, later)),
    ):
        res = evaluate(model, cases, ks=(10,))
        print(f"| {name} | {seconds:.0f} | {res['NDCG@10']:.4f} | {res['HR@10']:.4f} |")
    print()
    print("| new items per update | copy + `add_items`, median (s) |")
    print("|---:|---:|")
    for n, seconds in timings.items():
        print(f"| {n} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
