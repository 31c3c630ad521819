"""What every benchmark shares: fresh homes, the warm Spark session, timers, memory, the report."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil
from dagster import DagsterEventType, DagsterInstance

from atliqon_platform.backfill import backfill_everything
from atliqon_platform.cli import prepare_dagster_home
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import Settings, load_settings

T = TypeVar("T")
SHARED_DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fmcg"


def arguments(description: str, runs: int = 3) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs, help=f"repetitions per figure (default {runs})")
    parser.add_argument("--work", type=Path, help="folder for the homes (default: a temporary folder)")
    return parser


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start"
    )


@contextmanager
def work_folder(path: Path | None) -> Iterator[Path]:
    """Homes are made under here and removed at the end (a given --work folder is kept)."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="atliqon-bench-") as folder:
        yield Path(folder)


@dataclass
class Home:
    """One ATLIQON_HOME: its settings, landing zone, lake and Dagster instance."""

    settings: Settings
    landing: LandingZoneResource
    lake: DeltaLakeResource

    def instance(self) -> DagsterInstance:
        """The instance `atliqon backfill` would use, with the same dagster.yaml."""
        return DagsterInstance.from_config(str(prepare_dagster_home(self.settings)))

    def clear_outputs(self) -> None:
        """Back to "landed but never built": lake and instance gone, landing zone kept."""
        for folder in (self.settings.home / "lake", self.settings.dagster_home):
            shutil.rmtree(folder, ignore_errors=True)


def new_home(root: Path, name: str) -> Home:
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    settings = load_settings(
        {
            **os.environ,
            "ATLIQON_HOME": str(folder),
            "ATLIQON_SPARK_MASTER": "local[2]",
            "ATLIQON_ENV": "local",
        }
    )
    spark = SparkSessionResource.for_settings(settings)
    return Home(
        settings, LandingZoneResource.for_settings(settings), DeltaLakeResource.for_settings(settings, spark)
    )


def timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


class PeakMemory:
    """Peak resident memory of this process and all its children (the Spark JVM), sampled."""

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Report:
    """Figures by name, printed as medians with their spread, and ratios between them."""

    title: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str = "s") -> None:
        self.samples.setdefault(name, []).append(value)
        self.units[name] = unit

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def ratio(self, numerator: str, denominator: str) -> float:
        return self.median(numerator) / self.median(denominator)

    def print(self, ratios: list[tuple[str, str, str]] = (), notes: list[str] = ()) -> None:
        """ratios: (label, numerator, denominator) over medians."""
        print(f"\n## {self.title}\nmachine: {machine()}")
        width = max(len(name) for name in self.samples)
        for name, values in self.samples.items():
            unit = self.units[name]
            print(
                f"  {name:<{width}}  median {_number(self.median(name))} {unit}"
                f"  (min {_number(min(values))}, max {_number(max(values))}, n={len(values)})"
            )
        for label, numerator, denominator in ratios:
            print(f"  {label}: {self.ratio(numerator, denominator):.2f}x")
        for note in notes:
            print(f"  {note}")


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def _covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the intervals runs (steps of a run overlap)."""
    covered, reached = 0.0, float("-inf")
    for start, end in sorted(intervals):
        covered += max(0.0, end - max(start, reached))
        reached = max(reached, end)
    return covered


def step_seconds(instance: DagsterInstance) -> dict[str, float]:
    """Seconds per step of every run in the instance, and per run outside its steps (while no
    step ran): where the time of a build went, read from the run's own events."""
    seconds: dict[str, float] = {}
    for run in instance.get_runs():
        records = instance.all_logs(run.run_id)
        started: dict[str, float] = {}
        steps: list[tuple[float, float]] = []
        for record in records:
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type is DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                steps.append((started[event.step_key], record.timestamp))
                seconds[f"{run.job_name}: {event.step_key}"] = record.timestamp - started[event.step_key]
        outside = records[-1].timestamp - records[0].timestamp - _covered(steps)
        seconds[f"{run.job_name}: outside steps"] = outside
    return seconds


def backfill(home: Home) -> tuple[float, dict[str, float]]:
    """`atliqon backfill` in this process on the home's instance: its seconds, and each step's."""
    with home.instance() as instance:
        seconds, ok = timed(lambda: backfill_everything(home.settings, instance=instance))
        if not ok:
            raise RuntimeError(f"the backfill of {home.settings.home} failed: see the runs above")
        return seconds, step_seconds(instance)


def print_slowest_steps(seconds: dict[str, float], top: int = 10) -> None:
    checks = sum(value for name, value in seconds.items() if "check" in name)
    print(
        f"  slowest steps of the last build (all steps {sum(seconds.values()):.1f} s, checks {checks:.1f} s):"
    )
    for name, value in sorted(seconds.items(), key=lambda item: -item[1])[:top]:
        print(f"    {value:7.2f} s  {name}")
