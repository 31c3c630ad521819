"""A tiny home: the synthetic data of both companies at the smallest size that runs every asset
and check, for tests whose point is behaviour (bad files, crashes, concurrent runs), not scale;
and what those tests look at in its lake: tables, their content, the data files of a write."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
from dagster import DagsterInstance

from atliqon_platform.backfill import backfill_everything, load_days
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.synthetic import Scale, generate, orders_file
from atliqon_platform.settings import Settings
from atliqon_platform.sources import order_file_key
from atliqon_platform_tests.commands import start_module
from atliqon_platform_tests.instances import forked_instance, home_settings, platform_instance
from atliqon_platform_tests.real_platform import content

TINY = Scale(days=2, customers=6, products=6, lines_per_day=12, parent_customers=2, parent_products=3)


def seed_tiny(home: Path, scale: Scale = TINY) -> LandingZoneResource:
    """The landing zone of ``home`` with the tiny synthetic delivery of ``scale``."""
    landing = LandingZoneResource(uri=home_settings(home).landing_uri)
    generate(landing.write, scale)
    return landing


def day(offset: int) -> dt.date:
    return TINY.start + dt.timedelta(days=offset)


def lake_tables(home: Path) -> list[str]:
    """Every Delta table of the lake, as ``layer/name``."""
    logs = home.glob("lake/*/*/_delta_log")
    return sorted(path.parent.relative_to(home / "lake").as_posix() for path in logs)


def lake_content(home: Path) -> dict[str, pa.Table]:
    """Every table's rows in a fixed order, without the ingestion time."""
    return {table: content(home, table) for table in lake_tables(home)}


@dataclass(frozen=True)
class TinyHistory:
    """A home built with two days, and every table's content once a third day is built too."""

    before: Path
    after: dict[str, pa.Table]
    landing_after: Path  # the landing zone with the third day


def copy_home(home: Path, to: Path, with_lake: bool = True) -> Path:
    """The landing zone (and lake) of ``home`` in a new home, without its Dagster instance."""
    shutil.copytree(home / "landing", to / "landing")
    if with_lake:
        shutil.copytree(home / "lake", to / "lake")
    return to


@contextmanager
def forked_home(built: dict, to: Path) -> Iterator[tuple[Settings, DagsterInstance]]:
    """A copy of a shared build's home (``home``), and a fork of the instance that built it
    (``instance``): a test goes on from the build without changing it for others."""
    settings = home_settings(copy_home(built["home"], to / "home"))
    with forked_instance(built["instance"], to / "instance") as instance:
        yield settings, instance


def tiny_order_file(date: dt.date) -> tuple[str, bytes]:
    """A later day's order file, as ``seed_tiny``'s generator (its default seed) writes its days."""
    return order_file_key(date), orders_file(TINY, 7, date)


def deliver_third_day(home: Path) -> None:
    landing = LandingZoneResource(uri=home_settings(home).landing_uri)
    landing.write(*tiny_order_file(day(2)))


def load(home: Path, days: list[dt.date]) -> None:
    """What a new day's sensor run and the automation do: the days, their month, the view."""
    with platform_instance() as instance:
        assert load_days(home_settings(home), days, instance=instance)


def build_tiny_history(folder: Path) -> TinyHistory:
    """Two days backfilled; then, in a copy, the third day loaded as a sensor would load it."""
    before = folder / "before"
    seed_tiny(before)
    with platform_instance() as instance:
        assert backfill_everything(home_settings(before), instance=instance)
    after = copy_home(before, folder / "after")
    deliver_third_day(after)
    load(after, [day(2)])
    return TinyHistory(before, lake_content(after), after / "landing")


DAILY_CHAIN = ("bronze/orders", "silver/orders", "silver/orders_rejected", "gold/sb_fact_orders")


def start_daily_chain(home: Path, first: dt.date, last: dt.date, log: Path) -> subprocess.Popen:
    """The README's command for a range of days, in its own process: one run, bronze to the daily
    facts, on the Dagster instance of ``home``."""
    instance = home / "dagster"
    instance.mkdir(exist_ok=True)
    command = [
        "asset",
        "materialize",
        "-m",
        "atliqon_platform.definitions",
        "--select",
        ",".join(DAILY_CHAIN),
    ]
    command += ["--partition-range", f"{first.isoformat()}...{last.isoformat()}"]
    return start_module("dagster", *command, home=home, log=log, DAGSTER_HOME=str(instance))


def data_files(table: Path) -> set[Path]:
    """The Parquet files of a table's folder, committed or not."""
    return {path for path in table.rglob("*.parquet") if "_delta_log" not in path.parts}


def committed_files(table: Path) -> set[Path]:
    """Every data file a commit of the table ever added."""
    added = set()
    for commit in (table / "_delta_log").glob("*.json"):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                added.add(table / unquote(action["add"]["path"]))
    return added


def when_writing(
    table: Path, existing: set[Path], process: subprocess.Popen, log: Path, timeout: float = 900
) -> set[Path]:
    """Wait until a data file of ``table`` appears that is not in ``existing`` (a write under way);
    those files. Fails if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = data_files(table) - existing
        if new:
            return new
        if process.poll() is not None:
            raise AssertionError(f"ended ({process.returncode}) before writing {table}:\n{log.read_text()}")
        time.sleep(0.01)
    raise AssertionError(f"nothing written to {table} within {timeout} s:\n{log.read_text()[-3000:]}")


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the process and everything it started (its JVM), as a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
