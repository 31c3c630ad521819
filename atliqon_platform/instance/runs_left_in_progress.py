"""Runs whose process is gone while the instance still has them in progress.

A run killed with its process (``atliqon up`` killed with SIGKILL, a crash, a power cut) keeps
the status it had. Dagster's automation then counts its assets as being written for ever, and
the order sensor waits for the dims such a run was writing. Dagster's run monitoring cannot tell:
its default run launcher has no health check of a run's process. So ``atliqon up``, which holds
the home's lock (no other ``atliqon up`` or daemon launches runs on it), marks each such run
failed before its daemon starts, with the reason.

A run's process is the one its engine events name (Dagster's run worker and the platform's
executor record their pid), still alive and started before the run; a concurrent
``atliqon backfill`` on the same home keeps its runs.

When ``atliqon up`` stops, it says in a line what became of each run it had in progress
(``after_the_stop``): the runs' own output about the interruption is a trace, which it does
not show.
"""

from __future__ import annotations

import contextlib
import os

import psutil
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.storage.tags import WILL_RETRY_TAG
from dagster._daemon.auto_run_reexecution.event_log_consumer import DAGSTER_EVENT_TYPES, _create_cursor_key

# QUEUED runs stay: the new daemon launches them.
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def run_process(instance: DagsterInstance, run_id: str) -> int | None:
    """The pid that the run's last engine event with one names; None before any did."""
    for record in reversed(instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)):
        event = record.dagster_event
        metadata = event.engine_event_data.metadata if event and event.engine_event_data else {}
        if "pid" in metadata:
            return int(metadata["pid"].value)
    return None


def _alive_since(pid: int, started: float) -> bool:
    """Whether process ``pid`` runs and was started by ``started`` (not a later one given its pid)."""
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= started + 1
    return False


def _gone(instance: DagsterInstance, record: RunRecord) -> str | None:
    """Why the run's process is gone; None while it may still run."""
    run = record.dagster_run
    pid = run_process(instance, run.run_id)
    if pid is None:
        # Only a launch by a daemon passes through STARTING, and none runs on a locked home: its
        # run worker died before it said its pid. A run started here says it at its first event.
        return "its run worker never started" if run.status == DagsterRunStatus.STARTING else None
    started = record.start_time or record.create_timestamp.timestamp()
    return None if _alive_since(pid, started) else f"its process (pid {pid}) ended without finishing it"


def _retries_read_from_here(instance: DagsterInstance) -> None:
    """Dagster's daemon retries the run failures it reads after its cursor in the event log. On
    a home where it never ran with retries on, it starts that cursor at the log's end at its
    first look, which would pass over the failures marked here just before; so it is started
    here, as the daemon would, before they are marked (dagster 1.13.27's cursor keys, pinned)."""
    if not instance.run_retries_enabled:
        return
    keys = {_create_cursor_key(event_type) for event_type in DAGSTER_EVENT_TYPES}
    missing = keys - instance.daemon_cursor_storage.get_cursor_values(keys).keys()
    if missing:
        end = instance.event_log_storage.get_maximum_record_id() or 0
        instance.daemon_cursor_storage.set_cursor_values({key: str(end) for key in missing})


def fail_runs_left_in_progress(instance: DagsterInstance) -> list[str]:
    """Mark failed every run in progress whose process is gone; a line for each."""
    _retries_read_from_here(instance)
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        if reason := _gone(instance, record):
            instance.report_run_failed(
                run,
                f"Left in progress: {reason} (stopped with its process, as by a SIGKILL or a crash). "
                "Marked failed when atliqon up started, so that its assets no longer count as "
                "being written. The daemon retries a run it or the UI launched once, from where "
                "it stopped.",
            )
            failed.append(f"run {run.run_id} of {run.job_name}: {reason}")
    return failed


def runs_in_progress(instance: DagsterInstance, group: int) -> list[str]:
    """The ids of the runs in progress in process group ``group`` (``atliqon up``'s, not an
    ``atliqon backfill``'s beside it); a run its daemon launched a moment ago names no process
    yet."""
    ids = []
    for run in instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS)):
        pid = run_process(instance, run.run_id)
        if (pid is None and run.status == DagsterRunStatus.STARTING) or (pid and _in_group(pid, group)):
            ids.append(run.run_id)
    return ids


def _in_group(pid: int, group: int) -> bool:
    try:
        return os.getpgid(pid) == group
    except OSError:  # ended
        return False


def after_the_stop(instance: DagsterInstance, run_ids: list[str]) -> list[str]:
    """What became of each of these runs (in progress when a stop began), a line each; a run
    still in progress in a live process (an ``atliqon backfill`` beside) is not the stop's."""
    lines = []
    for record in instance.get_run_records(filters=RunsFilter(run_ids=run_ids)) if run_ids else []:
        run = record.dagster_run
        named = f"run {run.run_id} of {run.job_name}"
        if run.status == DagsterRunStatus.FAILURE and run.tags.get(WILL_RETRY_TAG) == "true":
            lines.append(
                f"{named} was interrupted, and is marked failed; it runs again, from where it "
                "stopped, when atliqon up starts"
            )
        elif run.status == DagsterRunStatus.FAILURE:
            lines.append(f"{named} failed as it stopped (the UI shows why); it is not retried")
        elif run.status not in IN_PROGRESS:
            lines.append(f"{named} ended as it stopped: {run.status.value.lower()}")
        elif reason := _gone(instance, record):
            lines.append(f"{named} is left in progress ({reason}); atliqon up marks it failed when it starts")
    return lines
