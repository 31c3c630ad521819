"""A run whose process was killed is marked failed; a run whose process still runs is left alone.
Real processes running real runs on one instance on disk, one of them killed with SIGKILL."""

from __future__ import annotations

import os
import signal

from dagster import DagsterEventType, DagsterRun, DagsterRunStatus

from atliqon_platform.instance.runs_left_in_progress import fail_runs_left_in_progress, run_process
from atliqon_platform_tests.instances import platform_instance, start_waiting_run, wait_for_run_processes


def runs_by_who(instance) -> dict[str, DagsterRun]:
    return {run.tags["who"]: run for run in instance.get_runs()}


def test_a_run_whose_process_was_killed_is_marked_failed_and_a_running_one_is_not(tmp_path):
    folder = tmp_path / "dagster"
    with platform_instance(folder) as instance:  # the instance on disk, before the runs share it
        pass
    killed, running = start_waiting_run(folder, "killed"), start_waiting_run(folder, "running")
    try:
        with platform_instance(folder) as instance:
            wait_for_run_processes(instance, 2)
            runs = runs_by_who(instance)
            assert {who: run_process(instance, run.run_id) for who, run in runs.items()} == {
                "killed": killed.pid,
                "running": running.pid,
            }
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait(timeout=30)
            assert instance.get_run_by_id(runs["killed"].run_id).status == DagsterRunStatus.STARTED

            [line] = fail_runs_left_in_progress(instance)

            reason = f"its process (pid {killed.pid}) ended without finishing it"
            assert line == f"run {runs['killed'].run_id} of waiting: {reason}"
            assert instance.get_run_by_id(runs["killed"].run_id).status == DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(runs["running"].run_id).status == DagsterRunStatus.STARTED
            [failure] = instance.all_logs(runs["killed"].run_id, of_type=DagsterEventType.RUN_FAILURE)
            assert f"pid {killed.pid}" in failure.message
            assert fail_runs_left_in_progress(instance) == []  # marked once
    finally:
        for process in (killed, running):
            process.kill()
            process.wait()
