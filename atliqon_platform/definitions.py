"""The code location: assets, jobs and resources for the environment ATLIQON_ENV selects."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    in_process_executor,
)

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
from atliqon_platform.automation.landing_sensors import build_landing_sensors
from atliqon_platform.automation.schedules import SCHEDULES
from atliqon_platform.checks import build_asset_checks
from atliqon_platform.maintenance.jobs import build_table_jobs
from atliqon_platform.pipes.launchers import DatabricksJobLauncher, SubprocessLauncher
from atliqon_platform.pipes.remote_assets import remote_assets
from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.resources.databricks_connect import DatabricksConnectResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.resources.spark import SparkSessionResource
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
        spark = SparkSessionResource.for_settings(settings)
    resources = {
        "spark": spark,
        "lake": DeltaLakeResource.for_settings(settings, spark),
        "landing": LandingZoneResource.for_settings(settings),
        "dashboard": DashboardResource.for_settings(settings),
    }
    if settings.pipes is PipesMode.SUBPROCESS:
        resources["pipes_launcher"] = SubprocessLauncher()
    elif settings.pipes is PipesMode.DATABRICKS:
        resources["pipes_launcher"] = DatabricksJobLauncher.from_environment(settings.databricks.auth)
    return resources


def build_definitions(settings: Settings) -> Definitions:
    automation = AutomationConditionSensorDefinition(
        "gold_follows_upstream",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING if settings.automation_on else DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        description="Updates gold when its inputs change outside the runs that build them together "
        "(a late file, a parent increment, a restored table).",
    )
    checks, check_sensors = build_asset_checks(settings, [*bronze_snapshots, bronze_orders])
    # One process and one Spark session per run: steps share the session instead of each
    # starting a JVM.
    # With ATLIQON_PIPES the same assets and checks are computed by the entry point a Pipes
    # launch runs; the launching side only declares them.
    if settings.pipes is not PipesMode.OFF:
        assets, checks = remote_assets([*ASSETS, *checks], JOBS_IN_ORDER), []
    else:
        assets = ASSETS
    table_jobs, table_schedules = build_table_jobs(ASSETS)
    return Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[*JOBS_IN_ORDER, *table_jobs],
        sensors=[*build_landing_sensors(settings), automation, *check_sensors],
        schedules=[*SCHEDULES, *table_schedules],
        resources=build_resources(settings),
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())
