"""Asset checks on real runs: clean days pass, crafted bad days fail the right check, a failing
blocking check stops what is downstream of it in the same run, and a check that cannot run says so.

What the Dagster UI shows of them is read from a real webserver's GraphQL API, as its Checks tab
reads it: every check's latest result, and its status per landing day after one-day runs and after
a range run (a single-run backfill), where each day's outcome is its own."""

import datetime as dt

import pytest
from dagster import AssetKey, AssetSelection, materialize
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from atliqon_platform.assets.definitions import build_assets
from atliqon_platform.checks.silver import build_silver_checks
from atliqon_platform.partitions import Partitions
from atliqon_platform.resources.definitions import build_resources
from atliqon_platform.settings import load_settings
from atliqon_platform.sources import order_file_key
from atliqon_platform.tables import GOLD_VW_FACT_ORDERS_ENRICHED
from atliqon_platform.transforms.columns import description
from atliqon_platform_tests.instances import platform_instance, run_as_launched
from atliqon_platform_tests.ui import browser_page, check_statuses, screenshot

HEADER = "order_id,order_placement_date,customer_id,product_id,order_qty\n"
KNOWN_PRODUCT, KNOWN_CUSTOMER = "25891203", "789320"
DAYS = [f"2025-07-0{day}" for day in range(1, 6)]  # two real days, two crafted, one without a file
PASSED, FAILED = "SUCCEEDED", "FAILED"
DAILY_CHAIN = ("bronze/orders", "silver/orders", "silver/orders_rejected", "gold/sb_fact_orders")
MONTHLY = ("gold/fact_orders", "gold/dim_date", "gold/vw_fact_orders_enriched")


def order_lines(day: dt.date, lines: list[tuple[str, str]]) -> bytes:
    """Lines of (product_id, order date text), each its own order."""
    rows = [
        f"F{day:%m%d}{n:04d},{date},{KNOWN_CUSTOMER},{product},10" for n, (product, date) in enumerate(lines)
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def platform(small_platform):
    """Two real days loaded by a range backfill (the UI serving them), then two crafted days."""
    landing = small_platform["landing"]
    mostly_unknown = dt.date(2025, 7, 3)
    lines = [(KNOWN_PRODUCT, "2025/07/03")] * 2 + [("11111111", "2025/07/03")] * 8
    landing.write(order_file_key(mostly_unknown), order_lines(mostly_unknown, lines))
    other_day = dt.date(2025, 7, 4)
    lines = [(KNOWN_PRODUCT, "2025/07/04")] * 9 + [(KNOWN_PRODUCT, "2025/07/01")]
    landing.write(order_file_key(other_day), order_lines(other_day, lines))
    return small_platform


@pytest.fixture(scope="module")
def runs(platform):
    """One daily run each for the crafted days, and a rerun of a clean day."""
    job = platform["defs"].resolve_job_def("daily_orders_job")
    return {
        day: run_as_launched(job, platform["instance"], day)
        for day in ("2025-07-01", "2025-07-03", "2025-07-04")
    }


@pytest.fixture(scope="module")
def ui(platform, runs):
    """The checks as the UI shows them after the one-day runs, then after one range run over the
    five days (07-05 has no file)."""
    after_days = check_statuses(platform["url"], platform["defs"])
    tags = {ASSET_PARTITION_RANGE_START_TAG: "2025-07-01", ASSET_PARTITION_RANGE_END_TAG: "2025-07-05"}
    run_as_launched(platform["defs"].resolve_job_def("daily_orders_job"), platform["instance"], tags=tags)
    return {"after_days": after_days, "after_range": check_statuses(platform["url"], platform["defs"])}


def checks_of(result) -> dict[tuple[str, str], object]:
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def test_a_clean_day_passes_every_check(runs):
    result = runs["2025-07-01"]
    assert result.success
    evaluations = checks_of(result)
    assert {check for check, evaluation in evaluations.items() if not evaluation.passed} == set()
    assert {asset for asset, _ in evaluations} == {
        "bronze/orders",
        "silver/orders",
        "silver/orders_rejected",
        "gold/sb_fact_orders",
    }


def test_a_day_of_unknown_products_fails_the_blocking_share_and_stops_gold(runs):
    result = runs["2025-07-03"]
    assert not result.success
    share = checks_of(result)[("silver/orders", "rejected_share")]
    assert not share.passed
    assert share.description == "2025-07-03: 80.0% of 10 rows quarantined (limit 40%)"
    assert share.metadata["rows_rejected"].value == 8
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert AssetKey(["silver", "orders"]) in materialized
    assert AssetKey(["gold", "sb_fact_orders"]) not in materialized


def test_rows_dated_another_day_fail_the_dates_check_with_examples(runs):
    result = runs["2025-07-04"]
    dates = checks_of(result)[("silver/orders", "dates_inside_partition")]
    assert not dates.passed
    assert dates.metadata["offending_rows"].value == 1
    assert (
        "date outside the partition: 2025-07-01 in the file of 2025-07-04" in dates.metadata["examples"].value
    )
    assert result.success  # an ERROR that does not block: the row is quarantined, the rest goes on


def test_checks_alone_report_a_missing_table_as_a_failed_check(tmp_path):
    settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_SPARK_MASTER": "local[2]"})
    partitions = Partitions.for_settings(settings)
    checks = build_silver_checks(0.5, partitions.daily)
    with platform_instance() as instance:
        result = materialize(
            [*build_assets(partitions), *checks],
            selection=AssetSelection.checks_for_assets(AssetKey(["silver", "customers"])),
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=False,
        )
    evaluations = checks_of(result)
    assert evaluations, "the checks reported nothing"
    for evaluation in evaluations.values():
        assert not evaluation.passed
        assert "the check could not run: TableNotFoundError: no Delta table at" in evaluation.description


def test_after_a_range_backfill_every_check_shows_its_outcome_and_each_days(platform):
    statuses, recorded = platform["after_backfill"]["statuses"], platform["after_backfill"]["recorded"]
    assert len(statuses) >= 60
    for (asset, check), status in statuses.items():
        assert status["latest"] is not None, f"{asset}: {check} shows no result"
        assert status["latest"]["status"] in (PASSED, FAILED), (asset, check, status)
        if status["partitions"] is None:
            continue
        for day, shown in status["partitions"].items():
            expected = PASSED if recorded[(asset, check, day)] else FAILED
            assert shown == expected, (asset, check, day)
        built = ["2025-07-01"] if asset in MONTHLY else DAYS[:2]  # July, or its first two days
        assert set(built) <= set(status["partitions"]), (asset, check, status["partitions"])


def test_after_one_day_runs_each_day_shows_its_own_outcome(ui):
    statuses = ui["after_days"]
    share = statuses[("silver/orders", "rejected_share")]
    assert share["partitions"] == {**dict.fromkeys(DAYS[:4], PASSED), "2025-07-03": FAILED}
    assert (share["latest"]["status"], share["latest"]["partition"]) == (PASSED, "2025-07-04")
    dates = statuses[("silver/orders", "dates_inside_partition")]
    assert dates["partitions"] == {**dict.fromkeys(DAYS[:4], PASSED), "2025-07-04": FAILED}
    assert dates["latest"]["status"] == FAILED
    for (asset, check), status in statuses.items():
        if asset in DAILY_CHAIN:
            assert status["latest"]["status"] in (PASSED, FAILED), (asset, check, status)


def test_after_a_range_run_each_day_shows_its_own_outcome(ui):
    statuses = ui["after_range"]
    expected_failures = {
        ("bronze/orders", "not_empty"): "2025-07-05",  # no file: a warning
        ("silver/orders", "rejected_share"): "2025-07-03",  # 80 % unknown products
        ("silver/orders", "dates_inside_partition"): "2025-07-04",  # a line dated 07-01
    }
    for (asset, check), status in statuses.items():
        if asset not in DAILY_CHAIN[:3]:  # gold is not built: 07-03 fails a blocking check
            continue
        failed_day = expected_failures.get((asset, check))
        latest = status["latest"]
        if status["partitions"] is None:  # Dagster's own column_schema_change looks at the whole table
            assert latest["status"] == PASSED, (asset, check, latest)
            continue
        expected = {day: FAILED if day == failed_day else PASSED for day in DAYS}
        assert status["partitions"] == expected, (asset, check)
        assert (latest["status"], latest["partition"]) == (FAILED if failed_day else PASSED, None)
        assert latest["evaluation"]["description"].startswith("2025-07-01 to 2025-07-05: ")
    not_empty = statuses[("bronze/orders", "not_empty")]["latest"]["evaluation"]
    assert not_empty["severity"] == "WARN" and "no order lines on 2025-07-05" in not_empty["description"]
    share = statuses[("silver/orders", "rejected_share")]["latest"]["evaluation"]
    assert share["description"].endswith("fails on 2025-07-03")


def test_the_checks_tab_and_a_gold_tables_columns_in_a_browser(platform, ui):
    """After the range run, as a user sees them: silver.orders' checks, each with its status (none
    skipped), rejected_share failing on its day, and the view's columns, what each means and what
    it is made of (test-artifacts/ui/*.png)."""
    url = platform["url"]
    with browser_page() as page:
        page.goto(f"{url}/assets/silver/orders?view=checks&checkDetail=rejected_share")
        checks = ["keys_not_null", "dates_inside_partition", "Succeeded", "fails on 2025-07-03"]
        screenshot(page, checks, "checks-tab-after-a-range-backfill")
        assert page.get_by_text("Skipped", exact=True).count() == 0
        page.get_by_text("Partitions", exact=True).last.click()  # the check's, not the asset's
        page.get_by_placeholder("Filter by partition").fill("2025-07-0")
        page.get_by_text("2025-07-03", exact=True).first.click()
        shown = ["Failed (1)", "Passed (4)", "2025-07-03: 80.0% of 10 rows quarantined"]
        screenshot(page, shown, "rejected-share-by-landing-day")
        page.goto(f"{url}/assets/gold/vw_fact_orders_enriched")
        columns = [
            description(GOLD_VW_FACT_ORDERS_ENRICHED, "total_amount_inr"),
            "gold.fact_orders.sold_quantity, gold.dim_gross_price.price_inr",
        ]
        screenshot(page, columns, "column-lineage-of-the-view")
