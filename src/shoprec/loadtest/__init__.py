"""Load testing: the live service measured from outside over loopback (``shoprec bench-serve``).

Owns building a home from a dataset, starting ``shoprec serve`` replicas in child processes on
the embedded default or on shared backends (in scratch space of the user's PostgreSQL and
Redis), driving them open loop with an aiohttp client and reading the figures back: latency
p50 / p99 / max, errors, freshness (an event posted to one replica, the recommendation read
from the next), ingest events/s, the highest sustained rate, the CPU time of the load
generator and of the servers, in-process ``Service.recommend`` timings and the comparison of
a replicated run with the embedded one.

- ``driver``: :class:`LoadSpec`, :func:`drive`, batched ingest, :func:`max_sustainable_rate`;
- ``servers``: :class:`Deployment`, starting replicas, readiness, CPU time, ``/metrics``;
- ``home``: the served home, filling the stores, scratch schema and key prefix;
- ``report``: :func:`plot_timeline`, :func:`compare`;
- ``bench``: :func:`bench_serve`, the orchestration.

The client is aiohttp (far less CPU per request than httpx), because on a small machine the
load generator shares the cores with the servers. May import every layer below (``serving``
and what it builds on); only ``cli`` imports it.
"""

from .bench import bench_serve
from .driver import LoadSpec, drive, max_sustainable_rate
from .report import compare, plot_timeline
from .servers import Deployment

__all__ = [
    "Deployment",
    "LoadSpec",
    "bench_serve",
    "compare",
    "drive",
    "max_sustainable_rate",
    "plot_timeline",
]
