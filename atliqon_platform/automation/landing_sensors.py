"""Sensors on the landing zone: a new or changed file requests the run that loads it.

Each sensor's cursor records the content version (S3 ETag, local md5) of every key it has
acted on, so a file re-delivered with the same content starts nothing and one with new
content reruns what it feeds. Run keys are made of keys, versions and the times the files
were written: if the daemon stops between requesting runs and saving the cursor, the next
tick asks for the same run keys and Dagster launches nothing twice. A replayed tick may
group the days differently (one range instead of single days, once more than
``MAX_DAY_RUNS_PER_TICK`` are new), and a range's key then differs: so a day that a run of
this sensor, created after its files last changed, already covers is not requested again.

Order files are listed incrementally, after the last key seen (but before a file for a day
that has not begun, which waits for it); every ``FULL_SCAN_EVERY`` ticks the whole prefix is
listed again, because a late file for an old day sorts before the cursor. The dimension
prefixes hold one file per source and are listed whole, by both sensors: the order sensor
holds its days back until the dimensions they read are ready and every changed dimension file
has had its dimension run requested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

# Queued or in progress: Dagster's name for it is not public.
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

# The tags Dagster gives a run of one partition and a run a sensor requested have no public name.
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, PARTITION_NAME_TAG, SENSOR_NAME_TAG

from atliqon_platform import tables
from atliqon_platform.assets.bronze import BRONZE_OF
from atliqon_platform.assets.jobs import DAILY_ORDERS, DIMENSIONS, daily_orders_job, dimensions_job
from atliqon_platform.checks.gold import CODES_RESOLVE_DIMENSIONS
from atliqon_platform.partitions import (
    Partitions,
    before_the_partitions,
    no_day_partition,
    range_tags,
    tagged_range,
)
from atliqon_platform.resources.landing_zone import LandingObject, LandingZoneResource
from atliqon_platform.settings import Settings
from atliqon_platform.sources import (
    ORDERS,
    PARENT_FACT_ORDERS,
    SNAPSHOT_SOURCES,
    InvalidOrderFileName,
    order_file_day,
    source_of,
)

FULL_SCAN_EVERY = 10
"""Ticks between full listings of the order prefix (late files for old days)."""

MAX_DAY_RUNS_PER_TICK = 7
"""More new days than this in one tick (a history catching up) go as one single-run range."""


def daemon_min_interval(seconds: int) -> int:
    """Dagster's minimum interval for a sensor meant to tick every ``seconds``.

    Dagster's daemons loop every 5 s, and tick a sensor when its minimum interval has passed
    since its last tick started, which is a little after the loop did. With the interval itself
    as the minimum, one loop in two found 4.9 s had passed and skipped: a 5 s sensor ticked every
    5 or 10 s (8 s on average, in the daemon's log). A second less ticks it on the loop due."""
    return max(1, seconds - 1)


ORDER_SENSOR = "order_files_sensor"
DIMENSION_PREFIXES = (*(source.prefix for source in SNAPSHOT_SOURCES), PARENT_FACT_ORDERS.prefix)
"""``parent/`` holds the parent's dimension exports as well as its fact increments."""
DIMENSIONS_READ = (
    tables.SILVER_PRODUCTS.asset_key,
    *(table.asset_key for table in CODES_RESOLVE_DIMENSIONS),
)
"""What an order run reads of the dimensions: silver.orders joins silver.products, and
gold.sb_fact_orders' blocking check ``codes_resolve`` reads two gold dims. While one is missing the
run would fail; while a run is about to write one, the day would be checked against the dims of
before (a product or customer new in that run fails the check, and holds the month back). So the
sensor waits until each exists and no run that will write it is queued or in progress."""


def dimensions_not_ready(instance: DagsterInstance) -> str | None:
    """Why order runs must wait for the dimensions they read (DIMENSIONS_READ); None once ready."""
    for key in DIMENSIONS_READ:
        if instance.get_latest_materialization_event(key) is None:
            return f"{key.to_user_string()} is not materialised yet (the dimension files load first)"
        planned = instance.get_latest_planned_materialization_info(key)
        writer = instance.get_run_by_id(planned.run_id) if planned is not None else None
        if writer is not None and writer.status in NOT_FINISHED_STATUSES:
            return f"{key.to_user_string()} is being written by run {writer.run_id}"
    return None


def dimension_files(landing: LandingZoneResource) -> Iterator[LandingObject]:
    return (item for prefix in DIMENSION_PREFIXES for item in landing.list(prefix))


def dimension_files_not_requested(
    instance: DagsterInstance, landing: LandingZoneResource, cursor: LandingCursor
) -> str | None:
    """Why order runs must wait for dimension files whose content changed and that no dimension
    run has loaded or been requested for since; None when none. The others' content is recorded
    in the order sensor's cursor.

    Both sensors tick on the same loop, so a products file landing with the day that first
    sells its product may reach the order sensor first, and that day would quarantine its lines
    as of an unknown product. The content recorded makes a file re-delivered with the same bytes
    (which the dimension sensor rightly ignores) wait for nothing.
    """
    if cursor.dimensions_requested is None:  # a cursor of before this record: as it was then
        cursor.dimensions_requested = {item.key: item.version for item in dimension_files(landing)}
        return None
    waiting = []
    for item in dimension_files(landing):
        if _unusable(item) or cursor.dimensions_requested.get(item.key) == item.version:
            continue
        runs = RunsFilter(job_name=dimensions_job.name, created_after=item.modified)
        if _loaded(instance, item) or instance.get_run_records(runs, limit=1):
            cursor.dimensions_requested[item.key] = item.version
        else:
            waiting.append(item.key)
    return f"no dimension run is requested yet for {', '.join(waiting)}, which changed" if waiting else None


@dataclass
class LandingCursor:
    """What a landing sensor has acted on, persisted as the sensor's cursor (JSON)."""

    versions: dict[str, str] = field(default_factory=dict)
    after: str | None = None
    ticks_since_full_scan: int = 0
    # The order sensor's: each dimension file's content that a dimension run has loaded or been
    # requested for (dimension_files_not_requested). None in a cursor written before it was kept.
    dimensions_requested: dict[str, str] | None = field(default_factory=dict)

    def hold_back(
        self, held: Sequence[LandingObject], listed: Sequence[LandingObject], listed_after: str | None
    ) -> None:
        """As if ``held`` (of the objects ``listed`` after ``listed_after``) had not been seen:
        the next tick's listing starts before them, and finds them again."""
        if not held:
            return
        first = min(item.key for item in held)
        for item in held:
            self.versions.pop(item.key, None)
        before = [item.key for item in listed if item.key < first]
        self.after = max(before) if before else listed_after

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor:
        return cls(**{"dimensions_requested": None, **json.loads(text)}) if text else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def changed_objects(objects: Iterable[LandingObject], cursor: LandingCursor) -> list[LandingObject]:
    """Objects whose content the cursor has not seen; records them in the cursor."""
    changed = []
    for item in objects:
        if cursor.versions.get(item.key) != item.version:
            cursor.versions[item.key] = item.version
            changed.append(item)
        if cursor.after is None or item.key > cursor.after:
            cursor.after = item.key
    return changed


def run_key(label: str, objects: Sequence[LandingObject]) -> str:
    """Stable for the same files as last written, so a repeated tick repeats no run.

    The time each was written is in it: a file put back to content it had before (a wrong
    re-delivery corrected) must load again, and Dagster launches no run whose key a run of the
    sensor already had."""
    content = "\n".join(sorted(f"{item.key}@{item.version}@{item.modified.isoformat()}" for item in objects))
    return f"{label}:{hashlib.sha256(content.encode()).hexdigest()[:16]}"


def _skipped(context: SensorEvaluationContext, item: LandingObject, why: str) -> None:
    context.log.warning(f"skipped {item.key}: {why}")


def _unusable(item: LandingObject) -> str | None:
    """Why no run can load the object; None when one can."""
    if item.size == 0:
        return "zero-byte object (still being written, or empty); waiting for content"
    if source_of(item.key) is None:
        return "the key matches no known source file pattern"
    return None


def _usable(context: SensorEvaluationContext, item: LandingObject) -> bool:
    """Whether a run can load the object; the reason in the tick's log when not."""
    if why := _unusable(item):
        _skipped(context, item, why)
        return False
    return True


def _loaded(instance: DagsterInstance, item: LandingObject) -> bool:
    source = source_of(item.key)
    return source is not None and loaded_since_changed(instance, BRONZE_OF[source].asset_key, [item])


def order_days(
    context: SensorEvaluationContext, objects: Iterable[LandingObject]
) -> dict[dt.date, list[LandingObject]]:
    """New order files grouped by landing day; the rest reported in the tick's log."""
    days: dict[dt.date, list[LandingObject]] = {}
    for item in objects:
        if not _usable(context, item):
            continue
        try:
            day = order_file_day(item.key)
        except InvalidOrderFileName as error:
            _skipped(context, item, str(error).removeprefix(f"{item.key}: "))
            continue
        if day is None:
            _skipped(context, item, "not an order file (orders_YYYY_MM_DD.csv)")
        else:
            days.setdefault(day, []).append(item)
    return days


def loaded_since_changed(
    instance: DagsterInstance, asset_key: AssetKey, files: Sequence[LandingObject], day: dt.date | None = None
) -> bool:
    """True when the bronze table (or its day) was materialised after the files last changed: a
    backfill, or a run launched before a daemon restart, already loaded them."""
    partitions = [day.isoformat()] if day else None
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=partitions), limit=1
    ).records
    return bool(records) and all(item.modified.timestamp() < records[0].timestamp for item in files)


def _run_days(tags: dict[str, str]) -> tuple[dt.date, dt.date] | None:
    """First and last day a daily orders run covers, from its partition or range tags."""
    if PARTITION_NAME_TAG in tags:
        day = dt.date.fromisoformat(tags[PARTITION_NAME_TAG])
        return day, day
    if keys := tagged_range(tags):
        return dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[1])
    return None


def requested_since_changed(
    instance: DagsterInstance, days: dict[dt.date, list[LandingObject]]
) -> set[dt.date]:
    """Days a run of the order sensor, created after their files last changed, already covers.

    Such a run was requested by a tick whose cursor was lost (the daemon stopped before saving
    it): its run key does not stop a replay that groups the days otherwise, this does. A
    re-execution or a retry of a sensor's run carries the sensor's tags too, but it goes on from
    where that run failed, on what its bronze step read then: it covers no newer file.
    """
    if not days:
        return set()
    since = min(item.modified for files in days.values() for item in files)
    records = instance.get_run_records(RunsFilter(tags={SENSOR_NAME_TAG: ORDER_SENSOR}, created_after=since))
    covered = set()
    for record in records:
        span = _run_days(record.dagster_run.tags)
        if span is None or PARENT_RUN_ID_TAG in record.dagster_run.tags:
            continue
        for day, files in days.items():
            if span[0] <= day <= span[1] and all(item.modified < record.create_timestamp for item in files):
                covered.add(day)
    return covered


def order_run_requests(days: dict[dt.date, list[LandingObject]]) -> list[RunRequest]:
    """One run per new day; a backlog of many days as one single-run range instead.

    Every run request names its job's assets. A run that does not records no targets, and
    declarative automation then takes what it wrote first (silver.orders) for news to what it
    wrote later (gold.sb_fact_orders): a tick between the two requested that again."""
    if len(days) <= MAX_DAY_RUNS_PER_TICK:
        return [
            RunRequest(
                run_key=run_key(f"orders {day}", files),
                partition_key=day.isoformat(),
                asset_selection=list(DAILY_ORDERS),
                tags={"atliqon/trigger": "new order files"},
            )
            for day, files in sorted(days.items())
        ]
    first, last = min(days).isoformat(), max(days).isoformat()
    files = [item for items in days.values() for item in items]
    return [
        RunRequest(
            run_key=run_key(f"orders {first}..{last}", files),
            asset_selection=list(DAILY_ORDERS),
            tags={**range_tags(first, last), "atliqon/trigger": f"{len(days)} new days of order files"},
        )
    ]


def build_landing_sensors(settings: Settings) -> list[SensorDefinition]:
    """The two landing sensors, running from the start where the settings switch automation on."""
    status = DefaultSensorStatus.RUNNING if settings.automation_on else DefaultSensorStatus.STOPPED
    daily = Partitions.for_settings(settings).daily

    @sensor(
        name=ORDER_SENSOR,
        job=daily_orders_job,
        minimum_interval_seconds=daemon_min_interval(settings.sensor_interval_seconds),
        default_status=status,
        description=(
            f"New or changed files under {ORDERS.prefix} request the daily orders chain for their "
            "landing day; gold.fact_orders and the view follow by declarative automation."
        ),
    )
    def order_files_sensor(context: SensorEvaluationContext, landing: LandingZoneResource):
        cursor = LandingCursor.parse(context.cursor)
        full_scan = cursor.after is None or cursor.ticks_since_full_scan + 1 >= FULL_SCAN_EVERY
        start_after = None if full_scan else cursor.after
        listed = list(landing.list(ORDERS.prefix, start_after=start_after))
        changed = changed_objects(listed, cursor)
        cursor.ticks_since_full_scan = 0 if full_scan else cursor.ticks_since_full_scan + 1
        days = order_days(context, changed)
        not_begun = []
        for day, why in [(day, no_day_partition(day, daily)) for day in days]:
            if why is None:
                continue
            for item in days.pop(day):
                _skipped(context, item, why)
                if not before_the_partitions(day, daily):  # looked at again until its day begins
                    not_begun.append(item)
        cursor.hold_back(not_begun, listed, start_after)
        days = {
            day: files
            for day, files in days.items()
            if not loaded_since_changed(context.instance, tables.BRONZE_ORDERS.asset_key, files, day)
        }
        for day in requested_since_changed(context.instance, days):
            del days[day]
        # On every tick, so that the cursor records each dimension file's content once requested.
        files_waiting = dimension_files_not_requested(context.instance, landing, cursor)
        if days and (waiting := dimensions_not_ready(context.instance) or files_waiting):
            return SkipReason(f"{len(days)} day(s) of order files waiting: {waiting}")
        return SensorResult(run_requests=order_run_requests(days), cursor=cursor.dump())

    @sensor(
        name="dimension_files_sensor",
        job=dimensions_job,
        minimum_interval_seconds=daemon_min_interval(settings.sensor_interval_seconds),
        default_status=status,
        description=(
            "A new or changed customers, products or gross_price file of SportsBar, or a dimension "
            "export or fact increment of Atliqon, requests a run of the dimension assets."
        ),
    )
    def dimension_files_sensor(context: SensorEvaluationContext, landing: LandingZoneResource):
        cursor = LandingCursor.parse(context.cursor)
        changed = [
            item
            for item in changed_objects(dimension_files(landing), cursor)
            if _usable(context, item) and not _loaded(context.instance, item)
        ]
        requests = (
            [RunRequest(run_key=run_key("dimensions", changed), asset_selection=list(DIMENSIONS))]
            if changed
            else []
        )
        return SensorResult(run_requests=requests, cursor=cursor.dump())

    return [order_files_sensor, dimension_files_sensor]
