"""The headless backfill: materialise the whole graph for everything in the landing zone, in as few
runs as possible (``atliqon backfill``).

Dagster runs assets of one partitioning together, so a full backfill is three runs, recorded
in the instance like any other run (they show in the UI): dimensions, every landed day of
orders in one single-run range, then the facts, the calendar and the view in one range of months,
from the first to the last month with data (the parent's facts, the landed days).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

import pyarrow.compute as pc
from dagster import (
    DagsterInstance,
    DailyPartitionsDefinition,
    InitLoggerContext,
    JobDefinition,
    MonthlyPartitionsDefinition,
    colored_console_logger,
    logger,
)
from deltalake import DeltaTable
from tqdm import tqdm

from atliqon_platform import tables
from atliqon_platform.assets.bronze import landed_order_files
from atliqon_platform.assets.jobs import daily_orders_job, dimensions_job, monthly_facts_job
from atliqon_platform.definitions import build_definitions
from atliqon_platform.instance.threaded_executor import INFO_CONSOLE, execute_in_this_process
from atliqon_platform.lifecycle import say
from atliqon_platform.partitions import Partitions, business_today, no_day_partition, range_tags
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.run_failures import failure_reasons, interrupted
from atliqon_platform.settings import Settings, delta_storage_options


def parent_fact_months(settings: Settings) -> tuple[dt.date, dt.date] | None:
    if settings.catalog:  # Unity Catalog tables are not read from here: every month up to now
        return settings.first_month, business_today()
    uri = tables.SILVER_PARENT_FACT_ORDERS.location(settings.lake_uri)
    dates = DeltaTable(uri, storage_options=delta_storage_options(uri) or None).to_pyarrow_dataset()
    column = dates.to_table(columns=["date"]).column("date")
    if len(column) == 0:
        return None
    bounds = pc.min_max(column).as_py()
    return bounds["min"], bounds["max"]


@logger(colored_console_logger.config_schema)
def terminal(context: InitLoggerContext) -> logging.Logger:
    """Dagster's console, without what `atliqon backfill` says itself (``SaidByTheBackfill``)."""
    console = colored_console_logger.logger_fn(context)
    console.addFilter(SaidByTheBackfill())
    console.setLevel(logging.DEBUG)  # the filter sees the engine's events; its handler keeps the level
    return console


class SaidByTheBackfill(logging.Filter):
    """Drops what Dagster prints with a trace and `atliqon backfill` says in a line of its own: a
    run's failure, and a resource's failure to start (the backfill names the error that failed
    it); after Ctrl-C, every error that follows the run's engine event of the interruption (the
    steps it stopped, each with a Java trace of its cancelled query, and the steps skipped after
    them: some 700 lines). The instance keeps them all, for the UI."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False  # set once, by whichever thread logs the engine's event of it

    def filter(self, record: logging.LogRecord) -> bool:
        event = getattr(record, "dagster_event", None)  # set on the records of Dagster's events
        if event is not None:
            if event.is_engine_event and "steps_interrupted" in event.engine_event_data.metadata:
                self.stopping = True
            if event.is_run_failure or event.is_resource_init_failure:
                return False
        return not (self.stopping and record.levelno >= logging.ERROR)


def for_the_terminal(job: JobDefinition) -> JobDefinition:
    return job.with_logger_defs({"console": terminal})


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


class _Runs:
    """Runs jobs of the code location one after the other, on one instance, with a progress bar."""

    def __init__(
        self, settings: Settings, instance: DagsterInstance | None, runs: int, progress: bool
    ) -> None:
        self.defs = build_definitions(settings)
        self.instance = instance or DagsterInstance.get()
        self.steps = tqdm(total=runs, desc="backfill", unit="run", disable=not progress)

    def run(self, job_name: str, tags: dict[str, str]) -> bool:
        job = for_the_terminal(self.defs.resolve_job_def(job_name))
        result = execute_in_this_process(job, self.instance, tags, INFO_CONSOLE)
        self.steps.update()
        if not result.success and interrupted(result.all_events):
            print(f"run {result.run_id} of {job_name} was interrupted, and is marked failed")
            raise KeyboardInterrupt  # the backfill stops there: `atliqon backfill` says so
        if not result.success:
            reasons = " | ".join(failure_reasons(result.all_events))
            print(f"run {result.run_id} of {job_name} failed: {reasons}")
        return result.success

    def orders_to_gold(self, days: list[dt.date], months: list[dt.date]) -> bool:
        """The days in one daily run, then their months (and ``months``) of the facts, the calendar
        and the view in one monthly run."""
        if days and not self.run(
            daily_orders_job.name, range_tags(days[0].isoformat(), days[-1].isoformat())
        ):
            return False
        months = [*months, *(_month(day) for day in days[:1] + days[-1:])]
        ok = not months or self.run(
            monthly_facts_job.name,
            range_tags(_month(min(months)).isoformat(), _month(max(months)).isoformat()),
        )
        self.steps.close()
        return ok


def backfill_everything(
    settings: Settings, progress: bool = False, instance: DagsterInstance | None = None
) -> bool:
    """Run the three jobs in order; stops at the first failed run and says which."""
    files, _ = landed_order_files(LandingZoneResource.for_settings(settings))
    partitions = Partitions.for_settings(settings)
    runs = _Runs(settings, instance, runs=3, progress=progress)
    if not runs.run(dimensions_job.name, {}):
        return False
    days = days_with_partitions(files, partitions.daily)
    months = months_with_partitions(parent_fact_months(settings), partitions.monthly)
    return runs.orders_to_gold(days, months)


def days_with_partitions(files: dict[str, dt.date], daily: DailyPartitionsDefinition) -> list[dt.date]:
    """The landing days of the order files that have a partition; every other file is named on
    stderr as skipped, as the order sensor names it in its tick's log."""
    days = set()
    for key, day in sorted(files.items()):
        if (why := no_day_partition(day, daily)) is None:
            days.add(day)
        else:
            say(f"atliqon backfill: skipped {key}: {why}", sys.stderr)
    return sorted(days)


def months_with_partitions(
    bounds: tuple[dt.date, dt.date] | None, monthly: MonthlyPartitionsDefinition
) -> list[dt.date]:
    """The parent's first and last month, within the monthly partitions; months outside them are
    named on stderr."""
    if bounds is None:
        return []
    wanted = (_month(bounds[0]), _month(bounds[1]))
    keys = monthly.get_partition_keys()  # none when ATLIQON_FIRST_MONTH is still to come
    held = None
    if keys:
        held = (
            max(wanted[0], dt.date.fromisoformat(keys[0])),
            min(wanted[1], dt.date.fromisoformat(keys[-1])),
        )
    if held == wanted:
        return list(held)
    facts = f"atliqon backfill: the parent's facts of {wanted[0]:%Y-%m} to {wanted[1]:%Y-%m} are built"
    months = "the months of the partitions (ATLIQON_FIRST_MONTH to this month)"
    if held is None or held[0] > held[1]:
        say(f"{facts} for no month: none is among {months}", sys.stderr)
        return []
    say(f"{facts} for {held[0]:%Y-%m} to {held[1]:%Y-%m} only, {months}", sys.stderr)
    return list(held)


def load_days(settings: Settings, days: list[dt.date], instance: DagsterInstance | None = None) -> bool:
    """What the landing sensor and the automation run for newly landed days (dimensions unchanged):
    the days, then their months of gold.fact_orders, gold.dim_date and the view."""
    return _Runs(settings, instance, runs=2, progress=False).orders_to_gold(sorted(days), [])
