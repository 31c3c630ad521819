"""A real dashboard in a real browser: ``atliqon dashboard`` on a free loopback port, Debian's chromium.

Shared by the end-to-end tests and the benchmark (``python -m atliqon_platform_tests.dashboard.benchmark``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

from atliqon_platform.spark_connect_server import free_port

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download is not reachable
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
COUNTER_IDS = ("total-revenue", "total-quantity", "unique-customers", "average-selling-price")
GRAPH_IDS = ("top-products", "channel-share", "monthly-trend", "top-variants", "price-quantity")


@contextmanager
def served_dashboard(home: Path, timeout: float = 60) -> Iterator[str]:
    """``atliqon dashboard`` for the local lake under ``home``, as a user starts it; yields its URL."""
    port = free_port()
    environ = {**os.environ, "ATLIQON_ENV": "local", "ATLIQON_HOME": str(home)}
    command = [sys.executable, "-m", "atliqon_platform.cli", "dashboard", "--port", str(port)]
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"atliqon dashboard exited with {process.returncode}: {process.stdout.read()}"
                )
            try:
                with urllib.request.urlopen(f"{url}_dash-dependencies", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"atliqon dashboard did not answer on {url} within {timeout}s"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
