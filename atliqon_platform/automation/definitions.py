"""Everything that starts runs by itself: the landing sensors, declarative automation, the schedule."""

from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions

from atliqon_platform.automation.landing_sensors import build_landing_sensors, daemon_min_interval
from atliqon_platform.automation.schedules import SCHEDULES
from atliqon_platform.settings import Settings

AUTOMATION_SENSOR = "gold_follows_upstream"


def automation_definitions(settings: Settings) -> Definitions:
    """The sensors and schedules, running from the start where the settings switch automation on."""
    follows_upstream = AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING if settings.automation_on else DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=daemon_min_interval(settings.sensor_interval_seconds),
        description="Updates gold when its inputs change outside the runs that build them together "
        "(a late file, a parent increment, a restored table).",
    )
    return Definitions(sensors=[*build_landing_sensors(settings), follows_upstream], schedules=SCHEDULES)
