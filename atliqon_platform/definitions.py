"""The code location: assets, jobs and resources for the environment ATLIQON_ENV selects."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from atliqon_platform.assets.bronze import bronze_orders, bronze_snapshots
from atliqon_platform.assets.gold import (
    dim_date,
    fact_orders,
    gold_dimensions,
    sb_fact_orders,
    vw_fact_orders_enriched,
)
from atliqon_platform.assets.jobs import JOBS_IN_ORDER
from atliqon_platform.assets.silver import silver_orders, silver_snapshots
from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.resources.spark import SparkSessionResource, spark_config
from atliqon_platform.settings import Settings, load_settings

ASSETS = [
    *bronze_snapshots,
    bronze_orders,
    *silver_snapshots,
    silver_orders,
    *gold_dimensions,
    sb_fact_orders,
    fact_orders,
    dim_date,
    vw_fact_orders_enriched,
]


def build_resources(settings: Settings) -> dict[str, object]:
    spark = SparkSessionResource(spark_config=spark_config(settings))
    return {
        "spark": spark,
        "lake": DeltaLakeResource(lake_uri=settings.lake_uri, spark=spark),
        "landing": LandingZoneResource.for_settings(settings),
        "dashboard": DashboardResource.for_settings(settings),
    }


def build_definitions(settings: Settings) -> Definitions:
    # One process and one Spark session per run: steps share the session instead of each
    # starting a JVM.
    return Definitions(
        assets=ASSETS,
        jobs=list(JOBS_IN_ORDER),
        resources=build_resources(settings),
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())
