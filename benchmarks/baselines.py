"""Baselines on the shared datasets: leave-one-out, full-catalogue ranking, seen items excluded.

Runs :func:`shoprec.evaluation.run_benchmark` (the same function as ``shoprec benchmark``) for
each dataset folder and writes ``results.json`` / ``results.md`` / ``results.png`` per dataset
under ``--output``. Every model is tuned on the validation target over its ``search_space``
and refit on everything but each user's last event for the test figures.

Usage::

    python benchmarks/baselines.py                                   # 3 datasets, 4 baselines
    python benchmarks/baselines.py --datasets amazon_beauty --models popularity,ease
    python benchmarks/baselines.py --protocol cold-item --seeds 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from machine import describe
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shoprec.data import SPLIT_PROTOCOLS, load_dataset
from shoprec.evaluation import run_benchmark

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = ("amazon_beauty", "movielens_100k", "taobao_userbehavior_sample")
MODELS = "popularity,covisit,ease,als"


def main() -> None:
    """Run the benchmark for every requested dataset and print the markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=SHARED)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--protocol", default="loo", choices=SPLIT_PROTOCOLS)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--output", type=Path, default=Path("bench-output/baselines"))
    args = parser.parse_args()
    console = Console()
    console.print(describe())
    for name in args.datasets.split(","):
        data = load_dataset(args.data_root / name)
        out = args.output / args.protocol / name
        start = time.perf_counter()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(name, total=None)

            def update(
                message: str, done: int, total: int, task: int = task, name: str = name
            ) -> None:
                bar.update(task, description=f"{name}: {message}", completed=done, total=total)

            run_benchmark(
                data,
                args.models.split(","),
                args.protocol,
                args.seeds,
                out,
                update,
                dataset=name,
            )
        console.print(f"{name}: {time.perf_counter() - start:.0f} s -> {out}")
        console.print((out / "results.md").read_text(), markup=False, highlight=False)


if __name__ == "__main__":
    main()
