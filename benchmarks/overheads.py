"""Overheads, one line each, so that the next optimisation targets the largest: Spark session
start, Dagster run start, per-asset and per-partition overhead (with Dagster's own SQLite event
log beside the platform's), bronze's Arrow hand-over to Spark, and delta-spark's write rate and
fixed cost per commit.

    python -m benchmarks.overheads [--runs 3] [--rows 1000000]
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
from dagster import (
    AssetsDefinition,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    define_asset_job,
)

from atliqon_platform.cli import instance_config
from atliqon_platform.partitions import range_tags
from atliqon_platform.tables import Table
from benchmarks.harness import Report, arguments, new_home, timed, work_folder

SPARK_START = textwrap.dedent(
    """
    import os, sys, time
    from atliqon_platform.resources.spark import SparkSessionResource
    from atliqon_platform.settings import load_settings
    settings = load_settings({**os.environ, "ATLIQON_HOME": sys.argv[1], "ATLIQON_SPARK_MASTER": "local[2]"})
    started = time.perf_counter()
    SparkSessionResource.for_settings(settings).spark_session.range(1).count()
    print(time.perf_counter() - started)
    """
)
DAYS = DailyPartitionsDefinition(start_date="2025-01-01", end_date="2026-01-01")
STORAGES = {"platform's pooled SQLite event log": True, "Dagster's default SQLite event log": False}


def spark_start(home: Path) -> tuple[float, float]:
    """(session start to first result, whole new process) in seconds."""
    seconds, done = timed(
        lambda: subprocess.run(
            [sys.executable, "-c", SPARK_START, str(home)], capture_output=True, text=True, check=True
        )
    )
    return float(done.stdout.strip().splitlines()[-1]), seconds


def noop_assets(count: int, partitions: DailyPartitionsDefinition | None = None) -> list[AssetsDefinition]:
    def make(index: int) -> AssetsDefinition:
        @asset(
            name=f"step_{index}",
            partitions_def=partitions,
            backfill_policy=BackfillPolicy.single_run() if partitions else None,
            deps=[f"step_{index - 1}"] if index else [],
        )
        def _noop() -> None:
            return None

        return _noop

    return [make(index) for index in range(count)]


def instance(folder: Path, pooled: bool) -> DagsterInstance:
    folder.mkdir(parents=True, exist_ok=True)
    pooled_config = instance_config(folder)
    (folder / "dagster.yaml").write_text(pooled_config if pooled else "telemetry:\n  enabled: false\n")
    return DagsterInstance.from_config(str(folder))


def run_seconds(assets: list[AssetsDefinition], dagster: DagsterInstance, **run: object) -> float:
    job = Definitions(assets=assets, jobs=[define_asset_job("job")]).resolve_job_def("job")
    return timed(lambda: job.execute_in_process(instance=dagster, **run))[0]


def measure_dagster(root: Path, partitions: int, report: Report) -> None:
    first = dt.date(2025, 1, 1)
    last = first + dt.timedelta(days=partitions - 1)
    for storage, pooled in STORAGES.items():
        with instance(root / f"dagster-{pooled}", pooled) as dagster:
            one = run_seconds(noop_assets(1), dagster)
            twenty = run_seconds(noop_assets(21), dagster)
            report.add(f"Dagster run start and finish, one no-op asset ({storage})", one)
            report.add(f"Dagster per-asset overhead ({storage})", (twenty - one) / 20 * 1000, "ms")
            daily = noop_assets(1, DAYS)
            single_day = run_seconds(daily, dagster, partition_key=first.isoformat())
            several = run_seconds(daily, dagster, tags=range_tags(first.isoformat(), last.isoformat()))
            report.add(
                f"Dagster per-partition overhead of a range run ({storage})",
                (several - single_day) / (partitions - 1) * 1000,
                "ms",
            )


def order_like(rows: int) -> pa.Table:
    numbers = pa.array(range(rows), pa.int64())
    text = pa.compute.cast(numbers, pa.string())
    return pa.table(
        {"order_id": text, "customer_id": text, "product_id": text, "order_qty": numbers, "line": numbers}
    )


RAW_ORDERS = Table("raw", "orders", "Order-like rows, written whole.")
ONE_ROW = Table("raw", "one_row", "One row, written whole: a commit's fixed cost.")


def measure_delta(root: Path, rows: int, report: Report) -> None:
    """After one untimed round, so that the JVM's first-use costs are not counted."""
    home = new_home(root, "delta")
    spark = home.lake.spark.spark_session
    table = order_like(rows)
    for timed_round in (False, True):
        create, frame = timed(lambda: spark.createDataFrame(table).cache())
        frame.count()
        write, _ = timed(lambda frame=frame: home.lake.overwrite(frame, RAW_ORDERS))
        commit, _ = timed(lambda frame=frame: home.lake.overwrite(frame.limit(1), ONE_ROW))
        frame.unpersist()
        if timed_round:
            report.add(
                "Arrow -> Spark (createDataFrame, bronze's hand-over), rows per second",
                rows / create,
                "rows/s",
            )
            report.add("Spark -> Delta (delta-spark write), rows per second", rows / write, "rows/s")
            report.add("one-row Delta overwrite (fixed cost of a commit)", commit)


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the Delta write")
    parser.add_argument("--partitions", type=int, default=365, help="days of the range run (2 to 365)")
    args = parser.parse_args(argv)
    report = Report("Overheads")
    with work_folder(args.work) as root:
        for run in range(args.runs):
            session, process = spark_start(root / f"spark-{run}")
            report.add("Spark session start to first result (local[2])", session)
            report.add("new Python process with imports and Spark start", process)
            measure_dagster(root / f"run-{run}", args.partitions, report)
            measure_delta(root / f"run-{run}", args.rows, report)
        report.print()
    return report


if __name__ == "__main__":
    main()
