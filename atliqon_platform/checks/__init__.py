"""Asset checks for every layer: what a reviewer reads in the Dagster UI about each table.

Bronze checks run inside the bronze assets (they need the files in hand); silver and gold
checks are separate steps that read the Delta tables, so they can also be rerun alone.
"""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    SensorDefinition,
    build_column_schema_change_checks,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from atliqon_platform.checks.gold import build_gold_checks
from atliqon_platform.checks.silver import build_silver_checks
from atliqon_platform.settings import Environment, Settings

ORDERS_FRESHNESS_TARGET = AssetKey(["bronze", "orders"])


def build_asset_checks(
    settings: Settings, bronze: list[AssetsDefinition]
) -> tuple[list[AssetChecksDefinition], list[SensorDefinition]]:
    """Every check, and the sensor that evaluates freshness where it applies (the ``s3`` environment)."""
    checks = [
        *build_column_schema_change_checks(assets=bronze, severity=AssetCheckSeverity.WARN),
        *build_silver_checks(settings.max_rejected_share),
        *build_gold_checks(),
    ]
    if settings.env is not Environment.S3:
        return checks, []
    freshness = build_last_update_freshness_checks(
        assets=[ORDERS_FRESHNESS_TARGET],
        lower_bound_delta=dt.timedelta(hours=settings.orders_freshness_hours),
        severity=AssetCheckSeverity.WARN,
    )
    return [*checks, *freshness], [build_sensor_for_freshness_checks(freshness_checks=freshness)]
