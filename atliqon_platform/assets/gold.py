"""Gold: business-ready dims and facts for both companies, and the enriched view of the dashboard."""

from collections.abc import Callable
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.assets.code_versions import code_version
from atliqon_platform.assets.metadata import OWNERS, table_metadata
from atliqon_platform.assets.partitions import DAILY, MONTHLY, partition_range
from atliqon_platform.automation.conditions import follows_upstream
from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.transforms import customers, gross_price, orders, products, unified

Table = tuple[str, str]


SB_FACT_ORDERS = AssetKey(["gold", "sb_fact_orders"])
FACT_ORDERS = AssetKey(["gold", "fact_orders"])


@dataclass(frozen=True)
class GoldTable:
    """An unpartitioned gold table rebuilt whole from its input tables."""

    name: str
    inputs: tuple[Table, ...]
    build: Callable[..., DataFrame]
    description: str


def _gold_table(table: GoldTable) -> AssetsDefinition:
    @asset(
        key=["gold", table.name],
        deps=[AssetKey(list(source)) for source in table.inputs],
        group_name="gold",
        kinds={"spark", "delta"},
        owners=OWNERS,
        description=table.description,
        code_version=code_version(table.build),
        automation_condition=follows_upstream(),
    )
    def _gold(lake: DeltaLakeResource) -> MaterializeResult:
        frame = table.build(*(lake.read(*source) for source in table.inputs))
        return MaterializeResult(metadata=table_metadata(lake.overwrite(frame, "gold", table.name), frame))

    return _gold


# In dependency order: the child's dims come before the unified ones that read them.
GOLD_DIMENSIONS = (
    GoldTable(
        "sb_dim_customers",
        (("silver", "customers"),),
        customers.sb_dim_customers,
        "SportsBar customer dimension (35 customers in the full load).",
    ),
    GoldTable(
        "sb_dim_products",
        (("silver", "products"),),
        products.sb_dim_products,
        "SportsBar product dimension (18 products in the full load), product_id kept.",
    ),
    GoldTable(
        "sb_dim_gross_price",
        (("silver", "gross_price"),),
        gross_price.yearly_prices,
        "SportsBar yearly price per (product_code, year): the latest non-zero month wins, "
        "else the latest month.",
    ),
    GoldTable(
        "dim_customers",
        (("silver", "parent_customers"), ("gold", "sb_dim_customers")),
        unified.dim_customers,
        "Unified customers of both companies, plus the unknown customer 999999 "
        "(channel Unknown) so that no fact has a null slice.",
    ),
    GoldTable(
        "dim_products",
        (("silver", "parent_products"), ("gold", "sb_dim_products")),
        unified.dim_products,
        "Unified products of both companies (the child's product_id not carried).",
    ),
    GoldTable(
        "dim_gross_price",
        (("silver", "parent_gross_price"), ("gold", "sb_dim_gross_price")),
        unified.dim_gross_price,
        "Unified yearly prices, keyed on (product_code, year).",
    ),
)
gold_dimensions = [_gold_table(table) for table in GOLD_DIMENSIONS]


@asset(
    key=SB_FACT_ORDERS,
    deps=[AssetKey(["silver", "orders"])],
    partitions_def=DAILY,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="gold",
    kinds={"spark", "delta"},
    owners=OWNERS,
    description=(
        "SportsBar daily order facts: order_id, date, customer_code, product_code, product_id, "
        "sold_quantity. Lines with the same business key and different quantities both kept."
    ),
    code_version=code_version(orders.sb_fact_orders),
    automation_condition=follows_upstream(),
)
def sb_fact_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> MaterializeResult:
    days = partition_range(context, "date")
    facts = orders.sb_fact_orders(lake.read("silver", "orders", partition_range(context, "landing_date")))
    result = lake.overwrite(facts, "gold", "sb_fact_orders", replace=days)
    return MaterializeResult(metadata=table_metadata(result, facts))


@asset(
    key=FACT_ORDERS,
    deps=[SB_FACT_ORDERS, AssetKey(["silver", "parent_fact_orders"])],
    partitions_def=MONTHLY,
    automation_condition=follows_upstream(SB_FACT_ORDERS),
    backfill_policy=BackfillPolicy.single_run(),
    group_name="gold",
    kinds={"spark", "delta"},
    owners=OWNERS,
    description=(
        "Unified monthly order facts: the parent's rows for the month plus the child's daily "
        "facts of that month summed by (month, product_code, customer_code), always recomputed "
        "from all of the month's days."
    ),
    code_version=code_version(unified.fact_orders),
)
def fact_orders(context: AssetExecutionContext, lake: DeltaLakeResource) -> MaterializeResult:
    months = partition_range(context, "date")
    facts = unified.fact_orders(
        lake.read("silver", "parent_fact_orders").where(
            F.col("date").between(F.lit(months.start), F.lit(months.end))
        ),
        lake.read("gold", "sb_fact_orders", months),
    )
    result = lake.overwrite(facts, "gold", "fact_orders", replace=months)
    return MaterializeResult(metadata=table_metadata(result, facts))


@asset(
    key=["gold", "dim_date"],
    deps=[FACT_ORDERS],
    automation_condition=follows_upstream(FACT_ORDERS, rebuilt_inputs=(FACT_ORDERS,)),
    group_name="gold",
    kinds={"spark", "delta"},
    owners=OWNERS,
    description="One row per month start, from the first to the last month with facts.",
    code_version=code_version(unified.dim_date_covering),
)
def dim_date(lake: DeltaLakeResource) -> MaterializeResult:
    frame = unified.dim_date_covering(lake.read("gold", "fact_orders"))
    return MaterializeResult(metadata=table_metadata(lake.overwrite(frame, "gold", "dim_date"), frame))


ENRICHED_VIEW_INPUTS = [
    ("gold", "fact_orders"),
    ("gold", "dim_date"),
    ("gold", "dim_customers"),
    ("gold", "dim_products"),
    ("gold", "dim_gross_price"),
]


@asset(
    key=["gold", "vw_fact_orders_enriched"],
    deps=[AssetKey(list(table)) for table in ENRICHED_VIEW_INPUTS],
    group_name="gold",
    kinds={"spark", "delta"},
    description=(
        "The dashboard's denormalised view, materialised: every gold.fact_orders row once, with "
        "date, customer, product and yearly price attributes and total_amount_inr = "
        "sold_quantity x price_inr. Each materialisation also writes the dashboard's static "
        "snapshot (metadata `dashboard_snapshot`) and links the live dashboard (`dashboard`)."
    ),
    code_version=code_version(unified.enriched_orders),
    owners=OWNERS,
    automation_condition=follows_upstream(FACT_ORDERS, rebuilt_inputs=(FACT_ORDERS,)),
)
def vw_fact_orders_enriched(lake: DeltaLakeResource, dashboard: DashboardResource) -> MaterializeResult:
    frame = unified.enriched_orders(*(lake.read(*table) for table in ENRICHED_VIEW_INPUTS))
    result = lake.overwrite(frame, "gold", "vw_fact_orders_enriched")
    return MaterializeResult(metadata=table_metadata(result, frame, **dashboard.publish(result.uri)))
