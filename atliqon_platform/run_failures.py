"""What ended a run, in a line a terminal or a launching run can show: the backfill says it after
each run, and a Pipes process raises it to the run that launched it."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import DagsterEvent

# Why a run failed is named in a private module only: a run interrupted by a signal ends so.
from dagster._core.events import RunFailureReason
from dagster._utils.error import SerializableErrorInfo

from atliqon_platform.resources.spark import first_line


def interrupted(events: Sequence[DagsterEvent]) -> bool:
    """Whether the run ended on Ctrl-C or a stop signal (Dagster takes SIGTERM as SIGINT): its
    steps then fail on what the interruption did to them, not on their data."""
    by_signal = RunFailureReason.UNEXPECTED_TERMINATION
    return any(
        event.is_run_failure and event.event_specific_data.failure_reason is by_signal for event in events
    )


def failure_reasons(events: Sequence[DagsterEvent]) -> list[str]:
    """Each failed step and what failed it; when no step failed, what failed the run (a resource
    that could not start: the error it raised, which Dagster wraps in its own)."""
    steps = [_why(event) for event in events if event.is_step_failure]
    return steps or [_why_the_run_failed(event) for event in events if event.is_run_failure]


def _why(step_failure: DagsterEvent) -> str:
    """The step and what failed it: a Failure's description, else the step's own error (which
    Dagster wraps in one of its own; the step's error may say more than what it was raised from)."""
    data = step_failure.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return f"{step_failure.step_key}: {data.user_failure_data.description}"
    return f"{step_failure.step_key}: {_said(_inside_dagsters(data.error)) or step_failure.message}"


def _why_the_run_failed(run_failure: DagsterEvent) -> str:
    return _said(_inside_dagsters(run_failure.event_specific_data.error)) or str(run_failure.message)


def _inside_dagsters(error: SerializableErrorInfo | None) -> SerializableErrorInfo | None:
    """The error inside Dagster's wrappers: the platform's own (or a library's), which says what
    to do; not the lowest one it was raised from."""
    while error is not None and error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error


def _said(error: SerializableErrorInfo | None) -> str:
    """An error's first line, its class named without its module's path."""
    if error is None:
        return ""
    line = first_line(error.message)
    kind, _, said = line.partition(": ")
    return f"{error.cls_name}: {said}" if kind.endswith(f".{error.cls_name}") else line
