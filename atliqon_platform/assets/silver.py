"""Silver: cleaned, validated, standardised tables, each beside a quarantine of the rows it refused.

Every bronze row ends in exactly one of the two, so read = kept + rejected, per run and per
partition, and the materialisation metadata says so.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    AssetOut,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pyspark.sql import DataFrame

from atliqon_platform import tables
from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import (
    OWNERS,
    REASONS,
    ROW_COUNT,
    ROWS_KEPT,
    ROWS_READ,
    ROWS_REJECTED,
    accounting,
    all_days,
    file_under_partitions,
    rejection_counts,
    table_metadata,
)
from atliqon_platform.ingestion.csv_files import RESCUED_DATA
from atliqon_platform.partitions import partition_range
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.tables import Table, rejected
from atliqon_platform.transforms import customers, gross_price, orders, parent, products

KINDS = {"spark", "delta"}
Transform = Callable[..., tuple[DataFrame, DataFrame]]


def read_bronze(lake: DeltaLakeResource, table: Table, where: PartitionRange | None = None) -> DataFrame:
    """A bronze table as silver's rules take it: the columns rescued from beyond the contract
    stay in bronze, so silver and gold keep the contract's schema."""
    return lake.read(table, where).drop(RESCUED_DATA)


def write_kept_and_rejected(
    lake: DeltaLakeResource,
    table: Table,
    bronze: tuple[Table, PartitionRange | None],
    kept: DataFrame,
    rejected_rows: DataFrame,
    replace: PartitionRange | None = None,
    context: AssetExecutionContext | None = None,
) -> Iterator[MaterializeResult]:
    """Write ``table`` and its quarantine, and account for every row of ``bronze`` (the bronze
    table and the range read); for each day too in a range run (``context``'s)."""
    quarantine = rejected(table)
    kept_result = lake.overwrite(kept, table, replace=replace)
    rejected_result = lake.overwrite(rejected_rows, quarantine, replace=replace)
    read = lake.count(*bronze)
    # Reasons are counted on the rejected rows as the split kept them (transforms.common
    # split_rejected), not by evaluating the rules again nor by reading back the new version
    # of the quarantine (its log replayed, its files listed: three Spark jobs per table).
    reasons = rejection_counts(rejected_rows, replace and replace.column)
    rows = accounting(read, kept_result.rows, all_days(reasons), rejected_result.rows)
    if read != kept_result.rows + rejected_result.rows:
        raise RuntimeError(
            f"{table}: {read} rows read but {kept_result.rows} kept + "
            f"{rejected_result.rows} rejected; refusing to lose rows"
        )
    if context is not None and replace is not None and len(context.partition_keys) > 1:
        _account_for_each_day(context, lake, table, bronze, replace, reasons)
    yield MaterializeResult(asset_key=table.asset_key, metadata=table_metadata(kept_result, kept, **rows))
    yield MaterializeResult(
        asset_key=quarantine.asset_key,
        metadata=table_metadata(rejected_result, rejected_rows, rows_rejected=rejected_result.rows),
    )


def _account_for_each_day(
    context: AssetExecutionContext,
    lake: DeltaLakeResource,
    table: Table,
    bronze: tuple[Table, PartitionRange | None],
    days: PartitionRange,
    reasons: Mapping[str, Mapping[str, int]],
) -> None:
    """read = kept + rejected for each day of a range run, and its rejections by reason (of
    ``rejection_counts``), filed under its partition."""
    quarantine = rejected(table)
    read = lake.rows_per_partition(bronze[0], bronze[1] or days)
    kept, dropped = (lake.rows_per_partition(written, days) for written in (table, quarantine))
    for day in sorted(read.keys() | kept.keys() | dropped.keys()):
        if read.get(day, 0) != kept.get(day, 0) + dropped.get(day, 0):
            raise RuntimeError(
                f"{table} {day}: {read.get(day, 0)} rows read but {kept.get(day, 0)} kept + "
                f"{dropped.get(day, 0)} rejected; refusing to lose rows"
            )
    by_reason = {day: MetadataValue.json(dict(reasons.get(day, {}))) for day in context.partition_keys}
    figures = {ROW_COUNT: kept, ROWS_READ: read, ROWS_KEPT: kept, ROWS_REJECTED: dropped, REASONS: by_reason}
    file_under_partitions(context, table.asset_key, figures)
    file_under_partitions(context, quarantine.asset_key, {ROW_COUNT: dropped, ROWS_REJECTED: dropped})


def _outs(table: Table, rule: Transform) -> dict[str, AssetOut]:
    version = code_version(rule)
    return {
        out.name: AssetOut(
            key=out.asset_key, description=out.description, code_version=version, kinds=KINDS, owners=OWNERS
        )
        for out in (table, rejected(table))
    }


@dataclass(frozen=True)
class SilverSnapshot:
    """A silver table rebuilt whole from one bronze snapshot (and silver lookups it joins)."""

    table: Table
    bronze: Table
    transform: Transform
    lookups: tuple[Table, ...] = ()


def _snapshot_asset(snapshot: SilverSnapshot) -> AssetsDefinition:
    table = snapshot.table

    @multi_asset(
        name=f"silver_{table.name}",
        outs=_outs(table, snapshot.transform),
        deps=[snapshot.bronze.asset_key, *(lookup.asset_key for lookup in snapshot.lookups)],
        group_name="silver",
    )
    def _silver(lake: DeltaLakeResource) -> Iterator[MaterializeResult]:
        raw = read_bronze(lake, snapshot.bronze)
        kept, rejected_rows = snapshot.transform(raw, *(lake.read(lookup) for lookup in snapshot.lookups))
        yield from write_kept_and_rejected(lake, table, (snapshot.bronze, None), kept, rejected_rows)

    return _silver


# In dependency order: a lookup comes before the tables that join it.
SILVER_SNAPSHOTS = (
    SilverSnapshot(tables.SILVER_CUSTOMERS, tables.BRONZE_CUSTOMERS, customers.clean_customers),
    SilverSnapshot(tables.SILVER_PRODUCTS, tables.BRONZE_PRODUCTS, products.clean_products),
    SilverSnapshot(
        tables.SILVER_GROSS_PRICE,
        tables.BRONZE_GROSS_PRICE,
        gross_price.clean_gross_price,
        lookups=(tables.SILVER_PRODUCTS,),
    ),
    SilverSnapshot(tables.SILVER_PARENT_CUSTOMERS, tables.BRONZE_PARENT_CUSTOMERS, parent.parent_customers),
    SilverSnapshot(tables.SILVER_PARENT_PRODUCTS, tables.BRONZE_PARENT_PRODUCTS, parent.parent_products),
    SilverSnapshot(
        tables.SILVER_PARENT_GROSS_PRICE, tables.BRONZE_PARENT_GROSS_PRICE, parent.parent_gross_price
    ),
    SilverSnapshot(
        tables.SILVER_PARENT_FACT_ORDERS, tables.BRONZE_PARENT_FACT_ORDERS, parent.parent_fact_orders
    ),
)


def _orders_asset(daily: DailyPartitionsDefinition) -> AssetsDefinition:
    table, bronze = tables.SILVER_ORDERS, tables.BRONZE_ORDERS

    @multi_asset(
        name="silver_orders",
        outs=_outs(table, orders.clean_orders),
        deps=[bronze.asset_key, tables.SILVER_PRODUCTS.asset_key],
        partitions_def=daily,
        backfill_policy=BackfillPolicy.single_run(),
        group_name="silver",
    )
    def silver_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> Iterator[MaterializeResult]:
        days = partition_range(context, table.partition_column)
        raw = read_bronze(lake, bronze, days)
        kept, rejected_rows = orders.clean_orders(raw, lake.read(tables.SILVER_PRODUCTS))
        yield from write_kept_and_rejected(lake, table, (bronze, days), kept, rejected_rows, days, context)

    return silver_orders


def build_silver_assets(daily: DailyPartitionsDefinition) -> list[AssetsDefinition]:
    """Every silver table and its quarantine: the snapshots, and the orders by landing day."""
    return [*(_snapshot_asset(snapshot) for snapshot in SILVER_SNAPSHOTS), _orders_asset(daily)]
