"""A new file landing while `atliqon up` runs: seconds until its day is in gold.fact_orders, and
until the view (and so the dashboard) shows it, with the timeline of the runs in between.

The home holds the real dataset up to 2025-07-02, loaded by `atliqon backfill`; then `atliqon up`
serves it as a user starts it (default sensor interval, the warm Spark engine). Each run drops
the next real day's order file and waits until gold has it and every run has ended. Peak memory
is that of `atliqon up` and everything it started (Dagster's services, the runs, the engine).

    python -m benchmarks.landing [--runs 3] [--dataset ../shared/data/fmcg]
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from deltalake import DeltaTable

from atliqon_platform.lifecycle import stop_group
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.settings import load_settings, running_engine
from atliqon_platform.sources import order_file_key
from atliqon_platform.spark_connect_server import free_port
from benchmarks.harness import SHARED_DATASET, PeakMemory, Report, arguments, work_folder

HISTORY_UNTIL = dt.date(2025, 7, 2)
TO_FACTS = "file landed -> its month in gold.fact_orders"
TO_VIEW = "file landed -> gold.vw_fact_orders_enriched (the dashboard)"
MEMORY = "peak memory of atliqon up and all it started"
IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING]
IN_FLIGHT += [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def main(argv: list[str] | None = None) -> Report:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=SHARED_DATASET)
    args = parser.parse_args(argv)
    report = Report("A new file, landed while atliqon up runs, to gold and the dashboard")
    with work_folder(args.work) as root:
        home = root / "landing-home"
        environment = {**os.environ, "ATLIQON_HOME": str(home), "ATLIQON_ENV": "local"}
        for command in (
            ("seed", "--from", str(args.dataset), "--until", HISTORY_UNTIL.isoformat()),
            ("backfill",),
        ):
            atliqon(command, environment)
        log = root / "up.log"
        with PeakMemory() as memory, log.open("wb") as output:
            up = subprocess.Popen(
                [sys.executable, "-m", "atliqon_platform.cli", "up", "--port", str(free_port())],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_until(lambda: running_engine(home / "dagster") is not None, up, log, "the warm engine")
                settle(home, up, log)
                for run in range(args.runs):
                    day = HISTORY_UNTIL + dt.timedelta(days=run + 1)
                    to_facts, to_view, landed_at = land(args.dataset, home, day, up, log)
                    report.add(TO_FACTS, to_facts)
                    report.add(TO_VIEW, to_view)
                    print(f"\n{day}: fact_orders after {to_facts:.1f} s, the view after {to_view:.1f} s")
                    for line in timeline(home, landed_at):
                        print(line)
            finally:
                stop(up)
        report.add(MEMORY, memory.peak_bytes / 2**30, "GiB")
    report.print(notes=["targets: gold.fact_orders <= 20 s, the view <= 30 s"])
    return report


def atliqon(command: tuple[str, ...], environment: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "atliqon_platform.cli", *command],
        env=environment,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"atliqon {command[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def wait_until(condition: Callable[[], bool], up: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + 600
    while not condition():
        if up.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)


def idle(home: Path) -> bool:
    """No run queued or in progress."""
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        return not instance.get_runs_count(RunsFilter(statuses=IN_FLIGHT))


def settle(home: Path, up: subprocess.Popen, log: Path) -> None:
    """Idle through two sensor intervals: the daemon's first ticks find nothing left to run."""
    interval = load_settings({"ATLIQON_HOME": str(home)}).sensor_interval_seconds
    for _ in range(2):
        wait_until(lambda: idle(home), up, log, "the daemon to settle")
        time.sleep(interval + 1)
    wait_until(lambda: idle(home), up, log, "the daemon to settle")


def version(home: Path, table: str) -> int:
    return DeltaTable(str(home / "lake" / "gold" / table)).version()


def land(
    dataset: Path, home: Path, day: dt.date, up: subprocess.Popen, log: Path
) -> tuple[float, float, float]:
    """Drop ``day``'s real order file; seconds until gold.fact_orders and the view have changed."""
    facts, view = version(home, "fact_orders"), version(home, "vw_fact_orders_enriched")
    key = order_file_key(day)
    data = (
        dataset / "2_child_company" / "full_load" / "orders" / "landing" / key.rsplit("/", 1)[1]
    ).read_bytes()
    landed_at, started = time.time(), time.perf_counter()
    LandingZoneResource(uri=str(home / "landing")).write(key, data)
    wait_until(lambda: version(home, "fact_orders") > facts, up, log, f"{day} in gold.fact_orders")
    to_facts = time.perf_counter() - started
    wait_until(lambda: version(home, "vw_fact_orders_enriched") > view, up, log, f"{day} in the view")
    to_view = time.perf_counter() - started
    wait_until(lambda: idle(home), up, log, "the runs to end")
    return to_facts, to_view, landed_at


def timeline(home: Path, since: float) -> list[str]:
    """Where the latency went: waiting for a tick or a slot, then each run from start to end."""
    lines = []
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= since]
        for record in sorted(records, key=lambda r: r.create_timestamp):
            run, created = record.dagster_run, record.create_timestamp.timestamp() - since
            started, ended = (
                f"{t - since:5.1f} s" if t else "  …  " for t in (record.start_time, record.end_time)
            )
            partition = run.tags.get("dagster/partition", "")
            timing = f"requested +{created:5.1f} s, ran {started} to {ended}, {run.status.value.lower()}"
            lines.append(f"  {run.job_name:<24} {partition:<10} {timing}")
    return lines


def stop(up: subprocess.Popen) -> None:
    """Ctrl-C, as a user stops it."""
    stop_group(up.pid, grace=60, signum=signal.SIGINT)
    up.wait()


if __name__ == "__main__":
    main()
