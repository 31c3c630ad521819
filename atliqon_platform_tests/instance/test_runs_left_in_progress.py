"""A run whose process was killed is marked failed; a run whose process still runs is left alone;
a stop of ``atliqon up`` reports on the runs of its own process group only.
Real processes running real runs on one instance on disk, one of them killed with SIGKILL. A run
so marked runs again once, as Dagster's daemon retries it on the instance ``atliqon`` writes."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.events import RunFailureReason
from dagster._core.execution.api import create_execution_plan
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG, RUN_FAILURE_REASON_TAG
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.auto_run_reexecution.event_log_consumer import EventLogConsumerDaemon

from atliqon_platform.cli import DEFINITIONS_MODULE, LOCATION_NAME
from atliqon_platform.definitions import build_definitions
from atliqon_platform.instance.runs_left_in_progress import (
    after_the_stop,
    fail_runs_left_in_progress,
    run_process,
    runs_in_progress,
)
from atliqon_platform.settings import load_settings
from atliqon_platform_tests.instances import (
    atliqon_instance,
    platform_instance,
    start_waiting_run,
    wait_for_run_processes,
)


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
            # What a stop of `atliqon up` reports on: the runs in flight in its process group.
            ids = {who: run.run_id for who, run in runs.items()}
            assert sorted(runs_in_progress(instance, os.getpgrp())) == sorted(ids.values())
            assert runs_in_progress(instance, 1) == []  # init's group: not theirs
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait(timeout=30)
            assert instance.get_run_by_id(runs["killed"].run_id).status == DagsterRunStatus.STARTED
            reason = f"its process (pid {killed.pid}) ended without finishing it"
            # The one still running (an `atliqon backfill` beside) is not the stop's to report.
            assert after_the_stop(instance, list(ids.values())) == [
                f"run {ids['killed']} of waiting is left in progress ({reason}); atliqon up marks it "
                "failed when it starts"
            ]

            [line] = fail_runs_left_in_progress(instance)

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


@pytest.fixture
def up_instance(tmp_path, monkeypatch) -> Iterator[tuple[DagsterInstance, WorkspaceProcessContext]]:
    """The instance ``atliqon`` writes for a home, and the code location of ``atliqon up``'s
    daemon, served by a code server of its own as there."""
    monkeypatch.setenv("ATLIQON_HOME", str(tmp_path))  # the code server's settings
    target = ModuleTarget(
        module_name=DEFINITIONS_MODULE, attribute=None, working_directory=None, location_name=LOCATION_NAME
    )
    with (
        atliqon_instance(tmp_path / "dagster") as instance,
        create_test_daemon_workspace_context(target, instance) as context,
    ):
        yield instance, context


def test_a_run_marked_failed_when_up_starts_runs_again_once_and_one_a_step_failed_in_does_not(up_instance):
    """A day's run killed with its process would else stay unloaded: the sensor has seen its files."""
    instance, context = up_instance
    location = context.create_request_context().get_code_location(LOCATION_NAME)
    remote_job = next(iter(location.get_repositories().values())).get_full_job("dimensions_job")
    job = build_definitions(load_settings()).resolve_job_def("dimensions_job")

    def run(status: DagsterRunStatus, **tags: str) -> DagsterRun:
        return instance.create_run_for_job(
            job_def=job,
            execution_plan=create_execution_plan(job),
            status=status,
            tags=tags,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )

    left = run(DagsterRunStatus.STARTING)  # launched, and atliqon up was killed before its worker started
    step_failure = {RUN_FAILURE_REASON_TAG: RunFailureReason.STEP_FAILURE.value}  # as its run worker tags it
    step_failed = run(DagsterRunStatus.STARTED, **step_failure)
    daemon = EventLogConsumerDaemon()
    list(daemon.run_iteration(context))  # a daemon that ran on this home before: it has its cursor
    assert len(fail_runs_left_in_progress(instance)) == 1
    instance.report_run_failed(step_failed)
    list(daemon.run_iteration(context))

    [retry] = instance.get_runs(filters=RunsFilter(tags={PARENT_RUN_ID_TAG: left.run_id}))
    assert retry.status == DagsterRunStatus.QUEUED  # atliqon up's queue launches it
    assert (retry.job_name, retry.tags[RETRY_NUMBER_TAG]) == ("dimensions_job", "1")
    assert instance.get_runs(filters=RunsFilter(tags={PARENT_RUN_ID_TAG: step_failed.run_id})) == []
    assert len(instance.get_runs()) == 3
