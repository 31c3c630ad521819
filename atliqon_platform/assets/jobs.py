"""The runs the graph splits into: one per partitioning, in dependency order.

Dagster runs assets of one partitioning together, so the whole graph for any range of days
is three runs: dimensions, the daily order chain, then the months (facts, calendar and the
dashboard's view).
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from atliqon_platform import tables

DAILY_ORDERS = AssetSelection.assets(
    tables.BRONZE_ORDERS.asset_key,
    tables.SILVER_ORDERS.asset_key,
    tables.SILVER_ORDERS_REJECTED.asset_key,
    tables.GOLD_SB_FACT_ORDERS.asset_key,
)
MONTHLY_FACTS = AssetSelection.assets(
    tables.GOLD_FACT_ORDERS.asset_key,
    tables.GOLD_DIM_DATE.asset_key,
    tables.GOLD_VW_FACT_ORDERS_ENRICHED.asset_key,
)
DIMENSIONS = AssetSelection.all() - DAILY_ORDERS - MONTHLY_FACTS

dimensions_job = define_asset_job(
    "dimensions_job", DIMENSIONS, description="Customers, products, prices of both companies; parent facts."
)
daily_orders_job = define_asset_job(
    "daily_orders_job",
    DAILY_ORDERS,
    description="SportsBar orders, bronze to gold, by landing day.",
)
monthly_facts_job = define_asset_job(
    "monthly_facts_job",
    MONTHLY_FACTS,
    description="Unified gold.fact_orders, gold.dim_date and the dashboard's enriched view, by month.",
)

JOBS_IN_ORDER = (dimensions_job, daily_orders_job, monthly_facts_job)
