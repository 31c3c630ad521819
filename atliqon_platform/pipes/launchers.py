"""Where a Pipes launch runs the entry point: a child process, or a one-time Databricks job.

Both take the launching asset's context and the job's name and return Pipes' completed
invocation, whose results the asset yields. Databricks credentials come in through
``EnvVar`` (see ``for_settings``), so Dagster neither shows nor logs them.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from typing import TYPE_CHECKING

import psutil
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    EnvVar,
    PipesClientCompletedInvocation,
    PipesSubprocessClient,
)
from dagster._core.errors import DagsterPipesExecutionError  # what Pipes' clients raise
from pydantic import PrivateAttr

from atliqon_platform.pipes.databricks_job import DatabricksJob
from atliqon_platform.resources.session_checks import require_reachable_url
from atliqon_platform.settings import PipesMode, Settings, workspace_url

if TYPE_CHECKING:  # imported when a job is launched (see DatabricksJobLauncher.run)
    from atliqon_platform.pipes.databricks_runs import KeepsTheRunItPolls

ENTRYPOINT_MODULE = "atliqon_platform.pipes_entrypoint"
TERMINATION_GRACE_SECONDS = 20.0  # a terminated run's child, from SIGINT to SIGKILL (Pipes' own default)


def launch_extras(context: AssetExecutionContext, job_name: str) -> dict[str, object]:
    """What the entry point is told: the job, and the partition range of a partitioned run.

    The range travels as an extra: Pipes' own context carries it only for a single partition.
    """
    extras: dict[str, object] = {"job": job_name}
    if context.has_partition_key_range:
        keys = context.partition_key_range
        extras["partition_range"] = [keys.start, keys.end]
    return extras


class PipesLauncher(ConfigurableResource):
    def run(self, context: AssetExecutionContext, job_name: str) -> PipesClientCompletedInvocation:
        raise NotImplementedError


class SubprocessLauncher(PipesLauncher):
    """The entry point as a child process of the run, with this environment plus ``environment``."""

    environment: dict[str, str] = {}
    module: str = ENTRYPOINT_MODULE  # the module ``python -m`` runs
    # When each child (its pid and start time: a pid may be reused) was sent SIGINT.
    _interrupted: dict[tuple[int, float], float] = PrivateAttr(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module]

    def run(self, context: AssetExecutionContext, job_name: str) -> PipesClientCompletedInvocation:
        return PipesSubprocessClient(env=self.environment).run(
            command=self.command, context=context, extras=launch_extras(context, job_name)
        )

    def interrupt_operations(self) -> None:
        """SIGINT to each child this process runs the entry point in, from any thread, and SIGKILL
        to one still running TERMINATION_GRACE_SECONDS later (as Pipes' client would do).

        Pipes' client forwards a termination to its child only when its own thread is
        interrupted, which a run's step thread never is (instance/threaded_executor.py): the
        child would else go on writing tables, and the terminated run wait for it."""
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                key = (child.pid, child.create_time())
                if key not in self._interrupted and child.cmdline() == self.command:
                    self._interrupted[key] = time.monotonic()
                    child.send_signal(signal.SIGINT)
                elif time.monotonic() > self._interrupted.get(key, math.inf) + TERMINATION_GRACE_SECONDS:
                    child.kill()


class DatabricksJobLauncher(PipesLauncher):
    """The entry point as a one-time job in a Databricks workspace (job cluster or serverless)."""

    host: str
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    job: DatabricksJob
    _polling: list[KeepsTheRunItPolls] = PrivateAttr(default_factory=list)  # the launches in flight

    @classmethod
    def for_settings(cls, settings: Settings) -> DatabricksJobLauncher:
        """The workspace's credentials by the names of their variables, the job from the settings."""
        oauth = settings.databricks is not None and settings.databricks.auth == "oauth"
        return cls(
            host=EnvVar("DATABRICKS_HOST"),
            token=None if oauth else EnvVar("DATABRICKS_TOKEN"),
            client_id=EnvVar("DATABRICKS_CLIENT_ID") if oauth else None,
            client_secret=EnvVar("DATABRICKS_CLIENT_SECRET") if oauth else None,
            job=DatabricksJob.for_settings(settings),
        )

    def run(self, context: AssetExecutionContext, job_name: str) -> PipesClientCompletedInvocation:
        # Imported when a job is launched, not by every process that loads the code location
        # (about a second: see DatabricksJob.spec).
        from databricks.sdk import WorkspaceClient

        from atliqon_platform.pipes.databricks_runs import (
            JobClusterClient,
            ServerlessClient,
            failed_run_error,
        )

        host = workspace_url(self.host)
        require_reachable_url(host, "DATABRICKS_HOST")
        spec = self.job.spec(job_name)
        client = WorkspaceClient(
            host=host, token=self.token, client_id=self.client_id, client_secret=self.client_secret
        )
        if self.job.serverless:
            pipes_client = ServerlessClient(client, volume_path=self.job.volume)
        else:
            pipes_client = JobClusterClient(client)
        self._polling.append(pipes_client)
        try:
            return pipes_client.run(
                task=spec.task,
                context=context,
                extras=launch_extras(context, job_name),
                submit_args=spec.submit_args,
            )
        except DagsterPipesExecutionError as error:
            failed = pipes_client.last_run and failed_run_error(pipes_client.last_run)
            if not failed:  # before the job ran, or after it succeeded: Pipes' own error
                raise
            raise failed from error
        finally:
            self._polling.remove(pipes_client)

    def interrupt_operations(self) -> None:
        """Cancel the Databricks jobs of the launches in flight, from any thread.

        Pipes' client cancels its job when its own thread is interrupted, which a run's step
        thread never is: a terminated run cancels its steps' engine calls this way instead
        (instance/threaded_executor.py), and a job would else go on writing tables after it."""
        for pipes_client in list(self._polling):
            pipes_client.cancel()


def pipes_launcher(settings: Settings) -> PipesLauncher | None:
    """The launcher ``ATLIQON_PIPES`` asks for; None when the assets run in the run's own process."""
    if settings.pipes is PipesMode.SUBPROCESS:
        return SubprocessLauncher()
    if settings.pipes is PipesMode.DATABRICKS:
        return DatabricksJobLauncher.for_settings(settings)
    return None
