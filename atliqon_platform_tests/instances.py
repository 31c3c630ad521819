"""Where a test's platform lives: a home's settings on the local engine, and test instances with
the event log `atliqon` configures, so that tests run on the storage users run on (and range runs
cost a third of what Dagster's default storage makes them)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, JobDefinition, instance_for_test
from dagster._core.storage.tags import PARTITION_NAME_TAG

from atliqon_platform.instance.event_log import event_log_storage_config
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
