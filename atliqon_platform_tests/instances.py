"""Where a test's platform lives: a home's settings on the local engine, and test instances with
the event log `atliqon` configures, so that tests run on the storage users run on (and range runs
cost a third of what Dagster's default storage makes them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, JobDefinition, instance_for_test
from dagster._core.storage.tags import PARTITION_NAME_TAG

from atliqon_platform.cli import instance_config
from atliqon_platform.instance.event_log import event_log_storage_config
from atliqon_platform.instance.runs_left_in_progress import run_process
from atliqon_platform.instance.threaded_executor import execute_in_this_process
from atliqon_platform.settings import Settings, load_settings


def home_settings(home: Path) -> Settings:
    """The settings of ``home`` on the local engine as the tests run it, whatever the environment."""
    return load_settings({"ATLIQON_HOME": str(home), "ATLIQON_SPARK_MASTER": "local[2]"})


@contextmanager
def platform_instance(folder: Path | None = None) -> Iterator[DagsterInstance]:
    """A test instance in a temporary folder, or in ``folder``, where it outlives the context so
    that later tests can fork what it recorded (``forked_instance``)."""
    with ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        # Without the community sign-up dialog, as the instance `atliqon` writes (cli.py).
        overrides = {"event_log_storage": event_log_storage_config(folder), "nux": {"enabled": False}}
        with instance_for_test(overrides=overrides, temp_dir=str(folder)) as instance:
            yield instance


@contextmanager
def atliqon_instance(folder: Path) -> Iterator[DagsterInstance]:
    """The instance `atliqon` writes for a home (cli.py's dagster.yaml: its event log, run queue
    and run retries), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(instance_config(folder))
    with DagsterInstance.from_config(str(folder)) as instance:
        yield instance


@contextmanager
def forked_instance(folder: Path, to: Path) -> Iterator[DagsterInstance]:
    """A copy of the closed instance in ``folder``, opened in ``to``: its runs, materialisations
    and check results, for a test that goes on from a build without changing it for others."""
    shutil.copytree(folder, to)
    with platform_instance(to) as instance:
        yield instance


def run_as_launched(
    job: JobDefinition,
    instance: DagsterInstance,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """``job`` run in this process as the daemon and the UI run it: on the code location's
    executor (its steps on threads), with the partition and the assets of the request recorded
    with the run."""
    if asset_selection is not None:
        job = job.get_subset(asset_selection=frozenset(asset_selection))
    partition = {PARTITION_NAME_TAG: partition_key} if partition_key else {}
    return execute_in_this_process(job, instance, {**(tags or {}), **partition}, run_config)


# A run of one step that waits, on the instance in the folder given, in this process.
RUN_THAT_WAITS = """
import sys, time
from pathlib import Path
from dagster import Definitions, asset, define_asset_job
from atliqon_platform.instance.threaded_executor import execute_in_this_process, threaded_executor
from atliqon_platform_tests.instances import platform_instance

@asset
def waits() -> None:
    time.sleep(600)

one_thread = threaded_executor.configured({"max_concurrent": 1})
defs = Definitions(assets=[waits], jobs=[define_asset_job("waiting")], executor=one_thread)
with platform_instance(Path(sys.argv[1])) as instance:
    execute_in_this_process(defs.resolve_job_def("waiting"), instance, {"who": sys.argv[2]})
"""


def start_waiting_run(folder: Path, who: str) -> subprocess.Popen:
    """A process running a run of one step that waits ten minutes, on the instance in ``folder``,
    tagged ``who``."""
    return subprocess.Popen([sys.executable, "-c", RUN_THAT_WAITS, str(folder), who])


def wait_for_run_processes(instance: DagsterInstance, runs: int) -> None:
    """Until ``runs`` runs of the instance have said which process runs them."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        recorded = instance.get_runs()
        if len(recorded) >= runs and all(run_process(instance, run.run_id) for run in recorded):
            return
        time.sleep(0.5)
    raise AssertionError(f"{runs} run(s) did not start within 120 s")


def run_left_in_progress(folder: Path) -> str:
    """A run on the instance in ``folder`` whose process was killed mid-step (as by SIGKILL, or a
    crash), so that the instance has it in progress for ever; its id."""
    process = start_waiting_run(folder, "killed")
    try:
        with platform_instance(folder) as instance:
            wait_for_run_processes(instance, 1)
            [run] = instance.get_runs()
    finally:
        process.kill()
        process.wait()
    return run.run_id
