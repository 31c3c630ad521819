"""Partitioning of the order tables, built from the settings: one partition per landing day, one
per month in gold; and the dates a run owns.

Built by ``build_definitions(settings)``, never at import time, so that the settings given to it
(``first_order_day``, ``first_month``) are the ones the partitions start from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dagster import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    OpExecutionContext,
)

# Dagster names the tags of a run over a range of partitions (a single-run backfill) only in its
# private modules; the tags themselves are documented, and a run must carry them to own a range.
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from atliqon_platform.resources.delta_lake import PartitionRange
from atliqon_platform.settings import Settings

BUSINESS_TIMEZONE = "Asia/Kolkata"
"""The business's calendar: a day's orders are India's day, and so are the partitions' days. In
UTC, India's new day (and the files named by it) comes 5 h 30 min before its partition would."""


def business_today() -> dt.date:
    """Today in India, whose days the partitions are."""
    return dt.datetime.now(ZoneInfo(BUSINESS_TIMEZONE)).date()


@dataclass(frozen=True)
class Partitions:
    """The daily partitions of the order tables and the monthly ones of ``gold.fact_orders``."""

    daily: DailyPartitionsDefinition
    monthly: MonthlyPartitionsDefinition

    @classmethod
    def for_settings(cls, settings: Settings) -> Partitions:
        # end_offset=1: today's (and this month's) partition exists, so a file landing today is processed.
        return cls(
            daily=DailyPartitionsDefinition(
                start_date=settings.first_order_day.isoformat(), end_offset=1, timezone=BUSINESS_TIMEZONE
            ),
            monthly=MonthlyPartitionsDefinition(
                start_date=settings.first_month.isoformat(), end_offset=1, timezone=BUSINESS_TIMEZONE
            ),
        )


def no_day_partition(day: dt.date, daily: DailyPartitionsDefinition) -> str | None:
    """Why order files of ``day`` have no daily partition to load into, None when they have one;
    the order sensor and `atliqon backfill` name it for each file they leave."""
    if daily.has_partition_key(day.isoformat()):
        return None
    if before_the_partitions(day, daily):
        first = daily.start.date()
        return f"{day} is before the daily partitions, which start on {first} (ATLIQON_FIRST_ORDER_DAY)"
    return f"{day} has not begun in {BUSINESS_TIMEZONE}: no partition yet (it loads once it has)"


def before_the_partitions(day: dt.date, daily: DailyPartitionsDefinition) -> bool:
    """A day that never gets a partition; any other day without one has not begun yet."""
    return day < daily.start.date()


def partition_range(context: AssetExecutionContext | OpExecutionContext, column: str) -> PartitionRange:
    """The dates a (possibly multi-partition, single-run backfill) run owns, inclusive."""
    window = context.partition_time_window
    last_day = window.end.date() - dt.timedelta(days=1)
    return PartitionRange(column, window.start.date(), last_day)


def range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of one run over the partitions ``first`` to ``last`` (keys, inclusive)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def tagged_range(tags: dict[str, str]) -> tuple[str, str] | None:
    """The first and last partition key of a run over a range, from its tags; None for another run."""
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        return tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]
    return None
