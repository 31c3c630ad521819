"""The definitions are built from the settings given to them, not from the environment."""

import datetime as dt
import os
import subprocess
import sys

from dagster import AssetKey, TimeWindowPartitionsDefinition
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView

from atliqon_platform import tables
from atliqon_platform.assets.jobs import JOBS_IN_ORDER
from atliqon_platform.definitions import build_definitions
from atliqon_platform.settings import load_settings

DAILY = [
    ["bronze", "orders"],
    ["silver", "orders"],
    ["silver", "orders_rejected"],
    ["gold", "sb_fact_orders"],
]
MONTHLY = [["gold", "fact_orders"], ["gold", "dim_date"], ["gold", "vw_fact_orders_enriched"]]


def partitions_of(defs, key: list[str]) -> TimeWindowPartitionsDefinition:
    return defs.resolve_assets_def(AssetKey(key)).partitions_def


def test_partitions_start_on_the_days_of_the_settings_given(tmp_path, monkeypatch):
    monkeypatch.setenv("ATLIQON_FIRST_ORDER_DAY", "2025-07-01")  # what the environment says is not used
    settings = load_settings(
        {
            "ATLIQON_HOME": str(tmp_path),
            "ATLIQON_FIRST_ORDER_DAY": "2025-09-15",
            "ATLIQON_FIRST_MONTH": "2025-03-01",
        }
    )
    defs = build_definitions(settings)
    for key in DAILY:
        assert partitions_of(defs, key).get_first_partition_key() == "2025-09-15", key
    for key in MONTHLY:
        assert partitions_of(defs, key).get_first_partition_key() == "2025-03-01", key
    monthly = {AssetKey(key) for key in MONTHLY}
    first_partition_of_checks = {
        (spec.asset_key in monthly, spec.partitions_def.get_first_partition_key())
        for check in defs.asset_checks
        for spec in check.check_specs
        if spec.partitions_def is not None
    }
    assert first_partition_of_checks == {(False, "2025-09-15"), (True, "2025-03-01")}
    job = defs.resolve_job_def("daily_orders_job")
    assert job.partitions_def.start.date() == dt.date(2025, 9, 15)


def test_two_settings_give_two_code_locations_side_by_side(tmp_path):
    first, second = (
        build_definitions(load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_FIRST_ORDER_DAY": day}))
        for day in ("2025-07-01", "2025-08-01")
    )
    assert partitions_of(first, ["bronze", "orders"]).get_first_partition_key() == "2025-07-01"
    assert partitions_of(second, ["bronze", "orders"]).get_first_partition_key() == "2025-08-01"


def test_every_month_of_the_facts_can_be_backfilled_by_the_daemon(tmp_path):
    """Declarative automation requests many months of gold.fact_orders at once (a parent increment
    updates every month) as one asset backfill of the daemon. The daemon refuses a backfill whose
    partitions depend on partitions that do not exist, and the months before the child company's
    first day, and the days still to come of the current month, have no daily facts."""
    settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_FIRST_MONTH": "2024-01-01"})
    defs = build_definitions(settings)
    today = dt.datetime(2026, 12, 4, 9, tzinfo=dt.UTC)  # a month with days still to come
    # The call the backfill daemon makes for each parent of a backfilled asset.
    view = AssetGraphView.for_test(defs, effective_dt=today)
    facts = tables.GOLD_FACT_ORDERS.asset_key
    months = view.get_full_subset(key=facts)
    assert len(months.expensively_compute_partition_keys()) == 36  # 2024-01 to 2026-12
    graph = defs.resolve_asset_graph()
    parents = {
        parent: view.compute_parent_subset_and_required_but_nonexistent_subset(parent, months)
        for parent in graph.get(facts).parent_keys
    }
    for parent, (_, nonexistent) in parents.items():
        assert nonexistent.is_empty, (parent, nonexistent)
    # The calendar and the dashboard's view are backfilled with the same months, in the same runs.
    for child in (tables.GOLD_DIM_DATE.asset_key, tables.GOLD_VW_FACT_ORDERS_ENRICHED.asset_key):
        alike = months.compute_child_subset(child)
        assert alike.expensively_compute_partition_keys() == months.expensively_compute_partition_keys()
        for parent in graph.get(child).parent_keys:
            _, nonexistent = view.compute_parent_subset_and_required_but_nonexistent_subset(parent, alike)
            assert nonexistent.is_empty, (child, parent, nonexistent)
    days, _ = parents[tables.GOLD_SB_FACT_ORDERS.asset_key]
    keys = sorted(days.expensively_compute_partition_keys())
    assert (keys[0], keys[-1]) == (settings.first_order_day.isoformat(), "2026-12-04")  # today's exists


LOADED_BY_A_RUN = """
import sys
from atliqon_platform.definitions import defs
defs.resolve_job_def("daily_orders_job")
print(*(name for name in ("databricks.sdk", "dagster_databricks", "dagster_aws") if name in sys.modules))
"""


def test_loading_the_code_location_leaves_the_databricks_sdk_and_dagster_aws_unimported(tmp_path):
    """Every run's process loads the code location: a second of imports that only a Databricks
    launch or an S3 landing zone needs is not paid by the others (BENCHMARKS.md)."""
    environment = {**os.environ, "ATLIQON_HOME": str(tmp_path), "ATLIQON_ENV": "local"}
    environment.pop("ATLIQON_PIPES", None)
    loaded = subprocess.run(
        [sys.executable, "-c", LOADED_BY_A_RUN], env=environment, capture_output=True, text=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""


def test_the_three_jobs_hold_every_asset_once(tmp_path):
    """The sensors name each job's assets from the tables (assets/jobs.py): no asset is left out."""
    defs = build_definitions(load_settings({"ATLIQON_HOME": str(tmp_path)}))
    held = [
        key for job in JOBS_IN_ORDER for key in defs.resolve_job_def(job.name).asset_layer.selected_asset_keys
    ]
    assert sorted(held) == sorted(defs.resolve_asset_graph().get_all_asset_keys())
