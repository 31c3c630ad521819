"""Concurrent writers, on real Delta tables.

On one machine with a local lake, writers in two processes take turns per table (the storage
layer's lock): a range run and the run of a day inside it both succeed and every table is
written as by one load. On S3, writers in one engine are arbitrated by Delta's own conflict
detection: two replaces of one day at once, one fails with Delta's concurrent-modification error
and the day holds the other's rows; two different days both land, or one fails as clearly.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.tables import Table
from atliqon_platform_tests.instances import home_settings, platform_instance, run_as_launched
from atliqon_platform_tests.real_platform import content
from atliqon_platform_tests.tiny import (
    DAILY_CHAIN,
    copy_home,
    day,
    deliver_third_day,
    start_daily_chain,
    when_writing,
)

SAMPLE = Table("silver", "sample", "A day's row per writer, laid out by month.", partition_column="day")
CONFLICT = re.compile(r"io\.delta\.exceptions\.Concurrent\w+Exception")


def test_a_range_run_and_a_day_run_inside_it_in_two_processes_write_each_table_once(tiny_history, tmp_path):
    """The run of three days in its own process, and, from its first write, the run of the middle
    day a sensor would launch, in this one: the daily tables do not exist yet, so both would create
    them (two overwrites of a table that did not exist once both committed, and doubled a table)."""
    home = copy_home(tiny_history.before, tmp_path / "home")
    for table in DAILY_CHAIN:
        shutil.rmtree(home / "lake" / table)
    deliver_third_day(home)
    log = tmp_path / "range.log"
    process = start_daily_chain(home, day(0), day(2), log)
    when_writing(home / "lake" / "bronze" / "orders", set(), process, log)
    job = build_definitions(home_settings(home)).resolve_job_def("daily_orders_job")
    with platform_instance() as instance:
        assert run_as_launched(job, instance, day(1).isoformat()).success
    assert process.wait(timeout=900) == 0, log.read_text()[-3000:]
    for table in DAILY_CHAIN:
        assert content(home, table).equals(tiny_history.after[table]), f"{table} differs from one load"


def meeting(mine: Path, other: Path):
    """Identity on a column, once the other writer's job is running too: both transactions have
    read the table before either commits, so Delta, not timing, decides."""

    def met(value: str) -> str:
        mine.touch()
        deadline = time.monotonic() + 120
        while not other.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return value

    return F.udf(met, "string").asNondeterministic()


def at_once(spark, lake: DeltaLakeResource, writes: dict[str, int], folder: Path) -> dict[str, str]:
    """Replace each writer's day with a row labelled by the writer, all at once; what became of each."""
    outcome = {}
    markers = {name: folder / f"{name}.started" for name in writes}

    def write(name: str, offset: int) -> None:
        (other,) = (marker for writer, marker in markers.items() if writer != name)
        frame = spark.createDataFrame([(day(offset), name)], "day date, label string").repartition(1)
        frame = frame.withColumn("label", meeting(markers[name], other)("label"))
        try:
            lake.overwrite(frame, SAMPLE, replace=PartitionRange("day", day(offset), day(offset)))
            outcome[name] = "committed"
        except Exception as error:  # noqa: BLE001 - the test says which error it was
            found = CONFLICT.search(str(error))
            outcome[name] = found.group(0) if found else f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=write, args=item) for item in writes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.parametrize(("writes", "conflicts"), [({"a": 1, "b": 1}, True), ({"a": 0, "b": 2}, False)])
def test_two_writers_of_one_table_on_s3_are_arbitrated_by_deltas_conflict_detection(
    spark, spark_resource, s3_bucket, tmp_path, monkeypatch, writes, conflicts
):
    # The meeting point runs in Spark's Python workers: this interpreter has pyspark's own imports.
    monkeypatch.setattr(spark.sparkContext, "pythonExec", sys.executable)
    lake = DeltaLakeResource(lake_uri=f"s3://{s3_bucket}/lake", spark=spark_resource)
    first = [(day(offset), "first") for offset in range(3)]
    lake.overwrite(spark.createDataFrame(first, "day date, label string"), SAMPLE)
    outcome = at_once(spark, lake, writes, tmp_path)
    committed = sorted(name for name, result in outcome.items() if result == "committed")
    assert all(result == "committed" or CONFLICT.fullmatch(result) for result in outcome.values()), outcome
    if conflicts:
        assert len(committed) == 1, outcome  # the same day: the later commit cannot stand
    else:
        assert committed, outcome
    expected = {day(offset): "first" for offset in range(3)}
    expected |= {day(writes[name]): name for name in committed}
    rows = lake.read(SAMPLE).collect()
    assert sorted((row.day, row.label) for row in rows) == sorted(expected.items()), outcome
