"""A real dashboard in a real browser: ``atliqon dashboard`` on a free loopback port, Debian's chromium.

Shared by the end-to-end tests and the benchmark (``python -m atliqon_platform_tests.dashboard.benchmark``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

from atliqon_platform.spark_connect_server import free_port
from atliqon_platform_tests.commands import start_atliqon, stop, wait_for_http

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download is not reachable
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
COUNTER_IDS = ("total-revenue", "total-quantity", "unique-customers", "average-selling-price")
GRAPH_IDS = ("top-products", "channel-share", "monthly-trend", "top-variants", "price-quantity")


@contextmanager
def served_dashboard(
    home: Path, timeout: float = 60, log: Path | None = None, **settings: str
) -> Iterator[str]:
    """``atliqon dashboard`` for the local lake under ``home``, as a user starts it (and stops it,
    with Ctrl-C), with ``settings`` (ATLIQON_ variables); yields its URL. Its terminal goes to
    ``log`` when given."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as scratch:
        log = log or Path(scratch) / "dashboard.log"
        process = start_atliqon(
            "dashboard", "--port", str(port), home=home, log=log, **{"ATLIQON_ENV": "local", **settings}
        )
        try:
            wait_for_http(f"{url}_dash-dependencies", process, log, timeout)
            yield url
        finally:
            stop(process)


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


def wait_until_drawn(page: Page, timeout_ms: float = 30_000) -> None:
    """Until the four counters and every chart are on screen."""
    for graph in GRAPH_IDS:
        page.wait_for_selector(f"#{graph} .main-svg", timeout=timeout_ms)
    for counter in COUNTER_IDS:
        page.wait_for_selector(f"#{counter}", timeout=timeout_ms)


def counters(page: Page) -> dict[str, str]:
    return {counter: page.inner_text(f"#{counter}") for counter in COUNTER_IDS}


def choose(page: Page, slicer: str, option: str) -> None:
    """Pick ``option`` in a slicer's dropdown, as a user clicks it."""
    page.click(f"#filter-{slicer}")
    page.get_by_role("option", name=option, exact=True).click()
