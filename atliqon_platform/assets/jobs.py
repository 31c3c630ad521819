"""The runs the graph splits into: one per partitioning, in dependency order.

Dagster runs assets of one partitioning together, so the whole graph for any range of days
is three runs: dimensions, the daily order chain, then the months (facts, calendar and the
dashboard's view).
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from atliqon_platform import tables

# Each job's assets by key: its sensor names them in its run requests (landing_sensors.py).
DAILY_ORDERS = tuple(
    table.asset_key
    for table in (
        tables.BRONZE_ORDERS,
        tables.SILVER_ORDERS,
        tables.SILVER_ORDERS_REJECTED,
        tables.GOLD_SB_FACT_ORDERS,
    )
)
MONTHLY_FACTS = tuple(
    table.asset_key
    for table in (tables.GOLD_FACT_ORDERS, tables.GOLD_DIM_DATE, tables.GOLD_VW_FACT_ORDERS_ENRICHED)
)
DIMENSIONS = tuple(
    table.asset_key for table in tables.TABLES if table.asset_key not in (*DAILY_ORDERS, *MONTHLY_FACTS)
)

dimensions_job = define_asset_job(
    "dimensions_job",
    AssetSelection.assets(*DIMENSIONS),
    description="Customers, products, prices of both companies; parent facts.",
)
daily_orders_job = define_asset_job(
    "daily_orders_job",
    AssetSelection.assets(*DAILY_ORDERS),
    description="SportsBar orders, bronze to gold, by landing day.",
)
monthly_facts_job = define_asset_job(
    "monthly_facts_job",
    AssetSelection.assets(*MONTHLY_FACTS),
    description="Unified gold.fact_orders, gold.dim_date and the dashboard's enriched view, by month.",
)

JOBS_IN_ORDER = (dimensions_job, daily_orders_job, monthly_facts_job)
