"""The nightly schedule: when it ticks, which day a tick names (India's, also where UTC's date
differs), and that the day is a partition of the real daily orders job."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dagster import RepositoryDefinition, build_schedule_context
from dagster._utils.schedules import cron_string_iterator

from atliqon_platform.assets.jobs import DAILY_ORDERS
from atliqon_platform.automation.schedules import nightly_orders_schedule
from atliqon_platform.definitions import build_definitions
from atliqon_platform.settings import load_settings

INDIA = ZoneInfo("Asia/Kolkata")  # UTC+05:30, no daylight saving


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> RepositoryDefinition:
    home = tmp_path_factory.mktemp("schedule")
    return build_definitions(load_settings({"ATLIQON_HOME": str(home)})).get_repository_def()


def test_the_schedule_ticks_at_23_00_india_time():
    after = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
    ticks = cron_string_iterator(
        after.timestamp(), nightly_orders_schedule.cron_schedule, nightly_orders_schedule.execution_timezone
    )
    assert [next(ticks).astimezone(dt.UTC) for _ in range(2)] == [
        dt.datetime(2025, 7, 1, 17, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 7, 2, 17, 30, tzinfo=dt.UTC),
    ]


@pytest.mark.parametrize(
    ("at", "india_day"),
    [
        (dt.datetime(2025, 7, 1, 23, 0, tzinfo=INDIA), "2025-07-01"),  # the tick itself
        (dt.datetime(2025, 7, 1, 17, 30, tzinfo=dt.UTC), "2025-07-01"),  # the same instant, in UTC
        (
            dt.datetime(2025, 7, 2, 0, 5, tzinfo=dt.UTC),
            "2025-07-02",
        ),  # just after midnight UTC: 05:35 in India
        (
            dt.datetime(2025, 7, 1, 18, 35, tzinfo=dt.UTC),
            "2025-07-02",
        ),  # 00:05 in India, UTC still says July 1
    ],
    ids=["23:00 India", "17:30 UTC", "00:05 UTC", "18:35 UTC is the next day in India"],
)
def test_a_tick_names_the_day_of_the_india_calendar(at, india_day):
    request = nightly_orders_schedule(build_schedule_context(scheduled_execution_time=at))
    assert (request.partition_key, request.run_key) == (india_day, f"nightly {india_day}")


def test_the_nightly_tick_resolves_to_a_partition_of_the_daily_orders_job(repository):
    """Evaluated as the daemon does, against the real code location: the partition must exist."""
    at = dt.datetime(2025, 7, 1, 23, 0, tzinfo=INDIA)
    context = build_schedule_context(scheduled_execution_time=at, repository_def=repository)
    [request] = nightly_orders_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "nightly 2025-07-01"
    assert request.tags["dagster/partition"] == "2025-07-01"
    assert request.tags["dagster/schedule_name"] == "nightly_orders_schedule"
    assert request.asset_selection == list(DAILY_ORDERS)  # the run's targets, as automation reads them
