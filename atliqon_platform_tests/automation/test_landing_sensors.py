"""The landing sensors' cursor rules, evaluated on a real Dagster instance over real folders and S3."""

import datetime as dt
import json
import time
from collections import Counter
from typing import ClassVar

import pytest
from dagster import (
    AssetMaterialization,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    SensorResult,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.execution.api import create_execution_plan
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARENT_RUN_ID_TAG,
    PARTITION_NAME_TAG,
    ROOT_RUN_ID_TAG,
    RUN_KEY_TAG,
    SENSOR_NAME_TAG,
)
from dagster._core.test_utils import freeze_time
from dagster._core.utils import make_new_run_id

from atliqon_platform.automation.landing_sensors import (
    DIMENSIONS_READ,
    FULL_SCAN_EVERY,
    ORDER_SENSOR,
    LandingCursor,
    build_landing_sensors,
)
from atliqon_platform.definitions import build_definitions
from atliqon_platform.partitions import Partitions
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.settings import load_settings
from atliqon_platform.sources import ORDERS, order_file_key

HEADER = b"order_id,order_placement_date,customer_id,product_id,order_qty\n"


def order_file(day: int, line: str = "A,2025/07/01,1,2,3") -> tuple[str, bytes]:
    return order_file_key(dt.date(2025, 7, day)), HEADER + line.encode() + b"\n"


class RecordingLanding(LandingZoneResource):
    """The real landing zone, remembering where each listing of the order files started (Dagster
    copies resources, so the record is kept on the class and cleared per test)."""

    starts: ClassVar[list[str | None]] = []

    def list(self, prefix="", start_after=None):
        if prefix == ORDERS.prefix:
            self.starts.append(start_after)
        yield from super().list(prefix, start_after)


@pytest.fixture(params=["local", "s3"])
def landing(request, tmp_path) -> LandingZoneResource:
    RecordingLanding.starts.clear()
    if request.param == "local":
        return RecordingLanding(uri=str(tmp_path / "landing"))
    bucket, endpoint = request.getfixturevalue("s3_bucket"), request.getfixturevalue("s3_endpoint")
    return RecordingLanding(
        uri=f"s3://{bucket}/landing", endpoint_url=endpoint, region_name="us-east-1", page_size=2
    )


def dimensions_written(instance, keys=DIMENSIONS_READ) -> None:
    for key in keys:
        instance.report_runless_asset_event(AssetMaterialization(asset_key=key))


@pytest.fixture
def instance():
    with instance_for_test() as instance:
        dimensions_written(instance)
        yield instance


SETTINGS = load_settings({"ATLIQON_HOME": "/tmp"})  # the definitions only: nothing is written there
SENSORS = {sensor.name: sensor for sensor in build_landing_sensors(SETTINGS)}


class Ticker:
    """Evaluates a sensor tick after tick, carrying its cursor as the daemon does."""

    def __init__(self, name: str, instance, landing) -> None:
        self.sensor, self.instance, self.landing, self.cursor = SENSORS[name], instance, landing, None

    def tick(self, cursor: str | None = None):
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor if cursor is None else cursor,
            resources={"landing": self.landing},
        )
        result = self.sensor(context)
        # The cursor the daemon saves: a SensorResult's, else one set by context.update_cursor().
        saved = getattr(result, "cursor", None) or (context.cursor if context.cursor_updated else None)
        if saved is not None:
            self.cursor = saved
        return result

    def partitions(self, result) -> list[str]:
        return [request.partition_key for request in result.run_requests]


def requested_days(requests: list[RunRequest]) -> list[dt.date]:
    """The days run requests cover: a request's partition, or every day of its range."""
    days = []
    for request in requests:
        if request.partition_key:
            days.append(dt.date.fromisoformat(request.partition_key))
            continue
        first = dt.date.fromisoformat(request.tags[ASSET_PARTITION_RANGE_START_TAG])
        last = dt.date.fromisoformat(request.tags[ASSET_PARTITION_RANGE_END_TAG])
        days += [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    return days


def single_day_keys(result) -> dict[str, str]:
    """Run key of each single-day request of a tick, by partition."""
    return {
        request.partition_key: request.run_key for request in result.run_requests if request.partition_key
    }


class Daemon:
    """Launches a tick's run requests as the sensor daemon does: a run per run key this sensor has
    not launched yet, tagged with the sensor, the key and the partition (a run not started: nothing
    executes, which is the window in which a restarted daemon replays a tick)."""

    def __init__(self, instance, sensor: str = ORDER_SENSOR, job: str = "daily_orders_job") -> None:
        self.instance, self.sensor, self.job = instance, sensor, job
        self.launched: list[RunRequest] = []

    def launch(self, result: SensorResult) -> None:
        for request in result.run_requests:
            tags = {SENSOR_NAME_TAG: self.sensor, RUN_KEY_TAG: request.run_key}
            if self.instance.get_runs(RunsFilter(tags=tags)):
                continue
            if request.partition_key:
                tags[PARTITION_NAME_TAG] = request.partition_key
            run = DagsterRun(
                job_name=self.job,
                run_id=make_new_run_id(),
                tags={**request.tags, **tags},
                status=DagsterRunStatus.NOT_STARTED,
            )
            self.instance.add_run(run)
            self.launched.append(request)

    def launches_by_day(self) -> dict[dt.date, int]:
        return dict(Counter(requested_days(self.launched)))


def test_files_landing_together_are_all_seen_and_each_day_runs_once(instance, landing):
    for day in (3, 1, 2):
        landing.write(*order_file(day))
    ticker = Ticker("order_files_sensor", instance, landing)
    result = ticker.tick()
    assert ticker.partitions(result) == ["2025-07-01", "2025-07-02", "2025-07-03"]
    assert len({request.run_key for request in result.run_requests}) == 3
    assert ticker.tick().run_requests == []


def test_incremental_listing_starts_after_the_cursor_and_pages(instance, landing):
    for day in range(1, 6):
        landing.write(*order_file(day))
    ticker = Ticker("order_files_sensor", instance, landing)
    assert len(ticker.tick().run_requests) == 5  # first tick: a full listing, in pages of 2 on S3
    landing.write(*order_file(6))
    assert ticker.partitions(ticker.tick()) == ["2025-07-06"]
    assert landing.starts == [None, order_file(5)[0]]


def test_late_file_for_an_old_day_is_picked_up_by_the_next_full_scan(instance, landing):
    for day in (1, 5):
        landing.write(*order_file(day))
    ticker = Ticker("order_files_sensor", instance, landing)
    ticker.tick()
    landing.write(*order_file(3))  # sorts before the cursor
    requested = []
    for _ in range(FULL_SCAN_EVERY):
        requested += ticker.partitions(ticker.tick())
    assert requested == ["2025-07-03"]
    assert landing.starts.count(None) == 2  # the first tick and one full scan, nothing more


def test_same_content_starts_nothing_new_content_reruns_the_day(instance, landing):
    landing.write(*order_file(1))
    ticker = Ticker("order_files_sensor", instance, landing)
    first = ticker.tick().run_requests[0]
    landing.write(*order_file(1))  # re-delivered, same bytes
    assert all(ticker.tick().run_requests == [] for _ in range(FULL_SCAN_EVERY))
    landing.write(*order_file(1, "A,2025/07/01,1,2,4"))
    rerun = [request for _ in range(FULL_SCAN_EVERY) for request in ticker.tick().run_requests]
    assert [request.partition_key for request in rerun] == ["2025-07-01"]
    assert rerun[0].run_key != first.run_key


PRODUCTS = ("products/products.csv", b"product_id,product_name,category\n9,New,Snacks\n")
PUT_BACK = {
    "an order file": (ORDER_SENSOR, "daily_orders_job", order_file(1), order_file(1, "A,2025/07/01,1,2,4")),
    "a dimension file": (
        "dimension_files_sensor",
        "dimensions_job",
        PRODUCTS,
        (PRODUCTS[0], PRODUCTS[1].replace(b"New", b"Renamed")),
    ),
}


@pytest.mark.parametrize(("sensor", "job", "first", "second"), PUT_BACK.values(), ids=PUT_BACK.keys())
def test_a_file_put_back_to_content_it_had_before_loads_again(instance, landing, sensor, job, first, second):
    """A wrong re-delivery, corrected by sending the file of before again: the correction loads
    too, although Dagster launches no run whose key a run of the sensor had, whatever its end."""
    daemon, ticker = Daemon(instance, sensor, job), Ticker(sensor, instance, landing)
    for delivery in (first, second, first):
        time.sleep(1.1)  # S3 keeps the time an object was written to the second
        landing.write(*delivery)
        for _ in range(FULL_SCAN_EVERY):  # a file sorting before the cursor: the full scan sees it
            daemon.launch(ticker.tick())
    assert len(daemon.launched) == 3, [request.run_key for request in daemon.launched]


def test_a_file_fixed_after_its_run_failed_loads_again_though_the_run_was_re_executed(instance, landing):
    """The README's way out of bad data: fix the file. A re-execution of the failed run from the UI
    (after the fix, or in the same minute) copies the sensor's tags, and goes on from where the
    run failed, on the rows bronze read then: it must not stand for a load of the fixed file."""
    daemon, ticker = Daemon(instance), Ticker(ORDER_SENSOR, instance, landing)
    landing.write(*order_file(1, "A,2025/07/01,1,2,oops"))
    daemon.launch(ticker.tick())
    [failed] = instance.get_runs()
    time.sleep(1.1)  # S3 keeps the time an object was written to the second
    landing.write(*order_file(1, "A,2025/07/01,1,2,4"))  # fixed
    time.sleep(1.1)
    re_executed = {**failed.tags, PARENT_RUN_ID_TAG: failed.run_id, ROOT_RUN_ID_TAG: failed.run_id}
    instance.add_run(
        DagsterRun(
            job_name=failed.job_name,
            run_id=make_new_run_id(),
            tags=re_executed,
            status=DagsterRunStatus.FAILURE,
        )
    )
    for _ in range(FULL_SCAN_EVERY):
        daemon.launch(ticker.tick())
    assert daemon.launches_by_day() == {dt.date(2025, 7, 1): 2}


def test_a_file_for_indias_new_day_runs_while_utc_is_a_day_behind_and_a_later_one_waits(
    instance, landing, capfd
):
    """The days are India's: at 01:30 there on 2 July, UTC is still on 1 July, and a file for
    2 July has its partition (before, the whole tick failed on the unknown partition). A file for
    3 July waits for its day and is not forgotten meanwhile."""
    india_after_midnight = dt.datetime(2025, 7, 1, 20, 0, tzinfo=dt.UTC)
    daily = Partitions.for_settings(SETTINGS).daily
    landing.write(*order_file(2))
    landing.write(*order_file(3))
    ticker = Ticker(ORDER_SENSOR, instance, landing)
    with freeze_time(india_after_midnight):
        requested = ticker.partitions(ticker.tick())
        assert requested == ["2025-07-02"]
        assert all(daily.has_partition_key(key) for key in requested)
        assert ticker.tick().run_requests == []
    assert "orders_2025_07_03.csv: 2025-07-03 has not begun in Asia/Kolkata" in capfd.readouterr().err
    # The waiting file costs no full listing: each tick lists from the day before it.
    assert landing.starts == [None, order_file(2)[0]]
    with freeze_time(india_after_midnight + dt.timedelta(days=1)):
        assert ticker.partitions(ticker.tick()) == ["2025-07-03"]
    assert landing.starts[-1] == order_file(2)[0]
    assert ticker.tick().run_requests == [] and landing.starts[-1] == order_file(3)[0]


def test_a_file_before_the_first_day_is_named_once_and_not_waited_for(instance, landing, capfd):
    """It can never load (its day has no partition, ATLIQON_FIRST_ORDER_DAY being later): the
    tick names it and why, as `atliqon backfill` does, and the listing does not keep it in view."""
    june = order_file_key(dt.date(2025, 6, 30))
    landing.write(june, order_file(1)[1])
    landing.write(*order_file(1))
    ticker = Ticker(ORDER_SENSOR, instance, landing)
    assert ticker.partitions(ticker.tick()) == ["2025-07-01"]
    assert (
        f"{june}: 2025-06-30 is before the daily partitions, which start on 2025-07-01 "
        "(ATLIQON_FIRST_ORDER_DAY)" in capfd.readouterr().err
    )
    assert ticker.tick().run_requests == [] and landing.starts[-1] == order_file(1)[0]
    assert june not in capfd.readouterr().err


REPLAYS = {
    "single days": ([2], [3]),
    "a range that grows by a day": (list(range(2, 10)), [10]),
    "single days that become a range": (list(range(2, 8)), [8, 9]),
}
"""Days landed for the tick whose cursor is lost, then days landed before the replayed tick: in
one scenario every tick requests single days, in the others the 7-day limit turns them into a
range (MAX_DAY_RUNS_PER_TICK is 7)."""


@pytest.mark.parametrize("launched", [True, False], ids=["runs launched", "nothing launched"])
@pytest.mark.parametrize(("lost", "later"), REPLAYS.values(), ids=REPLAYS.keys())
def test_a_restarted_daemon_launches_nothing_twice_and_loses_nothing(
    instance, landing, lost, later, launched
):
    """The daemon stops after a tick requested (and maybe launched) its runs but before it saved the
    cursor: the next tick replays from the cursor before, incrementally, and each day runs once."""
    daemon, ticker = Daemon(instance), Ticker("order_files_sensor", instance, landing)
    landing.write(*order_file(1))
    daemon.launch(ticker.tick())
    kept = ticker.cursor
    for day in lost:
        landing.write(*order_file(day))
    lost_tick = ticker.tick()
    if launched:
        daemon.launch(lost_tick)
    for day in later:
        landing.write(*order_file(day))
    replayed = ticker.tick(cursor=kept)
    daemon.launch(replayed)
    assert landing.starts[-1] == order_file(1)[0], "the replay did not list after the kept cursor"
    assert LandingCursor.parse(ticker.cursor).ticks_since_full_scan == 1
    replayed_days = set(requested_days(replayed.run_requests))
    assert {dt.date(2025, 7, day) for day in later} <= replayed_days
    if not launched:  # nothing of the lost tick ran: the replay requests all of it again
        assert replayed_days == {dt.date(2025, 7, day) for day in (*lost, *later)}
    launches = daemon.launches_by_day()
    assert launches == {dt.date(2025, 7, day): 1 for day in (1, *lost, *later)}, f"runs per day: {launches}"
    lost_keys, replayed_keys = single_day_keys(lost_tick), single_day_keys(replayed)
    again = lost_keys.keys() & replayed_keys.keys()  # the single days, when nothing was launched
    assert {day: replayed_keys[day] for day in again} == {day: lost_keys[day] for day in again}, (
        "a day requested again got a new run key"
    )
    assert ticker.tick().run_requests == []


def test_bad_keys_are_skipped_with_a_warning_and_the_sensor_keeps_ticking(instance, landing, capfd):
    landing.write(*order_file(1))
    landing.write("orders/landing/orders_2025_02_30.csv", HEADER)
    landing.write("orders/landing/notes.txt", b"hello")
    landing.write("orders/landing/empty/orders_2025_07_02.csv", b"x")  # inside a sub-folder
    landing.write(order_file(3)[0], b"")  # zero bytes: still being written
    ticker = Ticker("order_files_sensor", instance, landing)
    result = ticker.tick()
    assert ticker.partitions(result) == ["2025-07-01"]
    log = capfd.readouterr().err  # the sensor's context.log: the tick's log in the daemon
    assert "orders_2025_02_30.csv: the date in the file name is not a valid date" in log
    assert "notes.txt: the key matches no known source file pattern" in log
    assert "empty/orders_2025_07_02.csv: the key matches no known source file pattern" in log
    assert "orders_2025_07_03.csv: zero-byte object" in log
    landing.write(*order_file(3))  # the upload completes
    assert [r.partition_key for _ in range(FULL_SCAN_EVERY) for r in ticker.tick().run_requests] == [
        "2025-07-03"
    ]


def test_order_files_wait_for_the_dimensions_then_run(landing):
    landing.write(*order_file(1))
    with instance_for_test() as empty_instance:
        ticker = Ticker("order_files_sensor", empty_instance, landing)
        result = ticker.tick()
        assert "silver/products is not materialised yet" in result.skip_message
        dimensions_written(empty_instance, DIMENSIONS_READ[:1])
        # The day's blocking check reads the gold dims: they come later in the dimension run.
        assert "gold/dim_customers is not materialised yet" in ticker.tick().skip_message
        dimensions_written(empty_instance, DIMENSIONS_READ[1:])
        assert ticker.partitions(ticker.tick()) == ["2025-07-01"]


def test_order_files_wait_for_the_dimension_run_of_files_that_landed_with_them(instance, landing):
    """New products land with the day that first sells them. Run before the dimension run, the
    day would quarantine their lines as of unknown products; run while it is queued or running,
    its facts would fail codes_resolve against the dims of before and hold their month back."""
    products = ("products/products.csv", b"product_id,product_name,category\n9,New,Snacks\n")
    landing.write(*products)
    landing.write(*order_file(1))
    ticker = Ticker("order_files_sensor", instance, landing)
    waiting = ticker.tick().skip_message  # the order sensor ticks first on the daemon's loop
    assert "no dimension run is requested yet for products/products.csv, which changed" in waiting, waiting
    assert len(Ticker("dimension_files_sensor", instance, landing).tick().run_requests) == 1
    job = build_definitions(SETTINGS).resolve_job_def("dimensions_job")  # the run the daemon creates
    dimension_run = instance.create_run_for_job(job_def=job, execution_plan=create_execution_plan(job))
    waiting = ticker.tick().skip_message
    assert f"is being written by run {dimension_run.run_id}" in waiting, waiting
    instance.report_run_failed(dimension_run)  # ended: what it wrote, if anything, is what there is
    assert ticker.partitions(ticker.tick()) == ["2025-07-01"]
    # The same bytes again, which the dimension sensor ignores: nothing to wait for.
    landing.write(*products)
    landing.write(*order_file(2))
    assert ticker.partitions(ticker.tick()) == ["2025-07-02"]


def test_up_to_seven_new_days_are_single_runs_and_a_longer_backlog_one_range(instance, landing):
    for day in range(1, 8):
        landing.write(*order_file(day))
    seven = Ticker("order_files_sensor", instance, landing).tick()
    assert requested_days(seven.run_requests) == [dt.date(2025, 7, day) for day in range(1, 8)]
    assert all(request.partition_key for request in seven.run_requests)
    landing.write(*order_file(8))
    [request] = Ticker("order_files_sensor", instance, landing).tick().run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2025-07-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-07-08"


def test_changed_dimension_files_request_one_dimension_run(instance, landing):
    landing.write("customers/customers.csv", b"customer_id,customer_name,city\n1,A,B\n")
    landing.write("parent/full_load/dim_customers.csv", b"x\n")
    ticker = Ticker("dimension_files_sensor", instance, landing)
    assert len(ticker.tick().run_requests) == 1
    assert ticker.tick().run_requests == []
    landing.write("parent/incremental_load/fact_orders_2025_12_01.csv", b"x\n")
    assert len(ticker.tick().run_requests) == 1
    cursor = LandingCursor.parse(ticker.cursor)
    assert "parent/incremental_load/fact_orders_2025_12_01.csv" in cursor.versions


def test_an_order_cursor_from_before_the_dimension_record_waits_for_no_dimension_file(instance, landing):
    """A cursor saved by an earlier version has no record of the dimension files: it takes them as
    they are, as that version did, rather than wait for a run the dimension sensor will not request."""
    landing.write("products/products.csv", b"product_id,product_name,category\n9,New,Snacks\n")
    landing.write(*order_file(1))
    earlier = json.dumps({"after": None, "ticks_since_full_scan": 0, "versions": {}})
    ticker = Ticker("order_files_sensor", instance, landing)
    assert ticker.partitions(ticker.tick(earlier)) == ["2025-07-01"]
    assert "products/products.csv" in LandingCursor.parse(ticker.cursor).dimensions_requested
