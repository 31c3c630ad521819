"""The baseline: the platform's rules as one plain PySpark script, no Dagster, full reprocessing.

It is what the reference notebook did (read everything, rebuild every table) on the same engine
and storage as the platform: local Spark writing Delta with delta-spark. It calls the same rule
functions, so the difference to a Dagster build is the orchestration, the checks and the
metadata, not the logic. It writes no quarantine accounting, no metadata, and runs no check.
"""

from __future__ import annotations

import datetime as dt

from atliqon_platform.assets.bronze import (
    BRONZE_SNAPSHOT_SOURCES,
    LANDING_DATE,
    read_files,
    read_order_days,
    source_keys,
)
from atliqon_platform.assets.gold import ENRICHED_VIEW_INPUTS, GOLD_DIMENSIONS
from atliqon_platform.assets.silver import SILVER_SNAPSHOTS, read_bronze
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.transforms import orders, unified


def rebuild_everything(landing: LandingZoneResource, lake: DeltaLakeResource) -> int:
    """Every table from every landed file; returns the number of order lines read."""
    for source in BRONZE_SNAPSHOT_SOURCES:
        lake.overwrite(read_files(landing, source, source_keys(landing, source)).table, "bronze", source.name)
    order_lines = read_order_days(landing, dt.date.min, dt.date.max).loaded.table
    lake.overwrite(order_lines, "bronze", "orders", monthly_by=LANDING_DATE)

    for table in SILVER_SNAPSHOTS:
        raw = read_bronze(lake, table.bronze)
        kept, rejected = table.transform(raw, *(lake.read("silver", name) for name in table.lookups))
        lake.overwrite(kept, "silver", table.name)
        lake.overwrite(rejected, "silver", f"{table.name}_rejected")
    kept, rejected = orders.clean_orders(read_bronze(lake, "orders"), lake.read("silver", "products"))
    lake.overwrite(kept, "silver", "orders", monthly_by=LANDING_DATE)
    lake.overwrite(rejected, "silver", "orders_rejected", monthly_by=LANDING_DATE)

    for table in GOLD_DIMENSIONS:
        lake.overwrite(table.build(*(lake.read(*source) for source in table.inputs)), "gold", table.name)
    child_facts = orders.sb_fact_orders(lake.read("silver", "orders"))
    lake.overwrite(child_facts, "gold", "sb_fact_orders", monthly_by="date")
    facts = unified.fact_orders(
        lake.read("silver", "parent_fact_orders"), lake.read("gold", "sb_fact_orders")
    )
    lake.overwrite(facts, "gold", "fact_orders", monthly_by="date")
    lake.overwrite(unified.dim_date_covering(lake.read("gold", "fact_orders")), "gold", "dim_date")
    view = unified.enriched_orders(*(lake.read(*table) for table in ENRICHED_VIEW_INPUTS))
    lake.overwrite(view, "gold", "vw_fact_orders_enriched")
    return order_lines.num_rows
