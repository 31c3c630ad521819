"""Gold: business-ready dims and facts for both companies, and the enriched view of the dashboard.

When each gold table follows its inputs (declarative automation) is decided in
``automation/conditions.py``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MonthlyPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
)
from pyspark.sql import DataFrame

from atliqon_platform import tables
from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import OWNERS, file_rows_under_partitions, table_metadata
from atliqon_platform.checks.gold import FACT_CHECK_DIMENSIONS, sportsbar_months
from atliqon_platform.partitions import Partitions, partition_range
from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.tables import Table
from atliqon_platform.transforms import customers, gross_price, orders, products, unified

KINDS = {"spark", "delta"}
# A partition of a gold table reads the partitions of its input that exist: the months before
# the child company's first day, and the current month's days still to come, have no daily
# facts. Without this, the daemon refuses any backfill of those months (the one declarative
# automation asks for when a parent increment updates every month).
EXISTING_PARTITIONS = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def _asset_arguments(
    table: Table,
    inputs: Sequence[Table],
    rule: Callable[..., DataFrame],
    partitions_def: PartitionsDefinition | None = None,
) -> dict[str, Any]:
    """What every gold asset declares: the table, its inputs, its rule's code version, and for a
    partitioned table its partitions, run over any range in one run."""
    return {
        "key": table.asset_key,
        "deps": [
            AssetDep(source.asset_key, partition_mapping=EXISTING_PARTITIONS)
            if partitions_def and source.partition_column
            else source.asset_key
            for source in inputs
        ],
        "partitions_def": partitions_def,
        "backfill_policy": BackfillPolicy.single_run() if partitions_def else None,
        "group_name": "gold",
        "kinds": KINDS,
        "owners": OWNERS,
        "description": table.description,
        "code_version": code_version(rule),
    }


@dataclass(frozen=True)
class GoldTable:
    """An unpartitioned gold table rebuilt whole from its input tables."""

    table: Table
    inputs: tuple[Table, ...]
    build: Callable[..., DataFrame]


def _gold_table(gold: GoldTable) -> AssetsDefinition:
    table = gold.table

    @asset(**_asset_arguments(table, gold.inputs, gold.build))
    def _gold(lake: DeltaLakeResource) -> MaterializeResult:
        frame = gold.build(*(lake.read(source) for source in gold.inputs))
        return MaterializeResult(metadata=table_metadata(lake.overwrite(frame, table), frame))

    return _gold


# In dependency order: the child's dims come before the unified ones that read them.
GOLD_DIMENSIONS = (
    GoldTable(tables.GOLD_SB_DIM_CUSTOMERS, (tables.SILVER_CUSTOMERS,), customers.sb_dim_customers),
    GoldTable(tables.GOLD_SB_DIM_PRODUCTS, (tables.SILVER_PRODUCTS,), products.sb_dim_products),
    GoldTable(tables.GOLD_SB_DIM_GROSS_PRICE, (tables.SILVER_GROSS_PRICE,), gross_price.yearly_prices),
    GoldTable(
        tables.GOLD_DIM_CUSTOMERS,
        (tables.SILVER_PARENT_CUSTOMERS, tables.GOLD_SB_DIM_CUSTOMERS),
        unified.dim_customers,
    ),
    GoldTable(
        tables.GOLD_DIM_PRODUCTS,
        (tables.SILVER_PARENT_PRODUCTS, tables.GOLD_SB_DIM_PRODUCTS),
        unified.dim_products,
    ),
    GoldTable(
        tables.GOLD_DIM_GROSS_PRICE,
        (tables.SILVER_PARENT_GROSS_PRICE, tables.GOLD_SB_DIM_GROSS_PRICE),
        unified.dim_gross_price,
    ),
)


def _sb_fact_orders(daily: DailyPartitionsDefinition) -> AssetsDefinition:
    table, silver = tables.GOLD_SB_FACT_ORDERS, tables.SILVER_ORDERS

    @asset(**_asset_arguments(table, [silver], orders.sb_fact_orders, daily))
    def sb_fact_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> MaterializeResult:
        days = partition_range(context, table.partition_column)
        facts = orders.sb_fact_orders(lake.read(silver, partition_range(context, silver.partition_column)))
        result = lake.overwrite(facts, table, replace=days)
        file_rows_under_partitions(context, lake, table, days)
        return MaterializeResult(metadata=table_metadata(result, facts))

    return sb_fact_orders


def _fact_orders(monthly: MonthlyPartitionsDefinition) -> AssetsDefinition:
    table, parent, child = (
        tables.GOLD_FACT_ORDERS,
        tables.SILVER_PARENT_FACT_ORDERS,
        tables.GOLD_SB_FACT_ORDERS,
    )
    inputs = [child, parent, *FACT_CHECK_DIMENSIONS]

    @asset(**_asset_arguments(table, inputs, unified.fact_orders, monthly))
    def fact_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> MaterializeResult:
        months = partition_range(context, table.partition_column)
        daily = lake.read(child, months)
        facts = unified.fact_orders(lake.read(parent).where(months.sql()), daily)
        result = lake.overwrite(facts, table, replace=months)
        file_rows_under_partitions(context, lake, table, months, monthly=True)
        recorded = sportsbar_months(unified.child_monthly_facts(daily), context.partition_keys)
        return MaterializeResult(metadata={**table_metadata(result, facts), **recorded})

    return fact_orders


def _dim_date(monthly: MonthlyPartitionsDefinition) -> AssetsDefinition:
    """The calendar by month, in the run of the months of gold.fact_orders: a month's row is the
    same whatever its facts, so a new day rewrites one row, without reading a fact."""
    table = tables.GOLD_DIM_DATE

    @asset(**_asset_arguments(table, [tables.GOLD_FACT_ORDERS], unified.dim_date, monthly))
    def dim_date(context: AssetExecutionContext, lake: DeltaLakeResource) -> MaterializeResult:
        months = partition_range(context, table.partition_column)
        frame = unified.dim_date(lake.spark.spark_session, months.start, months.end)
        result = lake.overwrite(frame, table, replace=months)
        file_rows_under_partitions(context, lake, table, months, monthly=True)
        return MaterializeResult(metadata=table_metadata(result, frame))

    return dim_date


VIEW_DIMENSIONS = (tables.GOLD_DIM_CUSTOMERS, tables.GOLD_DIM_PRODUCTS, tables.GOLD_DIM_GROSS_PRICE)
"""The view's unpartitioned inputs: a change to one of them updates every month of the view."""
VIEW_MONTHLY_INPUTS = (tables.GOLD_FACT_ORDERS, tables.GOLD_DIM_DATE)
"""The view's inputs partitioned by month like it, written in the same run before it."""
VIEW_INPUTS = (*VIEW_MONTHLY_INPUTS, *VIEW_DIMENSIONS)
"""The view's inputs, in the order unified.enriched_orders takes them."""


def _enriched_view(monthly: MonthlyPartitionsDefinition) -> AssetsDefinition:
    """The view by month, like gold.fact_orders, so that a new day rewrites only its month, in the
    same run as that month's facts and calendar (Dagster runs assets of one partitioning
    together)."""
    view = tables.GOLD_VW_FACT_ORDERS_ENRICHED

    @asset(**_asset_arguments(view, VIEW_INPUTS, unified.enriched_orders, monthly))
    def vw_fact_orders_enriched(
        context: AssetExecutionContext, lake: DeltaLakeResource, dashboard: DashboardResource
    ) -> MaterializeResult:
        months = partition_range(context, view.partition_column)
        monthly_inputs = (
            lake.read(table, replace(months, column=table.partition_column)) for table in VIEW_MONTHLY_INPUTS
        )
        dimensions = (lake.read(table) for table in VIEW_DIMENSIONS)
        frame = unified.enriched_orders(*monthly_inputs, *dimensions)
        result = lake.overwrite(frame, view, replace=months)
        file_rows_under_partitions(context, lake, view, months, monthly=True)
        return MaterializeResult(metadata=table_metadata(result, frame, **dashboard.publish(result.uri)))

    return vw_fact_orders_enriched


def build_gold_assets(partitions: Partitions) -> list[AssetsDefinition]:
    """Every gold table: the dims, the daily and monthly facts, the calendar and the view."""
    return [
        *(_gold_table(gold) for gold in GOLD_DIMENSIONS),
        _sb_fact_orders(partitions.daily),
        _fact_orders(partitions.monthly),
        _dim_date(partitions.monthly),
        _enriched_view(partitions.monthly),
    ]
