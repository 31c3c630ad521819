"""The real dataset built once per test run through the whole graph, for every test that needs it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetKey, AssetMaterialization, DagsterEventType, DagsterInstance, EventRecordsFilter
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation
from deltalake import DeltaTable

from atliqon_platform.backfill import backfill_everything
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform.tables import table_named
from atliqon_platform_tests.instances import home_settings, platform_instance

REAL_TABLES = [
    "bronze/orders",
    "silver/orders",
    "silver/orders_rejected",
    "gold/sb_fact_orders",
    "gold/fact_orders",
    "silver/customers",
    "silver/products",
    "silver/gross_price",
    "gold/sb_dim_customers",
    "gold/sb_dim_products",
    "gold/sb_dim_gross_price",
    "gold/dim_customers",
    "gold/dim_products",
    "gold/dim_gross_price",
    "gold/dim_date",
    "gold/vw_fact_orders_enriched",
]


def read_delta(home: Path, table: str) -> pa.Table:
    return DeltaTable(str(home / "lake" / table)).to_pyarrow_table()


def rows_of_each_partition(data: pa.Table, table: str, monthly: bool) -> dict[str, int]:
    """The rows of ``table`` (``data``) by partition key (a day, or a month when ``monthly``)."""
    dates = data.column(table_named(table).partition_column)
    counts = pc.value_counts(pc.floor_temporal(dates, unit="month") if monthly else dates)
    days, rows = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
    return {day.isoformat(): count for day, count in zip(days, rows, strict=True)}


def shown_rows_of_each_partition(instance: DagsterInstance, table: str) -> dict[str, int]:
    """The row count each partition of ``table`` shows in the UI: its latest materialisation's."""
    records = instance.fetch_materializations(AssetKey.from_user_string(table), limit=10_000).records
    shown: dict[str, int] = {}
    for record in records:  # the latest first
        shown.setdefault(
            record.partition_key, record.asset_materialization.metadata["dagster/row_count"].value
        )
    return shown


def ordered(data: pa.Table) -> pa.Table:
    """The rows in a fixed order, without the ingestion time (which a rerun renews)."""
    data = data.drop_columns([name for name in data.column_names if name == "ingested_at"])
    return data.sort_by([(name, "ascending") for name in data.column_names])


def content(home: Path, table: str) -> pa.Table:
    """A table's rows in a fixed order, without the ingestion time."""
    return ordered(read_delta(home, table))


DECEMBER = dt.date(2025, 12, 1)  # the first day of the incremental load


def before(table: str, data: pa.Table, day: dt.date) -> pa.Table:
    """The rows of ``table`` dated before ``day`` (all of a table without a date column)."""
    column = table_named(table).partition_column
    return data if column is None else data.filter(pc.less(data[column], day))


def build_real_platform(dataset: Path, home: Path) -> dict[str, Any]:
    """Every file of the dataset landed (the full load, December, the parent's increment) and
    backfilled once; ``full_load`` is every table's rows before December, which REFERENCE_RULES.md
    §4 gives the figures of.

    One build, not two: that a rerun of the earlier days changes none of them is the tiny home's
    to show (test_crash_safety.py's rerun gives exactly the tables of one load), and the Pipes
    comparison builds the real days a second time on another engine and finds every table equal
    (pipes/test_entrypoint.py). ``home`` must only be read by tests.
    """
    settings = home_settings(home)
    copy_reference_dataset(dataset, LandingZoneResource(uri=settings.landing_uri), parent_increment=True)
    with platform_instance() as instance:
        assert backfill_everything(settings, instance=instance)
        checks = latest_check_results(instance)
        assets = {key.to_user_string() for key in instance.get_asset_keys()}
        latest = latest_materializations(instance)
    full_load = {table: before(table, read_delta(home, table), DECEMBER) for table in REAL_TABLES}
    return {
        "home": home,
        "full_load": full_load,
        "checks": checks,
        "assets": assets,
        "metadata": {asset: materialization.metadata for asset, materialization in latest.items()},
        "partitions": {asset: materialization.partition for asset, materialization in latest.items()},
    }


def latest_check_results(instance: DagsterInstance) -> dict[tuple[str, str], AssetCheckEvaluation]:
    """The last evaluation of every (asset, check) the runs recorded."""
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), ascending=True
    )
    latest = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        latest[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return latest


def latest_materializations(instance: DagsterInstance) -> dict[str, AssetMaterialization]:
    """Every asset's last materialisation (of the last partition a range run wrote), by asset."""
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION), ascending=True
    )
    return {record.asset_key.to_user_string(): record.asset_materialization for record in records}
