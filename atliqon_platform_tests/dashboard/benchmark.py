"""How fast the dashboard answers in a real browser: first render and slicer changes, median of runs.

    python -m atliqon_platform_tests.dashboard.benchmark --home DIR [--runs 5]

``DIR`` is an ATLIQON_HOME whose lake holds the view (for the real dataset: ``atliqon seed --from
../shared/data/fmcg --parent-increment && atliqon backfill``).

- first render: a fresh browser context (nothing cached), from navigation until the four counters
  and every chart are drawn;
- return visit: the same, with the browser's cache from an earlier visit;
- slicer change: from the click on an option until the counters have changed and every chart is
  redrawn.

The server is started once and warmed by one page load, as a user meets it after ``atliqon
dashboard`` has started. The load average is printed too: the machine is shared, and Plotly's
drawing in the browser is CPU-bound, so the CPU time a first render costs is printed as well: on
an idle machine the wall time approaches it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path

import psutil
from playwright.sync_api import Browser, sync_playwright

from atliqon_platform_tests.dashboard.browser import (
    GRAPH_IDS,
    launch_chromium,
    served_dashboard,
    wait_until_drawn,
)

# Each narrows the previous selection, so the status line's row count changes every time.
SLICER_CHANGES = [("year", "2025"), ("channel", "Direct"), ("quarter", "Q3"), ("month", "August")]
# Plotly fires plotly_afterplot on a graph when it has redrawn it: collect them.
WATCH_REDRAWS = """() => {
    window.redrawn = new Set();
    document.querySelectorAll('.js-plotly-plot').forEach(
        graph => graph.on('plotly_afterplot', () => window.redrawn.add(graph.parentElement.id)));
}"""
ANSWERED = """([status, graphs]) =>
    document.getElementById('status').innerText !== status && window.redrawn.size === graphs"""


def cpu_seconds() -> float:
    """CPU time used so far by this process's children: the browser, the server, Playwright's driver."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def first_render(browser: Browser, url: str) -> tuple[float, float]:
    """A first visit: a fresh browser context, nothing cached. Wall time and CPU time spent."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    started, cpu = time.perf_counter(), cpu_seconds()
    page.goto(url)
    wait_until_drawn(page)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    context.close()
    return elapsed, cpu


def return_renders(browser: Browser, url: str, runs: int) -> list[float]:
    """Visits after the first: the browser has the scripts cached, as a returning reader."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    wait_until_drawn(page)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        page.goto(url)
        wait_until_drawn(page)
        times.append(time.perf_counter() - started)
    page.close()
    return times


def slicer_changes(browser: Browser, url: str) -> list[float]:
    """Each change in turn on one page, as a user narrows the selection: until every chart is redrawn."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    wait_until_drawn(page)
    page.evaluate(WATCH_REDRAWS)
    times = []
    for slicer, option in SLICER_CHANGES:
        status = page.inner_text("#status")
        page.evaluate("() => window.redrawn.clear()")
        page.click(f"#filter-{slicer}")
        option_element = page.get_by_role("option", name=option, exact=True)
        started = time.perf_counter()
        option_element.click()
        page.wait_for_function(ANSWERED, arg=[status, len(GRAPH_IDS)])
        times.append(time.perf_counter() - started)
    page.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True, help="an ATLIQON_HOME whose lake holds the view")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with served_dashboard(args.home) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        first_render(browser, url)  # the server's first page reads the view: done once per Delta version
        renders, render_cpu = zip(*(first_render(browser, url) for _ in range(args.runs)), strict=True)
        returns = return_renders(browser, url, args.runs)
        changes = [change for _ in range(args.runs) for change in slicer_changes(browser, url)]
        browser.close()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"first render CPU time (browser, server, driver): median {statistics.median(render_cpu):.2f}s")
    for name, times in (("first render", renders), ("return visit", returns), ("slicer change", changes)):
        runs = ", ".join(f"{elapsed:.2f}" for elapsed in times)
        print(f"{name}: median {statistics.median(times):.2f}s, max {max(times):.2f}s (runs: {runs})")


if __name__ == "__main__":
    main()
