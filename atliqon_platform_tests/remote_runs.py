"""Helpers for tests that run the platform in other processes: seeded homes, a traced headless
backfill, recorded results."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance

from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.sample_data.reference_dataset import copy_reference_dataset
from atliqon_platform.settings import Settings
from atliqon_platform_tests.commands import atliqon
from atliqon_platform_tests.instances import home_settings

UNTIL = dt.date(2025, 7, 2)  # two days of orders: every asset, every run, in little time


def seeded(dataset: Path, home: Path) -> Settings:
    """A home whose landing zone holds the real data up to UNTIL."""
    settings = home_settings(home)
    copy_reference_dataset(dataset, LandingZoneResource(uri=settings.landing_uri), until=UNTIL)
    return settings


def programs_started(trace: Path) -> set[str]:
    """The programs an ``strace -e trace=execve`` log shows started (their file names)."""
    started = re.findall(r'execve\("([^"]+)"', trace.read_text())
    return {Path(program).name for program in started}


# An execve of PySpark's worker daemon, which the engine starts to run Python code on rows.
PYTHON_WORKER_START = re.compile(r'execve\("[^"]+", \[[^]]*"pyspark\.daemon"')


def headless_backfill(home: Path) -> dict:
    """``atliqon backfill`` as a user runs it, traced for the programs it starts; what it left."""
    strace = shutil.which("strace")
    assert strace, "strace is missing: install Debian's strace (apt-get install strace; .ci/run does)"
    trace = home / "backfill.strace"
    result = atliqon(
        "backfill",
        home=home,
        under=[strace, "-f", "--seccomp-bpf", "-qq", "-e", "trace=execve", "-o", str(trace)],
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = home / "lake" / "gold" / "vw_fact_orders_enriched" / "_delta_log"
    return {
        "programs": programs_started(trace),
        "python_worker_starts": len(PYTHON_WORKER_START.findall(trace.read_text())),
        "runs": len(list((home / "dagster" / "storage").iterdir())),
        "view_commits": {path.stem for path in log.glob("[0-9]*.json")},
        "view_checksums": {path.stem for path in log.glob("[0-9]*.crc")},
    }


def _comparable(value: Any, home: Path) -> Any:
    text = str(getattr(value, "value", value))
    return text.replace(str(home), "<home>") if str(home) in text else getattr(value, "value", value)


def recorded_results(instance: DagsterInstance, home: Path) -> dict[str, dict]:
    """Every materialisation and check result of the instance's runs, by asset (and partition),
    with the home's path taken out of the metadata."""
    materialisations: dict[tuple[str, str | None], dict] = {}
    checks: dict[tuple[str, str], tuple[bool, str, dict]] = {}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
                materialisation = event.event_specific_data.materialization
                key = (materialisation.asset_key.to_user_string(), materialisation.partition)
                materialisations[key] = {
                    name: _comparable(value, home) for name, value in materialisation.metadata.items()
                }
            elif event.event_type is DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.event_specific_data
                checks[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = (
                    evaluation.passed,
                    evaluation.severity.value,
                    {name: _comparable(value, home) for name, value in evaluation.metadata.items()},
                )
    return {"materialisations": materialisations, "checks": checks}
