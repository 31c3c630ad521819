"""Bronze: every delivered file as it arrived, plus its file name, line numbers and ingestion time.

Nothing delivered is left out: a line that is not a well-formed row, and every line of a file
that breaks the contract (ingestion/csv_files.py), are loaded with the reason for silver to
quarantine, and columns beyond the contract are kept in ``rescued_data``. One bad file therefore
fails its checks, not the run.

Snapshots (customers, products, gross prices, the parent's dimensions) are replaced whole;
orders are partitioned by landing day and a run replaces exactly the days it owns, so a
rerun re-reads that day's files and never duplicates a row.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    asset,
)

from atliqon_platform import tables
from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import OWNERS, ROW_COUNT, file_under_partitions, table_metadata
from atliqon_platform.checks.bronze import (
    bronze_check_specs,
    file_outcomes,
    not_empty_result,
    order_days_not_empty,
)
from atliqon_platform.checks.results import Outcome, Scope, reported, scope_of
from atliqon_platform.ingestion.csv_files import empty_table, parse_csv
from atliqon_platform.partitions import partition_range
from atliqon_platform.resources.delta_lake import (
    DeltaLakeResource,
    PartitionRange,
    WriteResult,
    rows_per_partition_key,
)
from atliqon_platform.resources.landing_zone import LandingObjectMissing, LandingZoneResource
from atliqon_platform.sources import (
    CUSTOMERS,
    GROSS_PRICE,
    ORDERS,
    PARENT_CUSTOMERS,
    PARENT_FACT_ORDERS,
    PARENT_GROSS_PRICE,
    PARENT_PRODUCTS,
    PRODUCTS,
    InvalidOrderFileName,
    Source,
    order_file_day,
)
from atliqon_platform.tables import Table

LANDING_DATE = tables.BRONZE_ORDERS.partition_column


def _with_lineage(table: pa.Table, key: str, ingested_at: dt.datetime) -> pa.Table:
    rows = table.num_rows
    table = table.append_column("file_name", pa.array([key] * rows, pa.string()))
    return table.append_column("ingested_at", pa.array([ingested_at] * rows, pa.timestamp("us", "UTC")))


def landed_order_files(landing: LandingZoneResource) -> tuple[dict[str, dt.date], list[str]]:
    """Every order file with its landing day, and the keys under the prefix that are not loaded
    (a name without a valid date, another name, a sub-folder), each with why."""
    files, problems = {}, []
    for item in landing.list(ORDERS.prefix):
        try:
            day = order_file_day(item.key)
        except InvalidOrderFileName as error:
            problems.append(str(error))
            continue
        if day is None:
            problems.append(f"{item.key}: not an order file name (orders/landing/orders_YYYY_MM_DD.csv)")
        else:
            files[item.key] = day
    return files, problems


@dataclass(frozen=True)
class LoadedFiles:
    """The rows of every file that could be read at all (a refused file's lines carry its reason),
    and what bronze's checks report about the files as a whole."""

    table: pa.Table
    readable_rows: dict[str, int]  # rows of each file that was read, not refused
    refused: dict[str, str]  # file -> why its every line was refused
    new_columns: dict[str, tuple[str, ...]]  # file -> its columns beyond the contract
    skipped: list[str]  # "<key>: <why>", for files that could not be read at all

    def without_lines(self) -> "LoadedFiles":
        """What is known of the files once their lines are in the engine: the table keeps only
        its columns."""
        return replace(self, table=self.table.schema.empty_table())


def read_files(landing: LandingZoneResource, source: Source, keys: Iterable[str]) -> LoadedFiles:
    """All lines of ``keys`` with lineage columns; files empty or gone are set aside with why."""
    ingested_at = dt.datetime.now(dt.UTC)
    tables, readable_rows, refused, new_columns, skipped = [], {}, {}, {}, []
    for key in keys:
        try:
            data = landing.read(key)
        except LandingObjectMissing:
            skipped.append(f"{key}: listed, then gone before it could be read")
            continue
        if not data:
            skipped.append(f"{key}: zero bytes (an upload not finished, or an empty delivery)")
            continue
        parsed = parse_csv(data, key, source.columns)
        if parsed.refused:
            refused[key] = parsed.refused
        else:
            readable_rows[key] = parsed.table.num_rows
        if parsed.new_columns:
            new_columns[key] = parsed.new_columns
        tables.append(_with_lineage(parsed.table, key, ingested_at))
    if not tables:
        tables = [_with_lineage(empty_table(source.columns), "", ingested_at)]
    return LoadedFiles(pa.concat_tables(tables), readable_rows, refused, new_columns, skipped)


def _file_checks(
    context: AssetExecutionContext,
    asset_key: AssetKey,
    loaded: LoadedFiles,
    day_of_key: dict[str, dt.date | None],
    scope: Scope | None,
) -> list[Outcome]:
    """files_readable and new_columns; what could not be read at all is in the run's log."""
    for reason in loaded.skipped:
        context.log.warning(f"skipped {reason}")
    outcomes = file_outcomes(asset_key, day_of_key, loaded.refused, loaded.new_columns, scope)
    for outcome in outcomes:
        if not outcome.result.passed:
            context.log.warning(outcome.result.description or "")
    return outcomes


def _metadata(
    result: WriteResult, loaded: LoadedFiles, files: int | list[str], skipped: list[str], **extra: Any
) -> dict[str, Any]:
    """The table's metadata, and which files were refused, carried new columns or were skipped."""
    return table_metadata(
        result,
        loaded.table,
        files=files,
        files_refused=[f"{key}: {why}" for key, why in loaded.refused.items()],
        files_with_new_columns={key: list(names) for key, names in loaded.new_columns.items()},
        files_skipped=skipped,
        **extra,
    )


def source_keys(landing: LandingZoneResource, source: Source) -> list[str]:
    return [item.key for item in landing.list(source.prefix) if source.matches(item.key)]


def _snapshot_asset(source: Source, table: Table) -> AssetsDefinition:
    @asset(
        key=table.asset_key,
        group_name="bronze",
        kinds={"delta", "csv"},
        description=table.description,
        code_version=code_version(read_files, source),
        owners=OWNERS,
        check_specs=bronze_check_specs(table.asset_key),
    )
    def _bronze(context: AssetExecutionContext, landing: LandingZoneResource, lake: DeltaLakeResource):
        keys = source_keys(landing, source)
        if not keys:
            raise Failure(
                description=f"no {source.name} file in {landing.uri}/{source.prefix}: "
                "deliver one (or run `atliqon seed`) before materialising bronze"
            )
        loaded = read_files(landing, source, keys)
        checks = _file_checks(context, table.asset_key, loaded, dict.fromkeys(keys), None)
        result = lake.overwrite(loaded.table, table)
        return MaterializeResult(
            metadata=_metadata(result, loaded, keys, loaded.skipped),
            check_results=[
                *(outcome.result for outcome in checks),
                not_empty_result(table.asset_key, sum(loaded.readable_rows.values())),
            ],
        )

    return _bronze


SNAPSHOTS = {
    CUSTOMERS: tables.BRONZE_CUSTOMERS,
    PRODUCTS: tables.BRONZE_PRODUCTS,
    GROSS_PRICE: tables.BRONZE_GROSS_PRICE,
    PARENT_CUSTOMERS: tables.BRONZE_PARENT_CUSTOMERS,
    PARENT_PRODUCTS: tables.BRONZE_PARENT_PRODUCTS,
    PARENT_GROSS_PRICE: tables.BRONZE_PARENT_GROSS_PRICE,
    PARENT_FACT_ORDERS: tables.BRONZE_PARENT_FACT_ORDERS,
}
"""The sources replaced whole, and their bronze tables."""
BRONZE_OF = {**SNAPSHOTS, ORDERS: tables.BRONZE_ORDERS}
"""The bronze table of every source."""


@dataclass(frozen=True)
class OrderDays:
    """The order files of a range of landing days, their rows tagged with their landing day."""

    loaded: LoadedFiles
    day_of_key: dict[str, dt.date]  # the order files of the range
    problems: list[str]  # keys in the orders folder that are not loaded, with why

    def empty_days(self, days: PartitionRange) -> list[str]:
        """Days of the range without a line that could be read."""
        rows = self.readable_rows_by_day()
        every_day = (days.start + dt.timedelta(n) for n in range((days.end - days.start).days + 1))
        return [day.isoformat() for day in every_day if not rows.get(day)]

    def readable_rows_by_day(self) -> dict[dt.date, int]:
        rows: dict[dt.date, int] = {}
        for key, count in self.loaded.readable_rows.items():
            rows[self.day_of_key[key]] = rows.get(self.day_of_key[key], 0) + count
        return rows


def read_order_days(landing: LandingZoneResource, first: dt.date, last: dt.date) -> OrderDays:
    all_files, problems = landed_order_files(landing)
    day_of_key = {key: day for key, day in all_files.items() if first <= day <= last}
    loaded = read_files(landing, ORDERS, day_of_key)
    days = landing_days(loaded.table.column("file_name"), day_of_key)
    table = loaded.table.append_column(LANDING_DATE, days)
    return OrderDays(replace(loaded, table=table), day_of_key, problems)


def landing_days(file_names: pa.ChunkedArray, day_of_key: dict[str, dt.date]) -> pa.ChunkedArray:
    """Each line's landing day, looked up once per file: a Python object per line took 10 M
    lines a gigabyte more memory (BENCHMARKS.md)."""
    keys = pc.unique(file_names)
    days = pa.array([day_of_key[key] for key in keys.to_pylist()], pa.date32())
    return pc.take(days, pc.index_in(file_names, value_set=keys))


def _orders_asset(daily: DailyPartitionsDefinition) -> AssetsDefinition:
    table = tables.BRONZE_ORDERS

    @asset(
        key=table.asset_key,
        group_name="bronze",
        kinds={"delta", "csv"},
        owners=OWNERS,
        check_specs=bronze_check_specs(table.asset_key, daily),
        partitions_def=daily,
        backfill_policy=BackfillPolicy.single_run(),
        description=table.description,
        code_version=code_version(read_order_days, ORDERS),
    )
    def bronze_orders(context: AssetExecutionContext, landing: LandingZoneResource, lake: DeltaLakeResource):
        days = partition_range(context, table.partition_column)
        orders = read_order_days(landing, days.start, days.end)
        for problem in orders.problems:
            context.log.warning(f"skipped {problem}")
        scope = scope_of(context, table.partition_column, daily)
        checks = _file_checks(context, table.asset_key, orders.loaded, dict(orders.day_of_key), scope)
        # The lines are the engine's from here: this process frees its copy before the write
        # (Arrow's allocator keeps freed memory unless told), and the engine frees its own
        # with the DataFrame once written, not when this generator is collected. At 10 M lines
        # either copy, held on, was what the run's memory lacked (BENCHMARKS.md).
        lines, rows = (
            lake.frame(orders.loaded.table),
            rows_per_partition_key(orders.loaded.table[LANDING_DATE]),
        )
        orders = replace(orders, loaded=orders.loaded.without_lines())
        pa.default_memory_pool().release_unused()
        result = lake.overwrite(lines, table, replace=days)
        del lines
        file_under_partitions(context, table.asset_key, {ROW_COUNT: rows})
        yield MaterializeResult(
            metadata=_metadata(
                result,
                orders.loaded,
                len(orders.day_of_key),
                [*orders.problems, *orders.loaded.skipped],
                days_without_rows=orders.empty_days(days),
            ),
        )
        assert scope is not None, "bronze.orders is partitioned"
        not_empty = order_days_not_empty(table.asset_key, orders.readable_rows_by_day(), scope)
        yield from reported(context, [*checks, not_empty])

    return bronze_orders


def build_bronze_assets(daily: DailyPartitionsDefinition) -> list[AssetsDefinition]:
    """Every bronze table: the snapshots, and the orders by landing day."""
    return [*(_snapshot_asset(source, table) for source, table in SNAPSHOTS.items()), _orders_asset(daily)]
