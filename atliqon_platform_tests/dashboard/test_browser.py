"""End to end: ``atliqon dashboard`` over the real dataset's gold view, driven in Debian's chromium.

Expected figures are computed here from the Delta table with ``deltalake`` and pyarrow, not by the
dashboard's code; only the number formatting (unit-tested in test_kpis) is shared.
"""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake
from playwright.sync_api import expect, sync_playwright

from atliqon_platform.dashboard.kpis import Counters, formatted_counters
from atliqon_platform_tests.dashboard.browser import (
    COUNTER_IDS,
    choose,
    counters,
    launch_chromium,
    served_dashboard,
    wait_until_drawn,
)
from atliqon_platform_tests.dashboard.helpers import SAMPLE, VIEW_SCHEMA, row

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
TIMEOUT_MS = 15_000
NO_DATA = "No data yet: run the pipeline"


def expected_counters(view: pa.Table) -> dict[str, str]:
    """The four counters of REFERENCE_RULES.md §5, by pyarrow, as the page prints them."""
    figures = Counters(
        total_revenue=pc.sum(view["total_amount_inr"]).as_py() or 0.0,
        total_quantity=pc.sum(view["sold_quantity"]).as_py() or 0.0,
        unique_customers=pc.count_distinct(view["customer_code"]).as_py(),
        average_selling_price=pc.mean(view["price_inr"]).as_py() or 0.0,
    )
    texts = formatted_counters(figures)
    return dict(zip(COUNTER_IDS, texts.values(), strict=True))


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def real_dashboard(real_platform):
    with served_dashboard(real_platform["home"]) as url:
        yield url


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    yield page
    page.close()


def assert_counters(page, expected: dict[str, str]) -> None:
    for counter, text in expected.items():
        expect(page.locator(f"#{counter}")).to_have_text(text, timeout=TIMEOUT_MS)


def test_counters_follow_the_channel_slicer(real_platform, real_dashboard, page):
    view_uri = real_platform["home"] / "lake" / "gold" / "vw_fact_orders_enriched"
    table = DeltaTable(str(view_uri))
    view = table.to_pyarrow_table()
    page.goto(real_dashboard)
    wait_until_drawn(page)
    everything = counters(page)
    assert everything == expected_counters(view)
    assert f"(Delta version {table.version()})" in page.inner_text("#last-updated")
    page.screenshot(path=ARTIFACTS / "all.png", full_page=True)

    choose(page, "channel", "Acquisition")
    acquisition = expected_counters(view.filter(pc.equal(view["channel"], "Acquisition")))
    assert acquisition != everything
    assert_counters(page, acquisition)
    page.screenshot(path=ARTIFACTS / "channel-acquisition.png", full_page=True)


def test_the_trend_keeps_each_months_figure_inside_the_plot(real_dashboard, page):
    """The first and last months' figures stay off the axes (the first sat on the revenue ticks)."""
    page.goto(real_dashboard)
    wait_until_drawn(page)
    plot = page.locator("#monthly-trend .nsewdrag").first.bounding_box()
    labels = page.locator("#monthly-trend .textpoint text")
    assert labels.count() > 2
    first, last = labels.first.bounding_box(), labels.last.bounding_box()
    assert first["x"] >= plot["x"], (first, plot)
    assert last["x"] + last["width"] <= plot["x"] + plot["width"], (last, plot)


def test_a_selection_without_rows_shows_zeros_and_says_so(real_dashboard, page):
    page.goto(real_dashboard)
    wait_until_drawn(page)
    choose(page, "year", "2024")
    expect(page.locator("#status")).to_contain_text("order rows selected", timeout=TIMEOUT_MS)
    choose(page, "channel", "Acquisition")  # the child company was bought in 2025
    assert_counters(page, dict(zip(COUNTER_IDS, ["0", "0", "0", "0.00"], strict=True)))
    expect(page.locator("#status")).to_have_text("No rows for these filters: every figure is zero.")
    for graph in ("top-products", "channel-share", "monthly-trend", "top-variants", "price-quantity"):
        expect(page.locator(f"#{graph}")).to_contain_text("No rows for these filters")
    expect(page.locator("#customers-rows")).to_contain_text("No rows for these filters")
    page.screenshot(path=ARTIFACTS / "no-rows.png", full_page=True)


def test_snapshot_materialised_with_the_real_view(real_platform):
    view = DeltaTable(
        str(real_platform["home"] / "lake" / "gold" / "vw_fact_orders_enriched")
    ).to_pyarrow_table()
    snapshot = (real_platform["home"] / "lake" / "_dashboard" / "snapshot.html").read_text()
    for text in expected_counters(view).values():
        assert f"<div>{text}</div>" in snapshot


def test_before_the_pipeline_ran_the_page_says_no_data_yet(tmp_path, browser):
    """And the terminal of `atliqon dashboard` says where it serves, not each request it served."""
    terminal = tmp_path / "terminal.log"
    with served_dashboard(tmp_path, log=terminal) as url:
        page = browser.new_page()
        page.goto(url)
        expect(page.locator("#no-data h1")).to_have_text(NO_DATA, timeout=TIMEOUT_MS)
        expect(page.locator("#problem")).to_contain_text("vw_fact_orders_enriched does not exist yet")
        page.screenshot(path=ARTIFACTS / "no-data-yet.png", full_page=True)
        page.close()
    said = terminal.read_text()
    assert f"dashboard on {url.rstrip('/')}" in said
    assert "GET /" not in said and "POST /" not in said, said


def test_an_open_page_follows_new_versions_of_the_view_and_keeps_its_selection(tmp_path, browser):
    """A page left open showed the data of when it was loaded (a reader had to reload)."""
    view_uri = str(tmp_path / "lake" / "gold" / "vw_fact_orders_enriched")
    retailers = [row("2025-01", f"Shop {n:02d}", "Retailer", "Bat", n, 10.0) for n in range(1, 12)]
    with served_dashboard(tmp_path, ATLIQON_DASHBOARD_REFRESH_SECONDS="1") as url:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(url)
        expect(page.locator("#no-data h1")).to_have_text(NO_DATA, timeout=TIMEOUT_MS)
        write_deltalake(view_uri, pa.Table.from_pylist(SAMPLE + retailers, schema=VIEW_SCHEMA))
        wait_until_drawn(page)  # the page that said "no data" shows the data, without a reload
        assert counters(page) == expected_counters(DeltaTable(view_uri).to_pyarrow_table())
        choose(page, "channel", "Retailer")
        page.click("#customers-next")
        expect(page.locator("#customers-page-label")).to_have_text(
            "Page 2 of 2 (12 customers)", timeout=TIMEOUT_MS
        )
        later = [row("2026-01", "Delta", "Retailer", "Bat", 7, 130.0, category="Cricket")]
        write_deltalake(view_uri, pa.Table.from_pylist(later, schema=VIEW_SCHEMA), mode="append")
        expect(page.locator("#last-updated")).to_contain_text("(Delta version 1)", timeout=TIMEOUT_MS)
        # the reader's page too, with the new customer counted
        expect(page.locator("#customers-page-label")).to_have_text(
            "Page 2 of 2 (13 customers)", timeout=TIMEOUT_MS
        )
        view = DeltaTable(view_uri).to_pyarrow_table()
        assert_counters(page, expected_counters(view.filter(pc.equal(view["channel"], "Retailer"))))
        choose(page, "year", "2026")  # the new year is offered
        assert_counters(page, expected_counters(pa.Table.from_pylist(later, schema=VIEW_SCHEMA)))
        page.close()
