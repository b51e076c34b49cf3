"""The first requests after `shoprec serve` starts, against later ones (the warm-up, #18).

    python benchmarks/first_requests.py --home HOME [--requests 300]

Starts `shoprec serve` on HOME (a home with events, a catalogue and a published model), waits
until ready, then sends sequential `GET /v1/users/{id}/recommendations` for stored shoppers and
prints the first three latencies against the median and p99 of the later ones.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SHOPREC_HOME": args.home, "SHOPREC_SERVING__RELOAD_INTERVAL_S": "0"}
    command = [sys.executable, "-m", "shoprec", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        users = httpx.get(f"{base}/v1/users", params={"limit": args.requests}).json()["users"]
        times = []
        with httpx.Client(base_url=base) as client:
            for user in users:
                start = time.perf_counter()
                client.get(f"/v1/users/{user}/recommendations").raise_for_status()
                times.append((time.perf_counter() - start) * 1000)
    finally:
        server.terminate()
        server.wait()
    later = sorted(times[100:])
    print(f"first three: {', '.join(f'{t:.1f}' for t in times[:3])} ms")
    print(
        f"requests 101-{len(times)}: median {statistics.median(later):.1f} ms, "
        f"p99 {later[int(0.99 * (len(later) - 1))]:.1f} ms"
    )


if __name__ == "__main__":
    main()
