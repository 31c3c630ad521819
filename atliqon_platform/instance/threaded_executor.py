"""Steps of a run on threads of the run's one process, sharing its resources and Spark session.

Why: a Delta commit spends most of its time waiting (its log, the scheduler, the files), so
commits on different tables overlap well on one Spark session (12 commits: 23.0 s in series,
13.7 s on 2 threads, 9.0 s on 4; BENCHMARKS.md). Dagster's in-process executor runs one step
at a time, and its multiprocess executor starts a process (and a JVM) per step. This one runs
every step whose inputs are ready, up to ``max_concurrent`` at once, in the same process.
When more steps are ready than there are threads, the one heading the longest chain of steps
still to run starts first (``critical_path_first``).

Events are created (and written to the instance) by the step's own thread, as in Dagster's
executors; this thread hands them to the plan in the order they arrive. A terminated run stops
starting steps and waits for the running ones: a thread cannot be stopped halfway. It
interrupts the run's resources that can cancel their work in flight (``Interruptible``: the Spark
session), so a step waiting on a long query fails at once instead of finishing it. Each step's
write is one commit either way.

A run whose failed steps all failed because their engine did (``engine_failure``), not their
data, may be retried by Dagster's run retries, which skip a run a step failed in
(``retry_on_asset_or_op_failure``).
"""

from __future__ import annotations

import os
import queue
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, Protocol, runtime_checkable

from dagster import (
    DagsterInstance,
    ExecuteInProcessResult,
    Executor,
    Field,
    InitExecutorContext,
    JobDefinition,
    executor,
)

# Dagster exports the Executor interface, not the machinery an executor drives: the plan's
# bookkeeping, a step's event sequence and the run-wide log capture are what its own in-process
# and multiprocess executors use.
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import (
    PlanExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
)
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.execute_in_process import core_execute_in_process
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.step import ExecutionStep
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.storage.tags import PRIORITY_TAG, RETRY_ON_ASSET_OR_OP_FAILURE_TAG

_POLL_SECONDS = 0.5  # how often the plan looks for a termination request while steps run
_DONE = None  # what a step's thread puts last, after its events


@runtime_checkable
class Interruptible(Protocol):
    """A resource whose work in flight another thread can cancel."""

    def interrupt_operations(self) -> None: ...


def _interrupt_resources(job_context: PlanExecutionContext) -> None:
    for resource in job_context.scoped_resources_builder.resource_instance_dict.values():
        if isinstance(resource, Interruptible):
            resource.interrupt_operations()


def failed_by_its_engine(error: BaseException | None) -> bool:
    """Whether an error, or one it was raised from, is its engine's: its class sets
    ``engine_failure`` (the Spark engine of `atliqon up` lost under the run, say). The same run
    on the same data may then succeed, as it would not after a rule or a file failed it."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if getattr(error, "engine_failure", False):
            return True
        seen.add(id(error))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return False


def _retried_if_its_engine_failed_it(
    job_context: PlanExecutionContext, failed: Mapping[str, bool]
) -> Iterator[DagsterEvent]:
    """Let Dagster's run retries retry a run whose failed steps (``failed``: each one's
    ``failed_by_its_engine``) all failed because of their engine, which they would not for a
    failed step (``retry_on_asset_or_op_failure``). The run's tag overrides the instance's
    setting; Dagster reads it when the run fails, after this. A step failed by its data keeps
    the run from a retry, also when its parent run passed the tag on to it."""
    by_engine = [key for key, engine in failed.items() if engine]
    if by_engine and len(by_engine) == len(failed):
        job_context.instance.add_run_tags(job_context.run_id, {RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "true"})
        yield DagsterEvent.engine_event(
            job_context,
            f"{', '.join(by_engine)} failed because the engine did, not the data: Dagster's daemon "
            "retries a run it or the UI launched (run_retries in dagster.yaml: once under atliqon up)",
            EngineEventData(),
        )
    elif len(by_engine) < len(failed) and job_context.dagster_run.tags.get(RETRY_ON_ASSET_OR_OP_FAILURE_TAG):
        job_context.instance.add_run_tags(job_context.run_id, {RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "false"})


def _run_step(step_context: StepExecutionContext, events: queue.Queue) -> None:
    try:
        for event in dagster_event_sequence_for_step(step_context):
            events.put((step_context.step.key, event))
    finally:
        events.put((step_context.step.key, _DONE))


def critical_path_first(execution_plan: ExecutionPlan) -> Callable[[ExecutionStep], float]:
    """The order in which ready steps start: by their ``dagster/priority`` tag as in Dagster's own
    executors, then the step with the longest chain of steps waiting on it first.

    Why: in the order of the plan, the dimensions job started silver.products after the parent
    company's four silver tables, and everything after it waits on it (its checks, gross prices,
    their checks, the gold price dims): the chain ran last, at the end of the run
    (BENCHMARKS.md)."""
    waiting_on: dict[str, set[str]] = defaultdict(set)
    for key, upstream in execution_plan.get_executable_step_deps().items():
        for dependency in upstream:
            waiting_on[dependency].add(key)
    chain: dict[str, int] = {}
    for step in reversed(execution_plan.get_steps_to_execute_in_topo_order()):
        chain[step.key] = 1 + max((chain[key] for key in waiting_on[step.key] if key in chain), default=0)
    longest = max(chain.values(), default=0) + 1

    def sort_key(step: ExecutionStep) -> float:
        return -(int(step.tags.get(PRIORITY_TAG, 0)) * longest + chain.get(step.key, 0))

    return sort_key


@contextmanager
def _children_deaf_to_ctrl_c() -> Iterator[None]:
    """SIGINT blocked in this thread while the processes that mirror the run's output start (a
    ``tail`` and a watcher of Dagster's each for stdout and stderr): they inherit the mask. Ctrl-C
    reaches the terminal's whole process group, and each watcher printed a traceback of it; the
    run stops them itself as it ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _threaded_plan(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan, threads: int
) -> Iterator[DagsterEvent]:
    compute_logs = job_context.instance.compute_log_manager
    step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    with ExitStack() as stack:
        concurrency = stack.enter_context(
            InstanceConcurrencyContext(job_context.instance, job_context.dagster_run)
        )
        active = stack.enter_context(
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                sort_key_fn=critical_path_first(execution_plan),
                max_concurrent=threads,
                instance_concurrency_context=concurrency,
                step_dependency_config=job_context.step_dependency_config,
            )
        )
        # The process's output, captured once for the whole run as the in-process executor does.
        log_key = compute_logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        with _children_deaf_to_ctrl_c():
            log_context = stack.enter_context(compute_logs.capture_logs(log_key))
        yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)

        pool = stack.enter_context(ThreadPoolExecutor(threads, thread_name_prefix="step"))
        events: queue.Queue = queue.Queue()
        running: dict[str, tuple[Future, StepExecutionContext, list[DagsterEvent]]] = {}
        stopping, next_interrupt = False, 0.0
        failed: dict[str, bool] = {}  # each failed step: whether its engine failed it
        while running or (not stopping and not active.is_complete):
            if not stopping and active.check_for_interrupts():
                stopping = True
                active.mark_interrupted()
                yield DagsterEvent.engine_event(
                    job_context,
                    f"Run terminated: cancelling the running steps' engine calls ({', '.join(running)})",
                    EngineEventData.interrupted(list(running)),
                )
            if stopping and time.monotonic() >= next_interrupt:
                # Again while steps run: one may have started another engine call since.
                _interrupt_resources(job_context)
                next_interrupt = time.monotonic() + _POLL_SECONDS
            if not stopping:
                for step in active.get_steps_to_execute(limit=threads - len(running)):
                    step_context = job_context.for_step(step, active.get_known_state())
                    running[step.key] = (pool.submit(_run_step, step_context, events), step_context, [])
                yield from active.concurrency_event_iterator(job_context)
                if not running:
                    active.sleep_til_ready()
                    continue
            try:
                key, event = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            future, step_context, step_events = running[key]
            if event is not _DONE:
                step_events.append(event)
                yield event
                active.handle_event(event)
                continue
            del running[key]
            future.result()  # an error of the executor itself (not of the step) ends the run here
            if any(event.is_step_failure for event in step_events):
                failed[key] = failed_by_its_engine(step_context.step_exception)
            active.verify_complete(job_context, key)
            yield from active.plan_events_iterator(job_context)
            yield from _trigger_hook(step_context, step_events)
        yield from _retried_if_its_engine_failed_it(job_context, failed)
        if stopping:
            raise DagsterExecutionInterruptedError()


class ThreadedExecutor(Executor):
    def __init__(self, retries: RetryMode, max_concurrent: int) -> None:
        self._retries = retries
        self.max_concurrent = max_concurrent

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps on up to {self.max_concurrent} threads of one process (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), execution_plan.step_keys_to_execute),
        )
        yield from ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=partial(_threaded_plan, threads=self.max_concurrent),
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job,
                retry_mode=plan_context.retry_mode,
                execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config,
                dagster_run=plan_context.dagster_run,
                instance=plan_context.instance,
                raise_on_error=plan_context.raise_on_error,
                output_capture=plan_context.output_capture,
            ),
        )


@executor(
    name="threaded_executor",
    config_schema={
        "max_concurrent": Field(int, description="Steps running at once (ATLIQON_STEP_THREADS)."),
        "retries": get_retries_config(),
    },
)
def threaded_executor(init_context: InitExecutorContext) -> ThreadedExecutor:
    """Steps of a run on threads of one process: one Spark session, several commits at once."""
    config = init_context.executor_config
    return ThreadedExecutor(RetryMode.from_config(config["retries"]), config["max_concurrent"])


# A run's console from INFO up, as `atliqon up`'s runs print (cli.py's dagster.yaml): its
# messages, warnings and failures; each step's start, output and end at DEBUG stay in the instance.
INFO_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def execute_in_this_process(
    job: JobDefinition,
    instance: DagsterInstance,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """``job`` run here on its own executor (the code location's: its steps on threads), recorded
    in ``instance`` like a launched run, with the assets it was subset to.

    ``JobDefinition.execute_in_process`` would run it on Dagster's serial in-process executor
    whatever executor the job names.
    """
    selected = job.asset_selection
    return core_execute_in_process(
        run_config=run_config or {},
        job=InMemoryJob(job),
        instance=instance,
        output_capturing_enabled=False,
        raise_on_error=False,
        run_tags=tags,
        asset_selection=frozenset(selected) if selected is not None else None,
    )
