"""``shoprec bench-serve --replicas``: replicas on shared backends, next to the embedded default."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.events import connect_redis
from shoprec.loadtest import LoadSpec, drive
from shoprec.loadtest.driver import ingest
from shoprec.loadtest.servers import Servers

runner = CliRunner()


def test_bench_serve_measures_replicas_on_scratch_backends(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    psycopg = pytest.importorskip("psycopg")
    shop = tmp_path / "shop"
    generated = runner.invoke(app, ["data", "generate", "--output", str(shop), "--preset", "small"])
    assert generated.exit_code == 0, generated.output
    out = tmp_path / "bench"
    args = ["bench-serve", "--data", str(shop), "--output", str(out), "--model", "covisit"]
    args += ["--rate", "40", "--duration", "3", "--fresh-every", "2"]
    args += ["--ingest-batches", "4", "--batch", "50", "--in-process", "20"]
    args += ["--replicas", "2", "--state", redis_url, "--events", postgres_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    embedded, replicated = json.loads((out / "results.json").read_text())
    assert embedded["configuration"] == "embedded"
    assert (embedded["events"], embedded["state"]) == ("sqlite", "memory")
    assert replicated["configuration"] == "2 replicas, PostgreSQL + Redis"
    assert (replicated["events"], replicated["state"]) == ("postgresql", "redis")
    for run in (embedded, replicated):
        assert run["requests"] == 120 and run["errors"] == 0
        assert run["fresh_probes"] == 60 and run["freshness"] == 1.0
        assert run["ingest_events_per_s"] > 0 and run["in_process_p50_ms"] > 0
        assert run["client_cpu_s"] > 0 and run["server_cpu_s"] > 0
    # The replicas stored into the scratch schema: the dataset, the probes, the ingest.
    assert replicated["events_stored"] == replicated["n_events"] + 60 + 4 * 50
    targets = replicated["targets"]
    assert targets["freshness_met"] and targets["fresh_probes"] == 60
    assert targets["p50_added_ms"] == replicated["p50_ms"] - embedded["p50_ms"]
    assert "freshness_met" in result.output  # the targets table
    assert (out / "latency.png").read_bytes().startswith(b"\x89PNG")
    # Nothing is left on the user's servers: no scratch schema, no table outside it, no key.
    schema, prefix = replicated["scratch"]["schema"], replicated["scratch"]["prefix"]
    assert schema.startswith("shoprec_bench_") and prefix.startswith("shoprec-bench-")
    with psycopg.connect(postgres_url) as conn:
        schemas = "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s"
        assert conn.execute(schemas, (schema,)).fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('events')").fetchone() == (None,)
    redis = connect_redis(redis_url)
    assert not list(redis.client.scan_iter(match=f"{prefix}*"))
    assert not list(redis.client.scan_iter(match=f"{redis.prefix}*"))
    redis.close()


class _FakeReplicas:
    """Replicas sharing one state: which replica saw what."""

    def __init__(self) -> None:
        self.viewed: set[str] = set()  # the shared state: shoppers with an event
        self.posts: dict[str, int] = {}  # probe shopper -> replica that took the event
        self.reads: dict[str, int] = {}  # probe shopper -> replica that answered for them
        self.requests: defaultdict[int, int] = defaultdict(int)
        self.batches: defaultdict[int, int] = defaultdict(int)

    def app(self, replica: int) -> web.Application:
        async def events(request: web.Request) -> web.Response:
            body = await request.json()
            if "events" in body:
                self.batches[replica] += 1
            else:
                self.posts[body["user_id"]] = replica
                self.viewed.add(body["user_id"])
            return web.json_response({})

        async def recommend(request: web.Request) -> web.Response:
            user = request.match_info["user"]
            self.requests[replica] += 1
            if user.startswith("bench-fresh-"):
                self.reads[user] = replica
            reason = "because you viewed Socks" if user in self.viewed else "popular"
            return web.json_response({"items": [{"reason": reason}]})

        application = web.Application()
        application.router.add_post("/v1/events", events)
        application.router.add_get("/v1/users/{user}/recommendations", recommend)
        return application


def test_requests_go_round_robin_and_probes_read_from_the_next_replica() -> None:
    fake = _FakeReplicas()

    async def run() -> dict[str, object]:
        async with (
            TestServer(fake.app(0), host="127.0.0.1") as a,
            TestServer(fake.app(1), host="127.0.0.1") as b,
            aiohttp.ClientSession() as session,
        ):
            servers = Servers(
                [str(a.make_url("")).rstrip("/"), str(b.make_url("")).rstrip("/")], []
            )
            spec = LoadSpec(rate=200, duration=0.4, fresh_every=4)
            figures = await drive(session, servers, ["u1", "u2"], ("i1", "Socks"), spec)
            await ingest(session, servers, ["i1", "i2"], batches=5, size=3)
            return figures

    figures = asyncio.run(run())
    assert figures["requests"] == 80 and figures["errors"] == 0
    assert figures["fresh_probes"] == 20 and figures["freshness"] == 1.0
    # Probe k posts to replica k % 2 and reads from the other one: both directions cross.
    assert len(fake.posts) == 20 and sorted(fake.posts.values()) == [0] * 10 + [1] * 10
    assert all(fake.reads[user] == 1 - replica for user, replica in fake.posts.items())
    # The 60 plain requests split evenly; each replica also answers 10 probes' reads.
    assert dict(fake.requests) == {0: 30 + 10, 1: 30 + 10}
    # Ingest batches alternate too.
    assert dict(fake.batches) == {0: 3, 1: 2}
