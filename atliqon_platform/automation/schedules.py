"""The reference pipeline's nightly job, for deployments that prefer a clock to sensors."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dagster import DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext, schedule

from atliqon_platform.assets.jobs import DAILY_ORDERS, daily_orders_job
from atliqon_platform.partitions import BUSINESS_TIMEZONE


@schedule(
    name="nightly_orders_schedule",
    cron_schedule="0 23 * * *",
    execution_timezone=BUSINESS_TIMEZONE,
    job=daily_orders_job,
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Every day at 23:00 India time, load the day's order files (as the reference job did); "
        "gold follows by declarative automation. Off by default: the landing sensors do this "
        "as files arrive."
    ),
)
def nightly_orders_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    # The day in India, whatever zone the time comes in: from 18:30 UTC, UTC is a day behind.
    day = context.scheduled_execution_time.astimezone(ZoneInfo(BUSINESS_TIMEZONE)).date()
    # Names its assets, as the order sensor's requests do (order_run_requests): a run without
    # targets would let automation request the day's gold.sb_fact_orders again.
    return RunRequest(
        run_key=f"nightly {day}", partition_key=day.isoformat(), asset_selection=list(DAILY_ORDERS)
    )


SCHEDULES: list[ScheduleDefinition] = [nightly_orders_schedule]
