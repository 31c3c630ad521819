"""Concurrent writers, on real Delta tables.

On one machine with a local lake: two backfills on one home at once (one `atliqon backfill`
process, one in this process) and, inside their range, the run of one day a sensor would launch:
all succeed, and the lake holds exactly the tables of one uninterrupted build (each table is
written by one writer at a time; the tables did not exist yet, which once gave every customer
twice). On S3, writers in one engine are arbitrated by Delta's own conflict detection: two
replaces of one day at once, one fails with Delta's concurrent-modification error and the day
holds the other's rows; two different days both land, or one fails as clearly.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance
from pyspark.sql import functions as F

from atliqon_platform.automation.backfill import backfill_everything
from atliqon_platform.definitions import build_definitions
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform_tests.commands import start_atliqon
from atliqon_platform_tests.tiny import day, lake_content, tiny_settings, when_writing

CONFLICT = re.compile(r"io\.delta\.exceptions\.Concurrent\w+Exception")


def test_two_backfills_and_a_day_run_at_once_on_one_home_give_the_tables_of_one_build(tiny_history, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(tiny_history.landing_after, home / "landing")
    settings = tiny_settings(home)
    log = tmp_path / "backfill.log"
    process = start_atliqon("backfill", home=home, log=log)
    outcomes = {}

    def second_backfill() -> None:
        instance = DagsterInstance.from_config(str(settings.dagster_home))
        outcomes["second backfill"] = backfill_everything(settings, instance=instance)

    when_writing(home / "lake", set(), process, log)  # its first write: no table exists yet
    second = threading.Thread(target=second_backfill)
    second.start()
    when_writing(home / "lake" / "bronze" / "orders", set(), process, log)  # a backfill's range begins
    job = build_definitions(settings).resolve_job_def("daily_orders_job")
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    outcomes["day run"] = job.execute_in_process(partition_key=day(1).isoformat(), instance=instance).success
    second.join()
    assert process.wait(timeout=900) == 0, log.read_text()[-3000:]
    assert outcomes == {"second backfill": True, "day run": True}
    now = lake_content(home)
    assert sorted(now) == sorted(tiny_history.after)
    for name, expected in tiny_history.after.items():
        assert now[name].equals(expected), f"{name} differs from one uninterrupted build"


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
            lake.overwrite(frame, "silver", "sample", replace=PartitionRange("day", day(offset), day(offset)))
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
    lake.overwrite(spark.createDataFrame(first, "day date, label string"), "silver", "sample", ["day"])
    outcome = at_once(spark, lake, writes, tmp_path)
    committed = sorted(name for name, result in outcome.items() if result == "committed")
    assert all(result == "committed" or CONFLICT.fullmatch(result) for result in outcome.values()), outcome
    if conflicts:
        assert len(committed) == 1, outcome  # the same day: the later commit cannot stand
    else:
        assert committed, outcome
    expected = {day(offset): "first" for offset in range(3)}
    expected |= {day(writes[name]): name for name in committed}
    rows = lake.read("silver", "sample").collect()
    assert sorted((row.day, row.label) for row in rows) == sorted(expected.items()), outcome
