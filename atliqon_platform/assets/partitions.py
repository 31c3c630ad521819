"""Partitioning of the order tables: one partition per landing day, one per month in gold."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    OpExecutionContext,
)

from atliqon_platform.resources.delta_lake import PartitionRange
from atliqon_platform.settings import load_settings

_settings = load_settings()

# end_offset=1: today's (and this month's) partition exists, so a file landing today is processed.
DAILY = DailyPartitionsDefinition(start_date=_settings.first_order_day.isoformat(), end_offset=1)
MONTHLY = MonthlyPartitionsDefinition(start_date=_settings.first_month.isoformat(), end_offset=1)


def partition_range(context: AssetExecutionContext | OpExecutionContext, column: str) -> PartitionRange:
    """The dates a (possibly multi-partition, single-run backfill) run owns, inclusive."""
    window = context.partition_time_window
    last_day = window.end.date() - dt.timedelta(days=1)
    return PartitionRange(column, window.start.date(), last_day)
