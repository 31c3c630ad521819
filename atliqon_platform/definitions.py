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
from atliqon_platform.pipes.launchers import DatabricksJobLauncher, SubprocessLauncher
from atliqon_platform.pipes.remote_assets import remote_assets
from atliqon_platform.resources.databricks_connect import DatabricksConnectResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.resources.spark import SparkSessionResource, spark_config
from atliqon_platform.settings import PipesMode, Settings, load_settings

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
    databricks = settings.databricks
    if databricks is not None and not databricks.on_cluster:
        spark = DatabricksConnectResource.for_settings(databricks)
    else:
        spark = SparkSessionResource(spark_config=spark_config(settings))
    resources = {
        "spark": spark,
        "lake": DeltaLakeResource.for_settings(settings, spark),
        "landing": LandingZoneResource.for_settings(settings),
    }
    if settings.pipes is PipesMode.SUBPROCESS:
        resources["pipes_launcher"] = SubprocessLauncher()
    elif settings.pipes is PipesMode.DATABRICKS:
        resources["pipes_launcher"] = DatabricksJobLauncher.from_environment(settings.databricks.auth)
    return resources


def build_definitions(settings: Settings) -> Definitions:
    # One process and one Spark session per run: steps share the session instead of each
    # starting a JVM.
    # With ATLIQON_PIPES the same assets are computed by the entry point a Pipes launch runs.
    assets = ASSETS if settings.pipes is PipesMode.OFF else remote_assets(ASSETS, JOBS_IN_ORDER)
    return Definitions(
        assets=assets,
        jobs=list(JOBS_IN_ORDER),
        resources=build_resources(settings),
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())
