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

import threading

from dagster import get_dagster_logger
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

# Whose fault Databricks says a run's end was: its type says it (CLIENT_ERROR is the user's
# code or settings); the code alone, in a termination without a type; the life cycle alone, in
# the older API's states ("a failure in the Jobs service", after which it ends the cluster).
ENGINE_TERMINATION_TYPES = frozenset({TerminationTypeType.CLOUD_FAILURE, TerminationTypeType.INTERNAL_ERROR})
ENGINE_TERMINATION_CODES = frozenset(
    {
        TerminationCodeCode.CLOUD_FAILURE,
        TerminationCodeCode.CLUSTER_ERROR,
        TerminationCodeCode.DRIVER_ERROR,
        TerminationCodeCode.INTERNAL_ERROR,
    }
)
ENDED = frozenset({RunLifeCycleState.TERMINATED, RunLifeCycleState.SKIPPED, RunLifeCycleState.INTERNAL_ERROR})


class DatabricksJobFailedError(RuntimeError):
    """The Databricks job of a Pipes launch ended without success, for its own reasons."""


class DatabricksClusterLostError(DatabricksJobFailedError):
    """The job's compute failed under it: not the data's fault."""

    engine_failure = True  # the run may go again (instance/threaded_executor.py)


class KeepsTheRunItPolls:
    """Keeps the last state of the run that the client's poll read (dagster-databricks 0.29.27,
    pinned: its poll reads the state through ``_get_run_state`` and raises without the run),
    and cancels that run when another thread asks."""

    last_run: Run | None = None
    _cancelling: bool = False

    def _get_run_state(self, run_id: int) -> RunState:
        run = self.client.jobs.get_run(run_id)
        self.last_run = run
        if run.state is None:
            raise DatabricksJobFailedError(
                f"the Databricks run {run_id} has no state: see {run.run_page_url}"
            )
        return run.state

    def cancel(self) -> None:
        """Cancel the run being polled; the poll then sees it end, and raises. A terminated run
        asks every half second while its steps run: one call at a time, on a thread of its own
        (the SDK retries a call for minutes, and the run's executor must go on meanwhile)."""
        if self.last_run is not None and not self._cancelling:
            self._cancelling = True
            threading.Thread(target=self._cancel, args=(self.last_run.run_id,), daemon=True).start()

    def _cancel(self, run_id: int) -> None:
        try:
            self.client.jobs.cancel_run(run_id)
        except Exception as error:  # noqa: BLE001 - any: the next ask tries again
            get_dagster_logger(__name__).warning(f"could not cancel the Databricks run {run_id}: {error}")
            self._cancelling = False


class JobClusterClient(KeepsTheRunItPolls, PipesDatabricksClient):
    """Pipes on a new job cluster, keeping the run it polls."""


class ServerlessClient(KeepsTheRunItPolls, PipesDatabricksServerlessClient):
    """Pipes on serverless compute, keeping the run it polls."""


def _its_compute_failed(state: RunState, details: TerminationDetails | None) -> bool:
    if details is not None and details.type is not None:
        return details.type in ENGINE_TERMINATION_TYPES
    if details is not None and details.code is not None:
        return details.code in ENGINE_TERMINATION_CODES
    return state.life_cycle_state == RunLifeCycleState.INTERNAL_ERROR


def _reason(state: RunState, details: TerminationDetails | None) -> str:
    if details is not None and (details.code or details.type):
        said = {"code": details.code, "type": details.type}
        return ", ".join(f"{name} {value.value}" for name, value in said.items() if value is not None)
    return f"state {(state.result_state or state.life_cycle_state).value}"


def failed_run_error(run: Run) -> DatabricksJobFailedError | None:
    """The error to raise for a run that ended without success, naming why; None for one that
    succeeded or has not ended (Pipes failed beside it, reading its messages, say)."""
    state = run.state
    if state is None or state.life_cycle_state not in ENDED or state.result_state == RunResultState.SUCCESS:
        return None
    details = run.status.termination_details if run.status is not None else None
    message = ((details and details.message) or state.state_message or "no message").rstrip(".")
    page = f"; its page: {run.run_page_url}" if run.run_page_url else ""
    ended = "was cancelled, with" if state.result_state == RunResultState.CANCELED else "ended with"
    what = f"the Databricks run {run.run_id} {ended} {_reason(state, details)}: {message}{page}"
    if _its_compute_failed(state, details):
        return DatabricksClusterLostError(
            f"{what}. Its compute failed, not the data: Dagster retries a run that its daemon or "
            "the UI launched, once; launch any other again (in the UI, Re-execute from failure)."
        )
    return DatabricksJobFailedError(what)
