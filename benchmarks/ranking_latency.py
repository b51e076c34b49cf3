"""Single-request latency of the learned ranking stage, step by step, on one thread.

Fits a ``RankedRecommender`` on the leave-one-out ``test_train`` log of a dataset (or loads a
saved ranked artifact with ``--model-dir``), then serves real test histories one at a time, as
the pipeline does, and times each public step separately: ``encode`` (query -> history),
``candidates`` (every source's whole-catalogue scores and the union of their top-k),
``features``, ``rank``, features + rank together, and ``contributions`` on the 10 shown rows;
then checks the text source's int8 short list against an exact fp32 scan of the catalogue.
BLAS, OpenMP (LightGBM) and torch run on one thread, as in ``shoprec serve``; 20 warm-up
requests are not timed. Prints p50 / p99 / mean per step (ms) as a markdown table, the mean
number of candidates and the machine.

Usage::

    python benchmarks/ranking_latency.py                      # Beauty, 4 sources, LambdaRank
    python benchmarks/ranking_latency.py --ranker deepfm --text-cache bench-output/text-cache
    python benchmarks/ranking_latency.py --sources sasrec,covisit:80,ease,popularity,text
    python benchmarks/ranking_latency.py --model-dir DIR       # a saved ranked model
    python benchmarks/ranking_latency.py --data ../shared/data/movielens_100k \\
        --sources covisit,ease,popularity --text-encoder hashing-64 --requests 200

``--sources`` names each source with an optional ``:k``; without one a source gets its default
k: sasrec 100, covisit 70, ease 70, popularity 30, text 50 (the default four: 220 in all; the
union is smaller where the sources agree, hence the printed mean number of candidates).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe
from threadpoolctl import threadpool_limits

from shoprec.data import UserSequences, load_dataset, make_split
from shoprec.models import FitOptions
from shoprec.ranking import (
    RankedConfig,
    RankedRecommender,
    SourceSpec,
    TextSimilarity,
    history_rows,
)
from shoprec.ranking.candidates import TEXT_SOURCE
from shoprec.ranking.ranked import default_sources
from shoprec.types import EVENT_TYPE_CODES, HistoryEvent, Query

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
#: Candidates per source when ``--sources`` gives no ``:k``: the ranked model's defaults
#: (the Transformer, not a default source, with the k docs/ranking.md suggests for it).
DEFAULT_K = {"sasrec": 100} | {name: spec.k for name, spec in default_sources().items()}
SHOWN = 10
WARM_UP = 20
STEPS = (
    "encode",
    "candidates",
    "features",
    "rank",
    "features + rank",
    f"contributions ({SHOWN} rows)",
    "request (all of the above)",
)


def parse_sources(spec: str) -> dict[str, SourceSpec]:
    """``"covisit,ease:80,text"`` -> source specs (the name is the registered key)."""
    sources = {}
    for part in spec.split(","):
        name, _, k = part.strip().partition(":")
        sources[name] = SourceSpec(key=name, k=int(k) if k else DEFAULT_K.get(name, 50))
    return sources


def text_agreement(model: RankedRecommender, histories: list[UserSequences]) -> str:
    """Share of requests whose text candidates are the exact fp32 top k of the catalogue.

    The text source finds them by an int8 scan and an exact re-scoring of its short list
    (``TextSimilarity.top_k_rows``); here every item is scored in fp32 instead.
    """
    text = next((s for s in model.source_models.values() if isinstance(s, TextSimilarity)), None)
    if text is None:
        return "n/a (no text source)"
    k = next(spec.k for spec in model.config.sources.values() if spec.key == TEXT_SOURCE)
    same = 0
    for hist in histories:
        exclude = history_rows(hist)
        _, found, _ = text.top_k_rows(hist, k, exclude)
        query = text.query_vectors(hist)[0]
        scores = text.vectors @ query
        allowed = text.has_text.copy()
        allowed[exclude[0]] = False
        rows = np.flatnonzero(allowed & query.any())
        exact = rows[np.lexsort((rows, -scores[rows]))[:k]]
        same += np.array_equal(np.sort(found), np.sort(exact))
    return f"{same / len(histories):.4f} of {len(histories)} requests"


def one_thread() -> None:
    """Torch's intra-op pool on one thread, when torch is loaded (threadpoolctl does the rest)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def main() -> None:
    """Fit or load a ranked model and time its steps on single requests."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED / "amazon_beauty")
    parser.add_argument("--model-dir", type=Path, default=None, help="a saved ranked artifact")
    parser.add_argument("--sources", default="covisit,ease,popularity,text")
    parser.add_argument("--ranker", choices=("lambdarank", "deepfm"), default="lambdarank")
    parser.add_argument("--text-encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--text-cache", type=Path, default=None)
    parser.add_argument("--max-train-users", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    split = make_split(load_dataset(args.data), "loo")
    start = time.perf_counter()
    if args.model_dir is not None:
        model = RankedRecommender.load(args.model_dir)
        origin = f"loaded from {args.model_dir} in {time.perf_counter() - start:.1f} s"
    else:
        config = RankedConfig(
            sources=parse_sources(args.sources),
            ranker=args.ranker,
            text_encoder=args.text_encoder,
            text_cache_dir=str(args.text_cache) if args.text_cache else None,
            max_train_users=args.max_train_users,
        )
        model = RankedRecommender(config)
        model.fit(split.test_train, FitOptions(seed=args.seed))
        origin = (
            f"fit on {split.test_train.n_events:,} events in {time.perf_counter() - start:.1f} s"
        )

    cases = split.test.histories
    ids = split.test_train.item_vocab.ids
    kinds = {code: name for name, code in EVENT_TYPE_CODES.items()}
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(cases), size=min(args.requests + WARM_UP, len(cases)), replace=False)
    queries = []
    for r in rows:
        lo, hi = cases.offsets[r], cases.offsets[r + 1]
        events = zip(cases.items[lo:hi], cases.types[lo:hi], cases.timestamps[lo:hi], strict=True)
        history = tuple(HistoryEvent(ids[i], kinds[int(c)], float(t)) for i, c, t in events)
        queries.append(Query(user_id=cases.user_ids[r], history=history))

    times = {step: [] for step in STEPS}
    sizes = []
    encoded = []
    one_thread()
    with threadpool_limits(limits=1):
        for n, query in enumerate(queries):
            t0 = time.perf_counter()
            hist = model.encode(query)
            t1 = time.perf_counter()
            cands = model.candidates(hist, exclude=history_rows(hist))
            t2 = time.perf_counter()
            feats = model.features(hist, cands)[0]
            t3 = time.perf_counter()
            scores = model.rank(feats)
            t4 = time.perf_counter()
            shown = np.argsort(-scores, kind="stable")[:SHOWN]
            t5 = time.perf_counter()
            model.contributions(feats[shown])
            t6 = time.perf_counter()
            if n < WARM_UP:
                continue
            sizes.append(len(cands[0]))
            encoded.append(hist)
            spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t2, t6 - t5, t6 - t0)
            for step, span in zip(STEPS, spans, strict=True):
                times[step].append(span * 1000)

    cfg = model.config
    sources = ", ".join(f"{name} {cfg.sources[name].k}" for name in model.source_names)
    print(describe("one thread"))
    print(
        f"data: {args.data.name} ({split.test_train.n_items:,} items); model: {cfg.ranker} over "
        f"{sources}; {origin}"
    )
    recall = model.candidate_recall
    print(
        f"{len(sizes)} requests; mean candidates {np.mean(sizes):.1f} "
        f"(min {min(sizes)}, max {max(sizes)}); held-out candidate recall "
        f"{'n/a' if recall is None else f'{recall:.4f}'}"
    )
    print(f"text source's short list = exact fp32 top k: {text_agreement(model, encoded)}")
    print()
    print("| step | p50 ms | p99 ms | mean ms |")
    print("|---|---:|---:|---:|")
    for step, ms in times.items():
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"| {step} | {p50:.3f} | {p99:.3f} | {np.mean(ms):.3f} |")


if __name__ == "__main__":
    main()
