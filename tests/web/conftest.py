"""A live service on a free port over a shop with planted relations, and headless Chromium.

The shop: four cameras, each with its own accessory that every camera buyer adds next
(``cam-k -> acc-k``), and four best-selling books that new shoppers are shown first. A view of
``cam-2`` must therefore bring ``acc-2`` to the top of "Recommended for you".
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import uvicorn

from shoprec.data import Interactions
from shoprec.events import SQLiteCatalog, SQLiteEventStore
from shoprec.jobs import train_and_publish
from shoprec.models import FitOptions, ModelVersions
from shoprec.pipeline import PipelineConfig
from shoprec.serving import create_app
from shoprec.settings import ServingSettings, Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Screenshots land here (gitignored); CI can keep the folder as an artifact.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N_PAIRS = 4


def planted_items() -> pl.DataFrame:
    rows = []
    for k in range(N_PAIRS):
        rows.append((f"cam-{k}", f"Camera model {k}", "cameras", "Lumen", 300.0 + 50 * k))
        rows.append((f"acc-{k}", f"Lens for camera {k}", "accessories", "Lumen", 40.0 + 5 * k))
        rows.append((f"book-{k}", f"Bestseller novel {k}", "books", "Paper", 12.0 + k))
    return pl.DataFrame(
        rows, schema=["item_id", "title", "category", "brand", "price"], orient="row"
    )


def planted_events() -> pl.DataFrame:
    t0 = time.time() - 3600  # within trending's horizon
    rows: list[tuple[str, str, str, float]] = []
    for k in range(N_PAIRS):
        for u in range(15):
            user, t = f"buyer-{k}-{u:02d}", t0 + 100 * k + u
            rows += [(user, f"cam-{k}", "view", t), (user, f"acc-{k}", "addtocart", t + 1)]
    for k in range(N_PAIRS):
        rows += [(f"reader-{k}-{u:02d}", f"book-{k}", "purchase", t0 + 900 + u) for u in range(40)]
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row"
    )


def require_service(name: str, reason: str) -> None:
    """Skip when a browser part is missing, except in CI (``CI=true``) where that fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    home = tmp_path / "home"
    home.mkdir()
    with SQLiteCatalog(home / "shoprec.db") as catalog:
        catalog.upsert(planted_items())
    with SQLiteEventStore(home / "shoprec.db") as store:
        store.append(planted_events())
    data = Interactions(planted_events(), planted_items())
    train_and_publish(
        data, "covisit", {}, ModelVersions(home / "models"), FitOptions(), validate=False
    )
    serving = ServingSettings(reload_interval_s=0.0, pipeline=PipelineConfig(trending_resort_s=0.0))
    app = create_app(Settings(home=home, serving=serving))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Selenium; skips (fails in CI) when it is missing."""
    if not CHROMIUM.is_file() or shutil.which(str(CHROMEDRIVER)) is None:
        require_service(
            "Chromium",
            f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium chromium-driver",
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require_service("selenium", "install the dev extra: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
