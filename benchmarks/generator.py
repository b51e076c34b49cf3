"""Synthetic shop generator throughput: time, events per second and peak memory per size.

Each size runs in a fresh subprocess so that its peak RSS is its own. A size is the target
number of events: ``10m`` is the ``large`` preset (1M items, 200k shoppers, ~10.7M events);
smaller sizes scale items and shoppers down in proportion. "generate" is ``generate_shop``
(arrays, catalogue text, event frame, truth); "write" is ``write_shop`` (gzip CSV + JSON).

Usage::

    python benchmarks/generator.py                    # 100k, 1m and 10m events
    python benchmarks/generator.py --sizes 100k 1m    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shoprec.data.synthetic import generate_shop, preset, write_shop

# Target events -> (items, shoppers); the large preset gives ~54 events per shopper.
SIZES = {
    "100k": (10_000, 2_000),
    "1m": (100_000, 20_000),
    "10m": (1_000_000, 200_000),
}


def measure(size: str) -> dict[str, float]:
    """Generate and write one size in this process; returns its figures."""
    n_items, n_users = SIZES[size]
    config = preset("large", n_items=n_items, n_users=n_users)
    start = time.perf_counter()
    shop = generate_shop(config)
    generated = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_shop(shop, Path(folder))
        written = time.perf_counter() - start
        size_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
    return {
        "items": shop.items.height,
        "users": shop.events["user_id"].n_unique(),
        "events": shop.events.height,
        "generate_s": generated,
        "write_s": written,
        "files_mb": size_mb,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def main() -> None:
    """Run every requested size in a subprocess and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--worker", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker)))
        return

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, ", end="")
    print(f"Python {platform.python_version()}")
    header = (
        f"| {'items':>9} | {'users':>7} | {'events':>10} | {'generate s':>10} | {'events/s':>9} "
        f"| {'write s':>7} | {'files MB':>8} | {'peak RSS GB':>11} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for size in args.sizes:
        worker = [sys.executable, __file__, "--worker", size]
        out = subprocess.run(worker, check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        print(
            f"| {r['items']:>9,} | {r['users']:>7,} | {r['events']:>10,} "
            f"| {r['generate_s']:>10.1f} | {r['events'] / r['generate_s']:>9,.0f} "
            f"| {r['write_s']:>7.1f} | {r['files_mb']:>8.1f} | {r['peak_rss_gb']:>11.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
