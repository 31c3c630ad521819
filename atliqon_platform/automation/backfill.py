"""Materialise the whole graph for everything in the landing zone, in as few runs as possible.

Dagster runs assets of one partitioning together, so a full backfill is four runs, recorded
in the instance like any other run (they show in the UI): dimensions, every landed day of
orders in one single-run range, every month of facts in one range, then the reporting tables.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
from dagster import DagsterInstance
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from deltalake import DeltaTable
from tqdm import tqdm

from atliqon_platform.assets.bronze import landed_order_files
from atliqon_platform.assets.jobs import daily_orders_job, dimensions_job, monthly_facts_job, reporting_job
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.settings import Settings, delta_storage_options


def parent_fact_months(settings: Settings) -> tuple[dt.date, dt.date] | None:
    if settings.catalog:  # Unity Catalog tables are not read from here: every month up to now
        return settings.first_month, dt.date.today()
    uri = f"{settings.lake_uri}/silver/parent_fact_orders"
    dates = DeltaTable(uri, storage_options=delta_storage_options(uri) or None).to_pyarrow_dataset()
    column = dates.to_table(columns=["date"]).column("date")
    if len(column) == 0:
        return None
    bounds = pc.min_max(column).as_py()
    return bounds["min"], bounds["max"]


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def backfill_everything(
    settings: Settings, progress: bool = False, instance: DagsterInstance | None = None
) -> bool:
    """Run the four jobs in order; stops at the first failed run and says which."""
    from atliqon_platform.definitions import build_definitions

    defs = build_definitions(settings)
    instance = instance or DagsterInstance.get()
    files, _ = landed_order_files(LandingZoneResource.for_settings(settings))
    days = sorted(set(files.values()))
    steps = tqdm(total=4, desc="backfill", unit="run", disable=not progress)

    def run(job_name: str, tags: dict[str, str]) -> bool:
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, tags=tags, raise_on_error=False
        )
        steps.update()
        if not result.success:
            failures = [event.message for event in result.all_events if event.is_failure]
            print(f"run {result.run_id} of {job_name} failed: " + " | ".join(str(f) for f in failures))
        return result.success

    if not run(dimensions_job.name, {}):
        return False
    if days and not run(daily_orders_job.name, _range_tags(days[0].isoformat(), days[-1].isoformat())):
        return False
    months = [*(parent_fact_months(settings) or ()), *(_month(day) for day in days[:1] + days[-1:])]
    if months:
        first, last = _month(min(months)), _month(max(months))
        if not run(monthly_facts_job.name, _range_tags(first.isoformat(), last.isoformat())):
            return False
    else:
        steps.update()
    ok = run(reporting_job.name, {})
    steps.close()
    return ok
