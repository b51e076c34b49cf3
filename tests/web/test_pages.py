"""The demo shop and the dashboard in a real browser (headless Chromium), against a live service.

Planted signal (see ``conftest.py``): every camera buyer adds the camera's own lens next, so a
click on ``cam-2`` must put ``acc-2`` first in "Recommended for you", within a second.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.browser


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 10.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)


def attr(driver: Any, css: str, name: str) -> str:
    return str(driver.find_element("css selector", css).get_attribute(name) or "")


def rail(driver: Any, name: str) -> list[str]:
    return [i for i in attr(driver, f"#rail-{name}", "data-items").split(",") if i]


def actions(driver: Any) -> int:
    return int(attr(driver, "body", "data-actions") or 0)


def do(driver: Any, css: str) -> None:
    """Click and wait until the page has sent the event and redrawn every rail."""
    before = actions(driver)
    driver.find_element("css selector", css).click()
    wait(driver, lambda d: actions(d) > before)


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def open_shop(driver: Any, server: LiveServer) -> None:
    driver.get(f"{server.url}/shop")
    wait(driver, lambda d: attr(d, "body", "data-ready") == "1")


def test_a_click_changes_recommended_for_you_within_a_second(
    browser: Any, live_server: LiveServer
) -> None:
    open_shop(browser, live_server)
    before = rail(browser, "recommended")
    # A new anonymous shopper: cold start shows the best-selling books.
    assert before and before[0].startswith("book-")
    browser.find_element("css selector", '#grid .card[data-item="cam-2"]').click()
    start = time.monotonic()
    wait(browser, lambda d: rail(d, "recommended") != before, timeout=5.0)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, f"the rail took {elapsed:.2f} s to change"
    after = rail(browser, "recommended")
    assert after[0] == "acc-2"  # the planted accessory of the clicked camera
    first = browser.find_element("css selector", "#rail-recommended .rec .reason")
    assert first.text == "because you viewed Camera model 2"
    wait(browser, lambda d: actions(d) == 1)
    assert "rails updated" in browser.find_element("id", "status").text
    assert float(attr(browser, "body", "data-last-ms")) < 1000
    assert rail(browser, "similar")[0] == "acc-2"
    assert browser.find_element("id", "product-title").text == "Camera model 2"
    screenshot(browser, "shop-after-click")


def reasons(driver: Any, name: str) -> dict[str, str]:
    # Read in one script: the rail may be redrawn between two WebDriver calls.
    return dict(
        driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])]"
            ".map(r => [r.dataset.item, r.querySelector('.reason').textContent]);",
            f"#rail-{name} .rec",
        )
    )


def test_add_to_cart_updates_bought_together(browser: Any, live_server: LiveServer) -> None:
    open_shop(browser, live_server)
    do(browser, '#grid .card[data-item="cam-1"]')
    do(browser, "#add-to-cart")
    title = browser.find_element("css selector", "#rail-together .rail-title").text
    assert title == "Frequently bought together with your cart (1)"
    assert rail(browser, "together")[0] == "acc-1"
    assert reasons(browser, "together")["acc-1"] == "goes with Camera model 1"
    do(browser, '#grid .card[data-item="cam-3"]')
    # Only viewed, not in the cart: the cart rail does not pair anything with it yet.
    assert reasons(browser, "together").get("acc-3") != "goes with Camera model 3"
    do(browser, "#add-to-cart")
    both = rail(browser, "together")
    assert set(both[:2]) == {"acc-1", "acc-3"}
    assert reasons(browser, "together")["acc-3"] == "goes with Camera model 3"
    assert browser.find_element("id", "cart-count").text == "2"
    screenshot(browser, "shop-cart")
    # Buying the cart empties it; the rail is about the item on screen again.
    browser.find_element("id", "buy-cart").click()
    wait(browser, lambda d: d.find_element("id", "cart-count").text == "0" and actions(d) >= 6)
    title = browser.find_element("css selector", "#rail-together .rail-title").text
    assert title == "Frequently bought together"


def test_search_and_category_filter_the_grid(browser: Any, live_server: LiveServer) -> None:
    open_shop(browser, live_server)

    def grid(d: Any) -> list[str]:
        script = "return [...document.querySelectorAll('#grid .card')].map(c => c.dataset.item);"
        return sorted(d.execute_script(script))

    assert len(grid(browser)) == 12
    browser.find_element("id", "search").send_keys("lens")
    wait(browser, lambda d: grid(d) == [f"acc-{k}" for k in range(4)])
    browser.find_element("id", "search").clear()
    browser.find_element("css selector", '#categories .chip[data-category="books"]').click()
    wait(browser, lambda d: grid(d) == [f"book-{k}" for k in range(4)])


def test_dashboard_shows_traffic_after_requests(browser: Any, live_server: LiveServer) -> None:
    open_shop(browser, live_server)
    do(browser, '#grid .card[data-item="cam-0"]')
    for _ in range(20):
        with urllib.request.urlopen(f"{live_server.url}/v1/users/someone/recommendations") as r:
            assert r.status == 200
    browser.get(f"{live_server.url}/dashboard")
    wait(browser, lambda d: int(attr(d, "body", "data-polls") or 0) >= 1)
    rate = float(browser.find_element("id", "kpi-rps").text)
    assert rate > 0
    assert int(attr(browser, "body", "data-requests")) >= 24
    assert browser.find_element("id", "model-version").text.endswith("-covisit")
    events = browser.find_element("id", "events").text
    assert "cam-0" in events and "view" in events
    # The request-rate chart has drawn a line: some pixels are the series colour.
    drawn = browser.execute_script(
        """
        const c = document.getElementById('chart-rps');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let blue = 0;
        for (let i = 0; i < px.length; i += 4)
          if (px[i] < 80 && px[i + 1] > 70 && px[i + 1] < 130 && px[i + 2] > 200) blue++;
        return blue;
        """
    )
    assert drawn > 20
    screenshot(browser, "dashboard")
