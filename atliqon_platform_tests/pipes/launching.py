"""A run whose one step launches a job through a Pipes launcher, as the platform's remote assets
do, on the platform's executor (which tells the engine's failures from the data's, and passes a
run's termination on to its resources); and that run's termination, once its step runs."""

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster import (
    AssetExecutionContext,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
)

from atliqon_platform.instance.threaded_executor import execute_in_this_process, threaded_executor
from atliqon_platform.pipes.launchers import PipesLauncher


def launched_through(launcher: PipesLauncher, job_name: str, instance: DagsterInstance) -> bool:
    """Whether the run launching ``job_name`` through ``launcher`` succeeded."""

    @asset
    def launch(context: AssetExecutionContext, pipes_launcher: PipesLauncher) -> MaterializeResult:
        pipes_launcher.run(context, job_name)
        return MaterializeResult()

    defs = Definitions(
        assets=[launch],
        jobs=[define_asset_job("launching", selection=[launch.key])],
        resources={"pipes_launcher": launcher},
        executor=threaded_executor.configured({"max_concurrent": 1}),
    )
    return execute_in_this_process(defs.resolve_job_def("launching"), instance, {}).success


@contextmanager
def terminated_when(ready: Callable[[], bool]) -> Iterator[None]:
    """SIGINT to this process (what terminating a run from the UI sends its run worker) once
    ``ready`` holds, while the context lasts: so that it reaches the run's step as it runs, not
    the test before the run, the run before its step, or a later test."""
    done, sending = threading.Event(), threading.Lock()

    def terminate() -> None:
        while not ready():
            if done.wait(0.1):
                return
        with sending:
            if not done.is_set():
                os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=terminate, daemon=True)
    thread.start()
    try:
        yield
    finally:
        with sending:
            done.set()
        thread.join()
