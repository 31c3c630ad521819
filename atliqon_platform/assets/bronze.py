"""Bronze: every delivered file as it arrived, plus its file name, line numbers and ingestion time.

Snapshots (customers, products, gross prices, the parent's dimensions) are replaced whole;
orders are partitioned by landing day and a run replaces exactly the days it owns, so a
rerun re-reads that day's files and never duplicates a row.
"""

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa
from dagster import AssetExecutionContext, AssetsDefinition, BackfillPolicy, Failure, MaterializeResult, asset

from atliqon_platform.assets.metadata import table_metadata
from atliqon_platform.assets.partitions import DAILY, partition_range
from atliqon_platform.ingestion.csv_files import MissingColumnsError, parse_csv
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sources import (
    ORDERS,
    PARENT_DIMENSION_SOURCES,
    PARENT_FACT_ORDERS,
    SNAPSHOT_SOURCES,
    InvalidOrderFileName,
    Source,
    order_file_day,
)

LANDING_DATE = "landing_date"


def _with_lineage(table: pa.Table, key: str, ingested_at: dt.datetime) -> pa.Table:
    rows = table.num_rows
    table = table.append_column("file_name", pa.array([key] * rows, pa.string()))
    return table.append_column("ingested_at", pa.array([ingested_at] * rows, pa.timestamp("us", "UTC")))


def landed_order_files(landing: LandingZoneResource) -> tuple[dict[str, dt.date], list[str]]:
    """Every order file with its landing day, and the problems of names that carry no valid date."""
    files, problems = {}, []
    for item in landing.list(ORDERS.prefix):
        try:
            day = order_file_day(item.key)
        except InvalidOrderFileName as error:
            problems.append(str(error))
            continue
        if day is not None:
            files[item.key] = day
    return files, problems


def read_files(landing: LandingZoneResource, source: Source, keys: Iterable[str]) -> pa.Table:
    """All rows of ``keys`` with lineage columns; fails naming every file whose header is wrong."""
    ingested_at = dt.datetime.now(dt.UTC)
    tables, problems = [], []
    for key in keys:
        try:
            table = parse_csv(landing.read(key), key, source.columns)
        except MissingColumnsError as error:
            problems.append(str(error))
            continue
        tables.append(_with_lineage(table, key, ingested_at))
    if problems:
        raise Failure(
            description=f"{len(problems)} {source.name} file(s) cannot be loaded: " + " | ".join(problems),
            metadata={"files": problems},
        )
    if not tables:
        return _with_lineage(parse_csv(b"", "", source.columns), "", ingested_at)
    return pa.concat_tables(tables)


def source_keys(landing: LandingZoneResource, source: Source) -> list[str]:
    return [item.key for item in landing.list(source.prefix) if source.matches(item.key)]


def _snapshot_asset(source: Source, description: str) -> AssetsDefinition:
    @asset(
        key=["bronze", source.name],
        group_name="bronze",
        kinds={"delta", "csv"},
        description=description,
        code_version="1",
    )
    def _bronze(landing: LandingZoneResource, lake: DeltaLakeResource) -> MaterializeResult:
        keys = source_keys(landing, source)
        if not keys:
            raise Failure(
                description=f"no {source.name} file in {landing.uri}/{source.prefix}: "
                "deliver one (or run `atliqon seed`) before materialising bronze"
            )
        table = read_files(landing, source, keys)
        result = lake.overwrite(table, "bronze", source.name)
        return MaterializeResult(metadata=table_metadata(result, files=keys))

    return _bronze


SNAPSHOT_DESCRIPTIONS = {
    "customers": "SportsBar customer master as delivered (customers/customers.csv), one row per line.",
    "products": "SportsBar product master as delivered (products/products.csv), one row per line.",
    "gross_price": "SportsBar monthly gross prices as delivered (gross_price/gross_price.csv).",
    "parent_customers": "Atliqon's customer dimension export (parent/full_load/dim_customers.csv).",
    "parent_products": "Atliqon's product dimension export (parent/full_load/dim_products.csv).",
    "parent_gross_price": "Atliqon's yearly prices export (parent/full_load/dim_gross_price.csv).",
    "parent_fact_orders": (
        "Atliqon's monthly order facts: the full load and every increment as delivered "
        "(parent/full_load/fact_orders.csv, parent/incremental_load/fact_orders_*.csv); "
        "rebuilt from all files, so reloading an increment never duplicates it."
    ),
}

bronze_snapshots = [
    _snapshot_asset(source, SNAPSHOT_DESCRIPTIONS[source.name])
    for source in (*SNAPSHOT_SOURCES, *PARENT_DIMENSION_SOURCES, PARENT_FACT_ORDERS)
]


@asset(
    key=["bronze", "orders"],
    group_name="bronze",
    kinds={"delta", "csv"},
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "SportsBar order lines as delivered (orders/landing/orders_YYYY_MM_DD.csv), one partition "
        "per landing day holding every file of that day. A day with no file is an empty partition."
    ),
    code_version="1",
)
def bronze_orders(
    context: AssetExecutionContext, landing: LandingZoneResource, lake: DeltaLakeResource
) -> MaterializeResult:
    days = partition_range(context, LANDING_DATE)
    files, problems = landed_order_files(landing)
    for problem in problems:
        context.log.warning(f"skipped: {problem}")
    day_of_key = {key: day for key, day in files.items() if days.start <= day <= days.end}
    keys = list(day_of_key)
    table = read_files(landing, ORDERS, keys)
    landing_dates = [day_of_key[name] for name in table.column("file_name").to_pylist()]
    table = table.append_column(LANDING_DATE, pa.array(landing_dates, pa.date32()))
    result = lake.overwrite(table, "bronze", "orders", partition_by=[LANDING_DATE], replace=days)
    days_without_file = sorted(
        {days.start + dt.timedelta(n) for n in range((days.end - days.start).days + 1)}
        - set(day_of_key.values())
    )
    return MaterializeResult(
        metadata=table_metadata(
            result,
            files=len(keys),
            days_without_file=[day.isoformat() for day in days_without_file],
        )
    )
