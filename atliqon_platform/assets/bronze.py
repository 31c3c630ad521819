"""Bronze: every delivered file as it arrived, plus its file name, line numbers and ingestion time.

Snapshots (customers, products, gross prices, the parent's dimensions) are replaced whole;
orders are partitioned by landing day and a run replaces exactly the days it owns, so a
rerun re-reads that day's files and never duplicates a row.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    asset,
)

from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import OWNERS, table_metadata
from atliqon_platform.assets.partitions import DAILY, partition_range
from atliqon_platform.checks.bronze import (
    bronze_check_specs,
    expected_columns_by_day,
    expected_columns_result,
    not_empty_result,
    order_days_not_empty,
)
from atliqon_platform.checks.results import reported, scope_of
from atliqon_platform.ingestion.csv_files import MissingColumnsError, parse_csv
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingObjectMissing, LandingZoneResource
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


@dataclass(frozen=True)
class LoadedFiles:
    """The rows of the files that could be loaded, and why the others could not."""

    table: pa.Table
    wrong_header: list[str]
    skipped: list[str]  # "<key>: <why>", for files that could not be read at all


def read_files(landing: LandingZoneResource, source: Source, keys: Iterable[str]) -> LoadedFiles:
    """All rows of ``keys`` with lineage columns; files with a wrong header, empty or gone are
    set aside with the reason."""
    ingested_at = dt.datetime.now(dt.UTC)
    tables, wrong_header, skipped = [], [], []
    for key in keys:
        try:
            data = landing.read(key)
            if not data:
                skipped.append(f"{key}: zero bytes (an upload not finished, or an empty delivery)")
                continue
            table = parse_csv(data, key, source.columns)
        except MissingColumnsError as error:
            wrong_header.append(str(error))
            continue
        except LandingObjectMissing:
            skipped.append(f"{key}: listed, then gone before it could be read")
            continue
        tables.append(_with_lineage(table, key, ingested_at))
    if not tables:
        tables = [_with_lineage(parse_csv(b"", "", source.columns), "", ingested_at)]
    return LoadedFiles(pa.concat_tables(tables), wrong_header, skipped)


def _checked(
    context: AssetExecutionContext, asset_key: AssetKey, loaded: LoadedFiles, files: int
) -> AssetCheckResult:
    """The expected_columns result; a file without the expected columns fails the whole load,
    so that the table keeps its previous content rather than a partial one."""
    for reason in loaded.skipped:
        context.log.warning(f"skipped {reason}")
    result = expected_columns_result(asset_key, files, loaded.wrong_header)
    if loaded.wrong_header:
        context.log.error(result.description or "")
    return result


def source_keys(landing: LandingZoneResource, source: Source) -> list[str]:
    return [item.key for item in landing.list(source.prefix) if source.matches(item.key)]


def _snapshot_asset(source: Source, description: str) -> AssetsDefinition:
    asset_key = AssetKey(["bronze", source.name])

    @asset(
        key=asset_key,
        group_name="bronze",
        kinds={"delta", "csv"},
        description=description,
        code_version=code_version(read_files, source),
        owners=OWNERS,
        check_specs=bronze_check_specs(asset_key),
    )
    def _bronze(context: AssetExecutionContext, landing: LandingZoneResource, lake: DeltaLakeResource):
        keys = source_keys(landing, source)
        if not keys:
            raise Failure(
                description=f"no {source.name} file in {landing.uri}/{source.prefix}: "
                "deliver one (or run `atliqon seed`) before materialising bronze"
            )
        loaded = read_files(landing, source, keys)
        columns = _checked(context, asset_key, loaded, len(keys))
        if not columns.passed:
            yield columns
            raise Failure(description=columns.description, metadata=columns.metadata)
        result = lake.overwrite(loaded.table, "bronze", source.name)
        yield MaterializeResult(
            metadata=table_metadata(result, loaded.table, files=keys, files_skipped=loaded.skipped),
            check_results=[columns, not_empty_result(asset_key, result.rows)],
        )

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

BRONZE_SNAPSHOT_SOURCES = (*SNAPSHOT_SOURCES, *PARENT_DIMENSION_SOURCES, PARENT_FACT_ORDERS)
bronze_snapshots = [
    _snapshot_asset(source, SNAPSHOT_DESCRIPTIONS[source.name]) for source in BRONZE_SNAPSHOT_SOURCES
]


@dataclass(frozen=True)
class OrderDays:
    """The order files of a range of landing days, their rows tagged with their landing day."""

    loaded: LoadedFiles
    files: int
    problems: list[str]  # names in the orders folder that carry no valid date


def read_order_days(landing: LandingZoneResource, first: dt.date, last: dt.date) -> OrderDays:
    all_files, problems = landed_order_files(landing)
    day_of_key = {key: day for key, day in all_files.items() if first <= day <= last}
    loaded = read_files(landing, ORDERS, day_of_key)
    days = [day_of_key.get(name) for name in loaded.table.column("file_name").to_pylist()]
    table = loaded.table.append_column(LANDING_DATE, pa.array(days, pa.date32()))
    return OrderDays(LoadedFiles(table, loaded.wrong_header, loaded.skipped), len(day_of_key), problems)


BRONZE_ORDERS = AssetKey(["bronze", "orders"])


@asset(
    key=BRONZE_ORDERS,
    group_name="bronze",
    kinds={"delta", "csv"},
    owners=OWNERS,
    check_specs=bronze_check_specs(BRONZE_ORDERS, DAILY),
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "SportsBar order lines as delivered (orders/landing/orders_YYYY_MM_DD.csv), one partition "
        "per landing day holding every file of that day. A day with no file is an empty partition."
    ),
    code_version=code_version(read_order_days, ORDERS),
)
def bronze_orders(context: AssetExecutionContext, landing: LandingZoneResource, lake: DeltaLakeResource):
    days = partition_range(context, LANDING_DATE)
    orders = read_order_days(landing, days.start, days.end)
    for problem in orders.problems:
        context.log.warning(f"skipped: {problem}")
    columns = _checked(context, BRONZE_ORDERS, orders.loaded, orders.files)
    scope = scope_of(context, LANDING_DATE, DAILY)
    if not columns.passed:
        yield from reported(context, [expected_columns_by_day(columns, scope)])
        raise Failure(description=columns.description, metadata=columns.metadata)
    table = orders.loaded.table
    result = lake.overwrite(table, "bronze", "orders", partition_by=[LANDING_DATE], replace=days)
    days_with_rows = set(table.column(LANDING_DATE).to_pylist())
    empty_days = [
        day.isoformat()
        for day in (days.start + dt.timedelta(n) for n in range((days.end - days.start).days + 1))
        if day not in days_with_rows
    ]
    yield MaterializeResult(
        metadata=table_metadata(
            result,
            table,
            files=orders.files,
            files_skipped=orders.loaded.skipped,
            days_without_rows=empty_days,
        ),
    )
    not_empty = order_days_not_empty(BRONZE_ORDERS, table.column(LANDING_DATE).to_pylist(), scope)
    yield from reported(context, [expected_columns_by_day(columns, scope), not_empty])
