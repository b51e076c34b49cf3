"""Catalogue scoring at 1M items: int8 item table + exact fp32 re-scoring vs fp32 brute force.

A synthetic catalogue of ``--items`` vectors (``--dim`` wide) drawn around ``--clusters`` centres
(items of a category resemble each other, as trained item embeddings do), and shopper states
near random centres. For each method and batch size: milliseconds per history (top-10 from the
whole catalogue), the speed-up over two fp32 brute-force baselines (PyTorch's product + top-k,
which shoprec's fp32 models use, and faiss' exact ``IndexFlatIP`` with its fused top-k), and
the mean top-10 overlap with the exact fp32 top-10. The int8 path is
:class:`shoprec.features.quantized_index.Int8Catalogue.top_k` (what ``sasrec-int8`` ranks with):
one int8 scan over the catalogue with a fused top-k (faiss), the best ``shortlist`` items
re-scored with their fp32 vectors. The pq4 path is :class:`PQCatalogue.top_k`
(``sasrec-int8`` with ``catalogue = "pq4"``): 4-bit product-quantized codes (``D / 4`` bytes an
item) scanned by faiss' fast-scan kernel, then the same exact re-scoring.

Usage::

    python benchmarks/compression_catalogue.py --items 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import faiss
import numpy as np
import torch

from shoprec.features.quantized_index import Int8Catalogue, PQCatalogue

TORCH, FAISS = "fp32 brute force (torch)", "fp32 brute force (faiss)"


def synthetic(
    n_items: int, dim: int, n_clusters: int, n_queries: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clustered item vectors ``(N, D)`` and query states ``(Q, D)``."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_clusters, dim, generator=gen)
    assign = torch.randint(0, n_clusters, (n_items,), generator=gen)
    table = centres[assign] + 0.5 * torch.randn(n_items, dim, generator=gen)
    pick = torch.randint(0, n_clusters, (n_queries,), generator=gen)
    queries = centres[pick] + 0.5 * torch.randn(n_queries, dim, generator=gen)
    return table.contiguous(), queries.contiguous()


def timed(fn: Callable[[torch.Tensor], torch.Tensor], queries: torch.Tensor, batch: int) -> float:
    """Milliseconds per history, scoring ``queries`` in batches of ``batch`` (one warm-up)."""
    fn(queries[:batch])
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        fn(queries[i : i + batch])
    return (time.perf_counter() - start) * 1000 / len(queries)


def overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean share of ``b``'s top-k found in ``a``'s, per row."""
    return float(
        np.mean(
            [len(set(x.tolist()) & set(y.tolist())) / b.shape[1] for x, y in zip(a, b, strict=True)]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--shortlists", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument(
        "--pq-shortlists",
        type=int,
        nargs="+",
        default=[200, 400, 800],
        help="short lists of the 4-bit product-quantized scan (coarser codes: longer lists)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    table, queries = synthetic(args.items, args.dim, args.clusters, args.queries, args.seed)
    catalogue = Int8Catalogue(table)
    start = time.perf_counter()
    pq = PQCatalogue(table)
    pq_build_s = time.perf_counter() - start
    k = 10

    flat = faiss.IndexFlatIP(args.dim)
    flat.add(table.numpy())

    def brute(h: torch.Tensor) -> torch.Tensor:
        return (h @ table.T).topk(k, dim=1).indices

    def brute_faiss(h: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(flat.search(h.numpy(), k)[1])

    with torch.inference_mode():
        exact = brute(queries)
        rows = []
        for batch in args.batches:
            methods = {TORCH: brute, FAISS: brute_faiss}
            for s in args.shortlists:

                def int8(h: torch.Tensor, s: int = s) -> torch.Tensor:
                    return catalogue.top_k(h, k, s)[0]

                methods[f"int8 + exact re-score of {s}"] = int8
            for s in args.pq_shortlists:

                def pq4(h: torch.Tensor, s: int = s) -> torch.Tensor:
                    return pq.top_k(h, k, s)[0]

                methods[f"pq4 + exact re-score of {s}"] = pq4
            ms = {name: timed(fn, queries, batch) for name, fn in methods.items()}
            for name, fn in methods.items():
                rows.append({"method": name, "batch": batch, "ms": ms[name],
                             "speedup": ms[TORCH] / ms[name], "speedup_faiss": ms[FAISS] / ms[name],
                             "overlap": overlap(fn(queries), exact)})  # fmt: skip
    print(
        f"{args.items:,} items x {args.dim} dims, {args.clusters} clusters, {args.queries} "
        f"histories, top-{k}, {args.threads} threads; fp32 table "
        f"{table.numel() * 4 / 1e6:.0f} MB, int8 table {table.numel() / 1e6:.0f} MB (one scale), "
        f"pq4 index {pq.serialize().nbytes / 1e6:.0f} MB (trained and filled in {pq_build_s:.1f} s)"
    )
    print(f"| method | batch | ms / history | vs torch fp32 | vs faiss fp32 | top-{k} overlap |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['batch']} | {r['ms']:.3f} | {r['speedup']:.2f}x | "
              f"{r['speedup_faiss']:.2f}x | {100 * r['overlap']:.1f}% |")  # fmt: skip
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
