"""The baseline: the platform's rules as one plain PySpark script, no Dagster, full reprocessing.

It is what the reference notebook did (read everything, rebuild every table) on the same engine
and storage as the platform: local Spark writing Delta with delta-spark. It calls the same rule
functions, so the difference to a Dagster build is the orchestration, the checks and the
metadata, not the logic. It writes no quarantine accounting, no metadata, and runs no check.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from atliqon_platform import tables
from atliqon_platform.assets.bronze import SNAPSHOTS, read_files, read_order_days, source_keys
from atliqon_platform.assets.gold import GOLD_DIMENSIONS, VIEW_INPUTS
from atliqon_platform.assets.silver import SILVER_SNAPSHOTS, read_bronze
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.tables import rejected
from atliqon_platform.transforms import orders, unified


def rebuild_everything(landing: LandingZoneResource, lake: DeltaLakeResource) -> int:
    """Every table from every landed file; returns the number of order lines read."""
    for source, table in SNAPSHOTS.items():
        lake.overwrite(read_files(landing, source, source_keys(landing, source)).table, table)
    order_lines = read_order_days(landing, dt.date.min, dt.date.max).loaded.table
    lake.overwrite(order_lines, tables.BRONZE_ORDERS)

    for snapshot in SILVER_SNAPSHOTS:
        raw = read_bronze(lake, snapshot.bronze)
        kept, rejected_rows = snapshot.transform(raw, *(lake.read(lookup) for lookup in snapshot.lookups))
        lake.overwrite(kept, snapshot.table)
        lake.overwrite(rejected_rows, rejected(snapshot.table))
    kept, rejected_rows = orders.clean_orders(
        read_bronze(lake, tables.BRONZE_ORDERS), lake.read(tables.SILVER_PRODUCTS)
    )
    lake.overwrite(kept, tables.SILVER_ORDERS)
    lake.overwrite(rejected_rows, tables.SILVER_ORDERS_REJECTED)

    for gold in GOLD_DIMENSIONS:
        lake.overwrite(gold.build(*(lake.read(source) for source in gold.inputs)), gold.table)
    child_facts = orders.sb_fact_orders(lake.read(tables.SILVER_ORDERS))
    lake.overwrite(child_facts, tables.GOLD_SB_FACT_ORDERS)
    facts = unified.fact_orders(
        lake.read(tables.SILVER_PARENT_FACT_ORDERS), lake.read(tables.GOLD_SB_FACT_ORDERS)
    )
    lake.overwrite(facts, tables.GOLD_FACT_ORDERS)
    # The calendar over the months with facts, where the platform's covers its partitions' months.
    written = lake.read(tables.GOLD_FACT_ORDERS)
    first, last = written.agg(F.min("date"), F.max("date")).first()
    lake.overwrite(unified.dim_date(written.sparkSession, first, last), tables.GOLD_DIM_DATE)
    view = unified.enriched_orders(*(lake.read(table) for table in VIEW_INPUTS))
    lake.overwrite(view, tables.GOLD_VW_FACT_ORDERS_ENRICHED)
    return order_lines.num_rows
