"""Helpers for tests that run the platform in other processes: seeded homes, a headless backfill
with the programs it starts watched, recorded results."""

from __future__ import annotations

import datetime as dt
import os
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


# Programs a build must not start (Hadoop's local filesystem without its native library starts
# them per file; PySpark starts a Python worker as python3 to run Python code on rows), and bash,
# which Hadoop's shell utility starts once to probe for it: seeing that probe shows the JVM's
# commands pass through the watch.
WATCHED_PROGRAMS = ("bash", "chmod", "readlink", "stat", "python3")
SHIM = """#!/bin/sh
echo "${{0##*/}} $*" >> '{log}'
path='{path}'
IFS=:
for folder in $path; do
    [ -x "$folder/${{0##*/}}" ] && exec "$folder/${{0##*/}}" "$@"
done
exit 127
"""


def watched_path(folder: Path) -> tuple[str, Path]:
    """A PATH whose first folder holds a stand-in for each of WATCHED_PROGRAMS: it writes its
    command line to a log, then runs the real program. Commands started by name (as Hadoop's
    shell utility and PySpark start theirs) are recorded; the log's path."""
    folder.mkdir(parents=True)
    log, path = folder / "started.log", os.environ["PATH"]
    log.touch()
    for name in WATCHED_PROGRAMS:
        shim = folder / name
        shim.write_text(SHIM.format(log=log, path=path))
        shim.chmod(0o755)
    return f"{folder}{os.pathsep}{path}", log


def headless_backfill(home: Path) -> dict:
    """``atliqon backfill`` as a user runs it, with the commands it starts by name recorded
    (watched_path); what it left."""
    path, log = watched_path(home / "watched-programs")
    result = atliqon("backfill", home=home, PATH=path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    view_log = home / "lake" / "gold" / "vw_fact_orders_enriched" / "_delta_log"
    return {
        "started": log.read_text().splitlines(),
        "runs": len(list((home / "dagster" / "storage").iterdir())),
        "view_commits": {path.stem for path in view_log.glob("[0-9]*.json")},
        "view_checksums": {path.stem for path in view_log.glob("[0-9]*.crc")},
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
