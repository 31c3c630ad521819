"""Asset checks on real runs: clean days pass, crafted bad days fail the right check, a failing
blocking check stops what is downstream of it in the same run, and a check that cannot run says so."""

import contextlib
import datetime as dt

import pytest
from dagster import AssetKey, AssetSelection, materialize

from atliqon_platform.automation.backfill import backfill_everything
from atliqon_platform.checks.silver import build_silver_checks
from atliqon_platform.definitions import ASSETS, build_definitions, build_resources
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform.settings import load_settings
from atliqon_platform.sources import order_file_key
from atliqon_platform_tests.instances import platform_instance

HEADER = "order_id,order_placement_date,customer_id,product_id,order_qty\n"
KNOWN_PRODUCT, KNOWN_CUSTOMER = "25891203", "789320"


def order_lines(day: dt.date, lines: list[tuple[str, str]]) -> bytes:
    """Lines of (product_id, order date text), each its own order."""
    rows = [
        f"F{day:%m%d}{n:04d},{date},{KNOWN_CUSTOMER},{product},10" for n, (product, date) in enumerate(lines)
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def runs(reference_dataset, tmp_path_factory):
    """Two real days loaded, then two crafted days delivered; one daily run each, and a rerun
    of a clean day."""
    stack = contextlib.ExitStack()
    home = tmp_path_factory.mktemp("checks")
    settings = load_settings({"ATLIQON_HOME": str(home), "ATLIQON_SPARK_MASTER": "local[2]"})
    landing = LandingZoneResource(uri=settings.landing_uri)
    copy_reference_dataset(reference_dataset, landing, until=dt.date(2025, 7, 2))
    instance = stack.enter_context(platform_instance())
    assert backfill_everything(settings, instance=instance)
    mostly_unknown = dt.date(2025, 7, 3)
    landing.write(
        order_file_key(mostly_unknown),
        order_lines(mostly_unknown, [(KNOWN_PRODUCT, "2025/07/03")] * 2 + [("11111111", "2025/07/03")] * 8),
    )
    other_day = dt.date(2025, 7, 4)
    landing.write(
        order_file_key(other_day),
        order_lines(other_day, [(KNOWN_PRODUCT, "2025/07/04")] * 9 + [(KNOWN_PRODUCT, "2025/07/01")]),
    )
    job = build_definitions(settings).resolve_job_def("daily_orders_job")
    yield {
        day: job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
        for day in ("2025-07-01", "2025-07-03", "2025-07-04")
    }
    stack.close()


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
    checks = build_silver_checks(0.5)
    with platform_instance() as instance:
        result = materialize(
            [*ASSETS, *checks],
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
