"""The threaded executor on plain Dagster assets (no Spark, but for the one engine call a
termination cancels: the point is the plan): independent steps run at the same time in the run's
process, what depends on them waits, a failure fails the run and skips only what is downstream,
and a terminated run starts nothing more and cancels the Spark query its running step waits on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress

import psutil
from dagster import (
    AssetCheckSpec,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    InitExecutorContext,
    asset,
    define_asset_job,
)
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.storage.tags import (
    RETRY_ON_ASSET_OR_OP_FAILURE_TAG,
    RUN_FAILURE_REASON_TAG,
    WILL_RETRY_TAG,
)
from dagster._core.system_config.objects import ResolvedRunConfig

from atliqon_platform.checks.results import check_step
from atliqon_platform.definitions import build_definitions
from atliqon_platform.instance.threaded_executor import execute_in_this_process, threaded_executor
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.spark import SparkEngineLostError
from atliqon_platform.settings import load_settings
from atliqon_platform_tests.instances import atliqon_instance, platform_instance

WAIT = 60  # seconds a step waits for its sibling before giving up


def on_threads(threads: int):
    return threaded_executor.configured({"max_concurrent": threads})


def run(assets: list, selection: str = "*", threads: int = 4):
    job = define_asset_job("threaded", selection=selection)
    defs = Definitions(assets=assets, jobs=[job], executor=on_threads(threads))
    with platform_instance() as instance:
        result = execute_in_this_process(defs.resolve_job_def("threaded"), instance, {})
        materialised = {event.asset_key for event in result.all_events if event.is_step_materialization}
        return result, materialised


def start_order(result) -> list[str]:
    return [event.step_key for event in result.all_events if event.event_type_value == "STEP_START"]


def started_steps(result) -> set[str]:
    return set(start_order(result))


def test_independent_steps_run_at_once_in_the_runs_process_and_their_child_after_both():
    # Each of the two waits for the other: run one at a time, the first would wait in vain.
    both_running = threading.Barrier(2, timeout=WAIT)
    seen: dict[str, tuple[int, str]] = {}

    def side(name: str):
        @asset(name=name)
        def _side() -> None:
            both_running.wait()
            seen[name] = (os.getpid(), threading.current_thread().name)

        return _side

    @asset(deps=["left", "right"])
    def child() -> None:
        seen["child"] = (os.getpid(), ",".join(sorted(seen)))

    result, materialised = run([side("left"), side("right"), child])
    assert result.success
    assert materialised == {AssetKey("left"), AssetKey("right"), AssetKey("child")}
    assert {pid for pid, _ in seen.values()} == {os.getpid()}
    assert seen["left"][1] != seen["right"][1]  # two threads
    assert seen["child"][1] == "left,right"  # started once both had ended


def test_with_more_ready_steps_than_threads_the_head_of_the_longest_chain_starts_first():
    def chain_of(names: list[str], first_tags: dict[str, str] | None = None) -> list:
        assets, upstream = [], []
        for index, name in enumerate(names):
            tags = first_tags if index == 0 and first_tags else None
            assets.append(asset(name=name, deps=upstream, op_tags=tags)(lambda: None))
            upstream = [name]
        return assets

    # In the plan's own order "alone" comes first: it sorts before "chain_1" and is defined first.
    result, _ = run([*chain_of(["alone"]), *chain_of(["chain_1", "chain_2", "chain_3"])], threads=1)
    assert result.success
    order = start_order(result)
    assert order[:2] == ["chain_1", "chain_2"], order
    # A step's dagster/priority tag still comes before the chain's length, as in Dagster's executors.
    urgent = chain_of(["alone"], {"dagster/priority": "1"})
    result, _ = run([*urgent, *chain_of(["chain_1", "chain_2", "chain_3"])], threads=1)
    assert start_order(result)[0] == "alone"


def test_a_failed_step_fails_the_run_and_skips_only_what_is_downstream():
    @asset
    def broken() -> None:
        raise ValueError("bad input in broken")

    @asset
    def fine() -> None:
        pass

    @asset(deps=[broken])
    def after_broken() -> None:
        pass

    result, materialised = run([broken, fine, after_broken])
    assert not result.success
    assert materialised == {AssetKey("fine")}
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["broken"]
    assert "bad input in broken" in str(failures[0].step_failure_data.error)
    assert started_steps(result) == {"broken", "fine"}  # after_broken never started


def test_a_step_its_engine_failed_lets_the_run_be_retried_and_a_step_its_data_failed_does_not(tmp_path, lake):
    """On the instance ``atliqon`` writes, Dagster retries a failed run unless a step failed it
    (cli.py's run_retries); a step failed by its engine does not count, even when the error the
    step raised only names it as its cause. A check step failed by its engine records no failed
    check: its checks did not run."""
    engine_lost = SparkEngineLostError("the Spark engine at sc://127.0.0.1:1 is gone (it does not answer)")

    @asset
    def written_on_a_lost_engine() -> None:
        raise RuntimeError("silver/orders: the write failed") from engine_lost

    @asset
    def given_bad_data() -> None:
        raise ValueError("bad input in given_bad_data")

    @asset
    def checked_on_a_lost_engine() -> None:
        pass

    def checking_on_a_lost_engine(lake: DeltaLakeResource, scope, instance) -> Iterator:
        raise engine_lost
        yield  # a generator, as every table's rules are

    spec = AssetCheckSpec("rows_add_up", asset=checked_on_a_lost_engine.key, blocking=True)
    broken = [written_on_a_lost_engine, given_bad_data, checked_on_a_lost_engine]
    defs = Definitions(
        assets=broken,
        asset_checks=[check_step("lost_engine_checks", [spec], checking_on_a_lost_engine)],
        jobs=[define_asset_job(asset.key.path[0], selection=[asset.key]) for asset in broken]
        + [
            define_asset_job(
                "lost_engine_and_bad_data", selection=["written_on_a_lost_engine", "given_bad_data"]
            )
        ],
        resources={"lake": lake},
        executor=on_threads(2),
    )
    with atliqon_instance(tmp_path / "dagster") as instance:
        for job in [*(asset.key.path[0] for asset in broken), "lost_engine_and_bad_data"]:
            execute_in_this_process(defs.resolve_job_def(job), instance, {"who": job})
        # A retry of a run its engine failed carries its parent's tag: its own bad data still counts.
        retry = {"who": "a retry given bad data", RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "true"}
        execute_in_this_process(defs.resolve_job_def("given_bad_data"), instance, retry)
        runs = {run.tags["who"]: run for run in instance.get_runs()}
        assert {run.status for run in runs.values()} == {DagsterRunStatus.FAILURE}
        assert {run.tags[RUN_FAILURE_REASON_TAG] for run in runs.values()} == {"STEP_FAILURE"}
        assert {name: run.tags[WILL_RETRY_TAG] for name, run in runs.items()} == {
            "written_on_a_lost_engine": "true",
            "given_bad_data": "false",
            "checked_on_a_lost_engine": "true",
            "lost_engine_and_bad_data": "false",  # the bad data would fail the same way again
            "a retry given bad data": "false",
        }
        said = [
            entry.message
            for run in runs.values()
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if "failed because the engine did" in entry.message
        ]
        assert sorted(message.split()[0] for message in said) == [
            "lost_engine_checks",
            "written_on_a_lost_engine",
        ]
        checked = instance.all_logs(runs["checked_on_a_lost_engine"].run_id)
        assert [
            entry for entry in checked if entry.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        ] == []


def test_a_terminated_run_waits_for_its_running_steps_and_starts_no_other():
    @asset
    def terminated_while_running() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what terminating the run from the UI sends
        time.sleep(2)  # still running when the run sees the request

    @asset(deps=[terminated_while_running])
    def next_step() -> None:
        pass

    result, materialised = run([terminated_while_running, next_step])
    assert not result.success
    assert materialised == {AssetKey("terminated_while_running")}
    assert started_steps(result) == {"terminated_while_running"}


def test_ctrl_c_stops_the_run_not_the_processes_mirroring_its_output():
    """Ctrl-C reaches the terminal's whole process group: the processes that mirror the run's
    output (a ``tail`` and a watcher of Dagster's for each stream) go on until the run ends and
    stops them, instead of each watcher printing a traceback of the KeyboardInterrupt."""
    alive = {}

    @asset
    def mirrored() -> None:
        mirroring = []
        for child in psutil.Process().children():
            with suppress(psutil.NoSuchProcess):  # a child of an earlier test, ended (reaped or not)
                if child.name() == "tail" or any("watch_orphans" in part for part in child.cmdline()):
                    mirroring.append(child)
        for child in mirroring:
            child.send_signal(signal.SIGINT)
        time.sleep(1.5)
        alive.update({child.pid: child.status() != psutil.STATUS_ZOMBIE for child in mirroring})

    result, _ = run([mirrored])
    assert result.success
    assert len(alive) == 4 and all(alive.values()), alive


def terminated_while_waiting_on_spark(lake: DeltaLakeResource) -> None:
    """A query of minutes on the lake's session, and the run terminated once it runs (SIGINT,
    what terminating the run from the UI sends)."""
    threading.Timer(2, os.kill, (os.getpid(), signal.SIGINT)).start()
    lake.spark.spark_session.range(3 * 10**9).selectExpr("sum(id)").collect()  # 4 minutes here


def test_a_terminated_run_cancels_the_spark_query_its_running_step_waits_on(lake):
    """Terminated while a step waits on a query of minutes, the run ends in seconds: the query is
    cancelled (through the lake's session, as the platform's steps hold it), so the step fails
    with Spark's own words and nothing after it starts."""

    @asset
    def minutes_of_work(lake: DeltaLakeResource) -> None:
        terminated_while_waiting_on_spark(lake)

    @asset(deps=[minutes_of_work])
    def next_step() -> None:
        pass

    job = define_asset_job("threaded", selection="*")
    defs = Definitions(
        assets=[minutes_of_work, next_step], jobs=[job], resources={"lake": lake}, executor=on_threads(4)
    )
    started = time.monotonic()
    with platform_instance() as instance:
        result = execute_in_this_process(defs.resolve_job_def("threaded"), instance, {})
    assert time.monotonic() - started < WAIT
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "minutes_of_work"
    assert "cancel" in str(failure.step_failure_data.error).lower()
    assert started_steps(result) == {"minutes_of_work"}
    assert lake.spark.spark_session.range(3).count() == 3  # the session goes on for the next run


# A run's local session, its JVM then killed (as SIGTERM to a process group stops it first), then
# the cancelling of its calls that the run's termination does.
CANCEL_ON_A_GONE_ENGINE = """
import sys
from pathlib import Path
import psutil
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform_tests.instances import home_settings
resource = SparkSessionResource.for_settings(home_settings(Path(sys.argv[1])))
assert resource.spark_session.range(3).count() == 3
for child in psutil.Process().children(recursive=True):
    child.kill()
    child.wait()
resource.interrupt_operations()
print("cancelled nothing, raised nothing")
"""


def test_a_termination_that_finds_its_engine_gone_cancels_nothing_and_raises_nothing(tmp_path):
    """Else the run's termination fails on the dead engine's connection, and says so in place of
    the termination, in a Java trace hundreds of lines long."""
    ended = subprocess.run(
        [sys.executable, "-c", CANCEL_ON_A_GONE_ENGINE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ended.stdout.strip() == "cancelled nothing, raised nothing", ended.stderr[-3000:]


def test_checks_whose_queries_a_termination_cancelled_record_no_failure(lake):
    """A check step waiting on its query when the run is terminated (the UI's Terminate, or
    `atliqon up` stopping) fails, and records no result: its checks did not run. A failed
    blocking check would hold gold back and show red until the table is written again."""

    @asset
    def checked() -> None:
        pass

    def minutes_of_checking(lake: DeltaLakeResource, scope, instance) -> Iterator:
        terminated_while_waiting_on_spark(lake)
        yield from ()

    specs = [AssetCheckSpec("rows_add_up", asset=checked.key, blocking=True)]
    defs = Definitions(
        assets=[checked],
        asset_checks=[check_step("checked_checks", specs, minutes_of_checking)],
        jobs=[define_asset_job("threaded", selection="*")],
        resources={"lake": lake},
        executor=on_threads(4),
    )
    with platform_instance() as instance:
        result = execute_in_this_process(defs.resolve_job_def("threaded"), instance, {})
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "checked_checks"
    assert "cancel" in str(failure.step_failure_data.error).lower()
    assert [event for event in result.all_events if event.event_type_value == "ASSET_CHECK_EVALUATION"] == []


def max_concurrent(job) -> int:
    """The steps at once of ``job``'s executor, as a run resolves it."""
    assert job.executor_def.name == "threaded_executor"
    config = ResolvedRunConfig.build(job, {}).execution.execution_engine_config
    context = InitExecutorContext(InMemoryJob(job), job.executor_def, config, DagsterInstance.ephemeral())
    return job.executor_def.executor_creation_fn(context).max_concurrent


def test_every_run_goes_on_as_many_threads_as_asked(tmp_path):
    """Every run goes on the job as the code location defines it: the daemon's, the UI's, the
    headless backfill's and the Pipes entry point's (``execute_in_this_process``)."""
    settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_STEP_THREADS": "3"})
    assert max_concurrent(build_definitions(settings).resolve_job_def("dimensions_job")) == 3
