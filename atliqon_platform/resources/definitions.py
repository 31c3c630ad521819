"""The resources of the environment the settings name: one place that chooses them."""

from __future__ import annotations

from dagster import Definitions

from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.resources.databricks_connect import DatabricksConnectResource
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import Settings


def build_resources(settings: Settings) -> dict[str, object]:
    """Spark (local, Spark Connect or Databricks Connect), the lake, the landing zone, the dashboard."""
    databricks = settings.databricks
    if databricks is not None and not databricks.on_cluster:
        spark = DatabricksConnectResource.for_settings(databricks)
    else:
        spark = SparkSessionResource.for_settings(settings)
    return {
        "spark": spark,
        "lake": DeltaLakeResource.for_settings(settings, spark),
        "landing": LandingZoneResource.for_settings(settings),
        "dashboard": DashboardResource.for_settings(settings),
    }


def resource_definitions(settings: Settings) -> Definitions:
    return Definitions(resources=build_resources(settings))
