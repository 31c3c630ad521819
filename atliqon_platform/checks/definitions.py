"""Asset checks for every layer: what a reviewer reads in the Dagster UI about each table.

Bronze checks run inside the bronze assets (they need the files in hand); silver and gold
checks are separate steps that read the Delta tables, so they can also be rerun alone.
"""

from __future__ import annotations

import datetime as dt
import warnings

from dagster import (
    AssetCheckSeverity,
    Definitions,
    SupersessionWarning,
    build_column_schema_change_checks,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from atliqon_platform import tables
from atliqon_platform.checks.gold import build_gold_checks
from atliqon_platform.checks.silver import build_silver_checks
from atliqon_platform.partitions import Partitions
from atliqon_platform.settings import Environment, Settings

BRONZE = [table.asset_key for table in tables.TABLES if table.layer == "bronze"]


def check_definitions(settings: Settings, partitions: Partitions) -> Definitions:
    """Every check, and the sensor that evaluates freshness where it applies (the ``s3`` environment)."""
    checks = [
        *build_column_schema_change_checks(assets=BRONZE, severity=AssetCheckSeverity.WARN),
        *build_silver_checks(settings.max_rejected_share, partitions.daily),
        *build_gold_checks(partitions),
    ]
    if settings.env is not Environment.S3:
        return Definitions(asset_checks=checks)
    # Dagster 1.13 supersedes these with FreshnessPolicy, which is no asset check: this check
    # stays beside the others in the UI; the notice of its supersession printed on every command.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        freshness = build_last_update_freshness_checks(
            assets=[tables.BRONZE_ORDERS.asset_key],
            lower_bound_delta=dt.timedelta(hours=settings.orders_freshness_hours),
            severity=AssetCheckSeverity.WARN,
        )
        sensor = build_sensor_for_freshness_checks(freshness_checks=freshness)
    return Definitions(asset_checks=[*checks, *freshness], sensors=[sensor])
