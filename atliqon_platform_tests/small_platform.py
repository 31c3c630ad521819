"""The run's real days (the ``real_days`` build, up to remote_runs.UNTIL) in a copy, and a fork of
their instance that the Dagster UI serves: for the tests that look at the UI (checks) and operate
the lake (maintenance, restore).

Each of them adds the days it needs after UNTIL, and reads only what it wrote or what the build
recorded before any of them ran (``after_backfill``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform_tests.tiny import forked_home
from atliqon_platform_tests.ui import check_statuses, served_ui


def recorded_per_partition(instance: DagsterInstance) -> dict[tuple[str, str, str], bool]:
    """The last evaluation of every (asset, check, partition) the instance recorded."""
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), ascending=True
    )
    recorded = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.partition is not None:
            key = (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.partition)
            recorded[key] = evaluation.passed
    return recorded


@contextmanager
def small_platform(real_days: dict[str, Any], folder: Path) -> Iterator[dict[str, Any]]:
    """The real days in a copy, the UI serving a fork of the instance that built them, and the
    checks as the UI showed them then."""
    with forked_home(real_days, folder) as (settings, instance), served_ui(instance) as url:
        defs = build_definitions(settings)
        after_backfill = {"statuses": check_statuses(url, defs), "recorded": recorded_per_partition(instance)}
        yield {
            "home": settings.home,
            "landing": LandingZoneResource(uri=settings.landing_uri),
            "defs": defs,
            "instance": instance,
            "url": url,
            "after_backfill": after_backfill,
        }
