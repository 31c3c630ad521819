"""Two real days through the whole graph, in a test instance the Dagster UI serves: built once per
test run for the tests that look at the UI (checks) and operate the lake (maintenance, restore).

Each of them adds the days it needs after 2025-07-02, and reads only what it wrote or what the
build recorded before any of them ran (``after_backfill``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

from atliqon_platform.backfill import backfill_everything
from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform_tests.instances import home_settings, platform_instance
from atliqon_platform_tests.ui import check_statuses, served_ui

LAST_DAY = dt.date(2025, 7, 2)


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
def small_platform(dataset: Path, home: Path) -> Iterator[dict[str, Any]]:
    """The real data up to LAST_DAY backfilled (a range run), the UI serving its instance, and the
    checks as the UI showed them then."""
    settings = home_settings(home)
    landing = LandingZoneResource(uri=settings.landing_uri)
    copy_reference_dataset(dataset, landing, until=LAST_DAY)
    defs = build_definitions(settings)
    with platform_instance() as instance, served_ui(instance) as url:
        assert backfill_everything(settings, instance=instance)
        after_backfill = {"statuses": check_statuses(url, defs), "recorded": recorded_per_partition(instance)}
        yield {
            "home": home,
            "landing": landing,
            "defs": defs,
            "instance": instance,
            "url": url,
            "after_backfill": after_backfill,
        }
