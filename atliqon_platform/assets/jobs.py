"""The runs the graph splits into: one per partitioning, in dependency order.

Dagster runs assets of one partitioning together, so the whole graph for any range of days
is four runs: dimensions, the daily order chain, the monthly facts with the dashboard's view,
then the calendar.
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
    tables.GOLD_FACT_ORDERS.asset_key, tables.GOLD_VW_FACT_ORDERS_ENRICHED.asset_key
)
CALENDAR = AssetSelection.assets(tables.GOLD_DIM_DATE.asset_key)
DIMENSIONS = AssetSelection.all() - DAILY_ORDERS - MONTHLY_FACTS - CALENDAR

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
    description="Unified monthly gold.fact_orders and the dashboard's enriched view, by month.",
)
calendar_job = define_asset_job("calendar_job", CALENDAR, description="gold.dim_date.")

JOBS_IN_ORDER = (dimensions_job, daily_orders_job, monthly_facts_job, calendar_job)
