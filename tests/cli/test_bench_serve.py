"""``shoprec bench-serve`` runs a real server in a child process and measures it end to end."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shoprec.cli import app
from shoprec.loadtest import LoadSpec, driver, max_sustainable_rate
from shoprec.loadtest.machine import machine

runner = CliRunner()


def test_bench_serve_measures_latency_freshness_and_ingest(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    generated = runner.invoke(app, ["data", "generate", "--output", str(shop), "--preset", "small"])
    assert generated.exit_code == 0, generated.output
    out = tmp_path / "bench"
    args = ["bench-serve", "--data", str(shop), "--output", str(out), "--model", "covisit"]
    args += ["--rate", "40", "--duration", "2", "--fresh-every", "4"]
    args += ["--ingest-batches", "2", "--batch", "50", "--in-process", "20"]
    args += ["--max-rate-steps", "2", "--step-duration", "1", "--p99-target-ms", "10000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (figures,) = json.loads((out / "results.json").read_text())  # the embedded default only
    assert figures["configuration"] == "embedded"
    assert figures["machine"] == machine()  # the processor's name, not just "x86_64"
    assert figures["requests"] == 80 and figures["errors"] == 0
    assert figures["achieved_rps"] > 10
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    # Every probe's view was acknowledged before its request: each must be reflected.
    assert figures["fresh_probes"] == 20 and figures["freshness"] == 1.0
    assert figures["ingest_events_per_s"] > 0
    # Every acknowledged event is in the store: the dataset's, the probes' and the ingested.
    assert figures["events_stored"] == figures["n_events"] + 20 + 2 * 50
    # CPU time of the load generator (this process) and of the server during the timed run.
    assert figures["client_cpu_s"] > 0 and 0 < figures["client_cores"] <= 1.5
    assert figures["server_cpu_s"] > 0 and figures["server_cores"] > 0
    per_request = figures["server_cpu_s"] / figures["requests"] * 1000
    assert figures["server_cpu_ms_per_request"] == pytest.approx(per_request)
    assert 0 < figures["in_process_p50_ms"] <= figures["in_process_p99_ms"]
    assert 0 < figures["server_p99_ms_at_most"] <= 1000  # a histogram bucket bound
    assert figures["server_full_gcs"] >= 0 and figures["server_full_gc_ms"] >= 0
    timeline = figures["timeline"]  # the 60 timed requests (80 less 20 probes), per second
    assert [row["second"] for row in timeline] == [0, 1]
    assert sum(row["requests"] for row in timeline) == 60
    assert max(row["max_ms"] for row in timeline) == figures["max_ms"]
    assert (out / "latency.png").read_bytes().startswith(b"\x89PNG")
    # Two easy steps (40, then 60 req/s) under a loose p99 target: both sustained.
    assert [(s["rate"], s["sustained"]) for s in figures["rate_steps"]] == [(40, True), (60, True)]
    assert figures["max_sustainable_rps"] == 60 and "highest sustained rate" in result.output


def test_rate_search_grows_then_bisects(monkeypatch: pytest.MonkeyPatch) -> None:
    async def drive(
        session: object, base: str, users: object, probe: object, spec: LoadSpec
    ) -> dict[str, float]:
        # A server whose p99 grows with the rate: 10 ms per 100 req/s; it always keeps up.
        p99 = spec.rate / 10
        latency = {"p50_ms": 1.0, "p99_ms": p99, "max_ms": p99}
        cores = {"client_cores": 0.5, "server_cores": 1.0}
        return {"achieved_rps": spec.rate, **latency, "errors": 0, **cores}

    # Patched where the rate search looks it up.
    monkeypatch.setattr(driver, "drive", drive)
    spec = LoadSpec(rate=100, max_rate_steps=5, step_duration=1, p99_target_ms=20)
    search = max_sustainable_rate(None, "", [], ("", ""), spec)  # type: ignore[arg-type]
    found = asyncio.run(search)
    rates = [(s["rate"], s["sustained"]) for s in found["rate_steps"]]
    assert rates == [(100, True), (150, True), (225, False), (187.5, True), (206.25, False)]
    assert found["max_sustainable_rps"] == 187.5
