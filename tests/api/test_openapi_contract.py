"""The OpenAPI document tells the truth: schemathesis finds no contract violation (#18).

It drives a live ``shoprec serve`` over loopback with every check (server errors, undocumented
statuses and content types, schema-valid requests rejected, invalid ones accepted, response
bodies against their schemas, ``Allow`` headers, stateful sequences through the API's links),
with a bounded number of examples and a fixed seed so a run is repeatable.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import make_home

ADMIN_KEY = "contract-admin"
# A schema-invalid body can be refused before it is parsed because it is over the size limit:
# 413 is a rejection too (schemathesis' default list of rejection statuses leaves it out).
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "413", "422", "429"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_schemathesis_finds_no_contract_violation(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if schemathesis is None:
        pytest.fail("schemathesis is a dev dependency: pip install -e '.[dev]'")
    home = tmp_path / "home"
    make_home(home)
    port = _free_port()
    env = {
        **os.environ,
        "SHOPREC_HOME": str(home),
        "SHOPREC_SERVING__ADMIN_KEYS": f'["{ADMIN_KEY}"]',
        "SHOPREC_SERVING__RELOAD_INTERVAL_S": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "shoprec", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/ready", timeout=1):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG, encoding="utf-8")
        command = [schemathesis, "--config-file", str(config), "run", f"{base}/openapi.json"]
        command += ["--checks", "all"]
        command += ["--max-examples", "25", "--seed", "0", "--workers", "1"]
        command += ["--header", f"X-API-Key: {ADMIN_KEY}"]
        # Starting a retraining child per generated request would only test the machine.
        command += ["--exclude-path", "/v1/admin/retrain"]
        run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    generated = re.search(r"(\d+) generated", summary)
    assert generated is not None and int(generated.group(1)) >= 200, summary  # it did test
