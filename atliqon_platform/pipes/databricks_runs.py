"""Why a Databricks job that a Pipes launch submitted failed: its cluster, or its work.

Pipes' Databricks clients raise the same bare error ("Error running Databricks job: …") for a
job whose cluster was lost under it (a spot instance reclaimed, a driver gone, Databricks' own
error) and for one whose code failed. The first is the engine's failure, not the data's: the
same run may succeed on a new cluster, so it is raised as one (``engine_failure``) and
Dagster's daemon retries the run once (instance/threaded_executor.py), as it does when the warm
engine of `atliqon up` dies. Both errors name the run, why it ended, and its page.

Imported when a job is launched, not when the code location loads (see DatabricksJob.spec).
"""

from __future__ import annotations

from dagster_databricks import PipesDatabricksClient
from dagster_databricks.pipes import PipesDatabricksServerlessClient
from databricks.sdk.service.jobs import (
    Run,
    RunLifeCycleState,
    RunResultState,
    RunState,
    TerminationCodeCode,
    TerminationDetails,
    TerminationTypeType,
)

# How Databricks says the compute failed the run rather than the run's own code or settings
# (the Jobs API's termination details; its type CLIENT_ERROR is the user's, SUCCESS the run's).
ENGINE_TERMINATION_TYPES = frozenset({TerminationTypeType.CLOUD_FAILURE, TerminationTypeType.INTERNAL_ERROR})
ENGINE_TERMINATION_CODES = frozenset(
    {
        TerminationCodeCode.CLOUD_FAILURE,
        TerminationCodeCode.CLUSTER_ERROR,
        TerminationCodeCode.DRIVER_ERROR,
        TerminationCodeCode.INTERNAL_ERROR,
    }
)


class DatabricksJobFailedError(RuntimeError):
    """The Databricks job of a Pipes launch ended without success, for its own reasons."""


class DatabricksClusterLostError(DatabricksJobFailedError):
    """The job's compute failed under it: not the data's fault."""

    engine_failure = True  # the run may go again (instance/threaded_executor.py)


class _KeepsTheRunItPolls:
    """Keeps the last state of the run that the client's poll read (dagster-databricks 0.29.27,
    pinned: its poll reads the state through ``_get_run_state`` and raises without the run)."""

    last_run: Run | None = None

    def _get_run_state(self, run_id: int) -> RunState:
        run = self.client.jobs.get_run(run_id)
        if run.state is None:
            raise DatabricksJobFailedError(f"the Databricks run {run_id} has no state")
        self.last_run = run
        return run.state


class JobClusterClient(_KeepsTheRunItPolls, PipesDatabricksClient):
    """Pipes on a new job cluster, keeping the run it polls."""


class ServerlessClient(_KeepsTheRunItPolls, PipesDatabricksServerlessClient):
    """Pipes on serverless compute, keeping the run it polls."""


def _its_compute_failed(state: RunState | None, details: TerminationDetails | None) -> bool:
    if details is not None and (
        details.code in ENGINE_TERMINATION_CODES or details.type in ENGINE_TERMINATION_TYPES
    ):
        return True
    # The older API's states: "a failure in the Jobs service", after which it ends the cluster.
    return state is not None and state.life_cycle_state == RunLifeCycleState.INTERNAL_ERROR


def failed_run_error(run: Run) -> DatabricksJobFailedError | None:
    """The error to raise for a run that ended without success, naming why; None for one that
    succeeded (the launch failed after it, reading its messages, say)."""
    state, status = run.state, run.status
    if state is not None and state.result_state == RunResultState.SUCCESS:
        return None
    details = status.termination_details if status is not None else None
    if details is not None and details.code is not None:
        reason = f"{details.code.value} ({details.type.value if details.type else 'no type'})"
    else:  # a run of the older API's states only
        reason = (state.result_state or state.life_cycle_state).value if state else "no state"
    message = ((details and details.message) or (state and state.state_message) or "no message").rstrip(".")
    page = f"; its page: {run.run_page_url}" if run.run_page_url else ""
    what = f"the Databricks run {run.run_id} ended with {reason}: {message}{page}"
    if _its_compute_failed(state, details):
        return DatabricksClusterLostError(
            f"{what}. Its compute failed, not the data: a run the daemon or the UI launched runs "
            "again once; launch any other again (in the UI, Re-execute from failure)."
        )
    return DatabricksJobFailedError(what)
