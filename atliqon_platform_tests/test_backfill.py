"""What `atliqon backfill` loads and says, decided before any run: days and months without a
partition are named and left out (the run over a range would else fail on Dagster's own
invariant), and a failed run is reported by what failed its steps."""

import datetime as dt
import os
import signal
import time

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    DagsterEventType,
    Definitions,
    Failure,
    InitResourceContext,
    asset,
    define_asset_job,
    materialize,
)

from atliqon_platform.backfill import days_with_partitions, for_the_terminal, months_with_partitions
from atliqon_platform.instance.threaded_executor import (
    INFO_CONSOLE,
    execute_in_this_process,
    threaded_executor,
)
from atliqon_platform.partitions import Partitions, business_today
from atliqon_platform.run_failures import failure_reasons, interrupted
from atliqon_platform.settings import ConfigurationError, load_settings
from atliqon_platform_tests.instances import platform_instance


def partitions(first_day: str, first_month: str) -> Partitions:
    settings = load_settings({"ATLIQON_FIRST_ORDER_DAY": first_day, "ATLIQON_FIRST_MONTH": first_month})
    return Partitions.for_settings(settings)


def test_order_files_of_days_without_a_partition_are_named_and_left_out(capsys):
    daily = partitions("2025-07-02", "2025-07-01").daily
    tomorrow = business_today() + dt.timedelta(days=1)
    files = {
        "orders/landing/orders_2025_07_01.csv": dt.date(2025, 7, 1),
        "orders/landing/orders_2025_07_02.csv": dt.date(2025, 7, 2),
        "orders/landing/orders_2025_07_02_late.csv": dt.date(2025, 7, 2),
        f"orders/landing/orders_{tomorrow:%Y_%m_%d}.csv": tomorrow,
        "orders/landing/orders_2025_07_05.csv": dt.date(2025, 7, 5),
    }
    assert days_with_partitions(files, daily) == [dt.date(2025, 7, 2), dt.date(2025, 7, 5)]
    assert capsys.readouterr().err.splitlines() == [
        "atliqon backfill: skipped orders/landing/orders_2025_07_01.csv: 2025-07-01 is before the daily "
        "partitions, which start on 2025-07-02 (ATLIQON_FIRST_ORDER_DAY)",
        f"atliqon backfill: skipped orders/landing/orders_{tomorrow:%Y_%m_%d}.csv: {tomorrow} has not begun "
        "in Asia/Kolkata: no partition yet (it loads once it has)",
    ]


def test_the_parents_months_are_built_within_the_monthly_partitions(capsys):
    monthly = partitions("2025-07-01", "2024-01-01").monthly
    this_month = business_today().replace(day=1)
    inside = (dt.date(2024, 3, 1), dt.date(2025, 12, 1))
    assert months_with_partitions(inside, monthly) == list(inside)
    assert capsys.readouterr().err == ""
    assert months_with_partitions((dt.date(2023, 11, 1), dt.date(2099, 1, 1)), monthly) == [
        dt.date(2024, 1, 1),
        this_month,
    ]
    assert capsys.readouterr().err.strip() == (
        f"atliqon backfill: the parent's facts of 2023-11 to 2099-01 are built for 2024-01 to "
        f"{this_month:%Y-%m} only, the months of the partitions (ATLIQON_FIRST_MONTH to this month)"
    )
    assert months_with_partitions(None, monthly) == []
    assert months_with_partitions((dt.date(2023, 1, 1), dt.date(2023, 6, 1)), monthly) == []
    assert capsys.readouterr().err.strip() == (
        "atliqon backfill: the parent's facts of 2023-01 to 2023-06 are built for no month: none is "
        "among the months of the partitions (ATLIQON_FIRST_MONTH to this month)"
    )
    not_yet = partitions("2025-07-01", "2099-01-01").monthly  # a first month still to come
    assert months_with_partitions(inside, not_yet) == []
    assert "are built for no month" in capsys.readouterr().err


def test_a_failed_run_is_reported_by_what_failed_its_steps():
    @asset
    def products() -> None:
        raise FileNotFoundError("no products file in landing/products/: deliver one")

    @asset
    def customers() -> None:
        raise Failure(description="customers.csv: header lacks customer_id")

    @asset
    def prices() -> None:  # as the Pipes launcher raises the job's failure from the client's error
        try:
            raise ValueError("the Pipes client's generic error")
        except ValueError as error:
            raise RuntimeError("the Databricks job's own failure\n  its trace") from error

    result = materialize([products, customers, prices], raise_on_error=False)
    assert sorted(failure_reasons(result.all_events)) == [
        "customers: customers.csv: header lacks customer_id",
        "prices: RuntimeError: the Databricks job's own failure",
        "products: FileNotFoundError: no products file in landing/products/: deliver one",
    ]


def test_a_run_interrupted_by_a_signal_is_told_from_one_its_steps_failed():
    """Ctrl-C (or SIGTERM, which Dagster takes as Ctrl-C) in a step: the run fails as interrupted,
    and `atliqon backfill` stops there, exit status 130, instead of reporting the steps' errors
    that the interruption caused (a Java trace per cancelled query)."""

    @asset
    def waits() -> None:
        raise KeyboardInterrupt

    @asset
    def breaks() -> None:
        raise ValueError("a rule broke")

    stopped = materialize([waits], raise_on_error=False)
    assert not stopped.success and interrupted(stopped.all_events)
    failed = materialize([breaks], raise_on_error=False)
    assert not failed.success and not interrupted(failed.all_events)
    assert failure_reasons(failed.all_events) == ["breaks: ValueError: a rule broke"]


THREADS = threaded_executor.configured({"max_concurrent": 2})
CANCELLED = "[SPARK_JOB_CANCELLED] Job 21 cancelled as part of cancellation of all jobs"


def test_the_terminal_shows_a_runs_failures_but_not_what_ctrl_c_did_to_it(capfd, monkeypatch):
    """Ctrl-C mid-step: the step's query is cancelled and fails it (a Java trace each), the steps
    after it are skipped (an error each), and the run fails with a trace of the interruption,
    some 700 lines where `atliqon backfill` says in one that the run was interrupted. The
    instance keeps them all, for the UI; a failure of the data still shows in the terminal."""
    # What a run prints reaches the terminal through Dagster's `tail` of its output, which reads
    # every second and is stopped when the run ends: given a little more than a second, it reads it all.
    monkeypatch.setenv("DAGSTER_COMPUTE_LOG_TAIL_WAIT_AFTER_FINISH", "1.1")

    @asset
    def stopped_mid_query(context: AssetExecutionContext) -> None:
        context.log.info("querying")
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        time.sleep(2)  # the run sees it, and cancels the step's query:
        raise RuntimeError(CANCELLED)

    @asset(deps=[stopped_mid_query])
    def after_it() -> None:
        pass

    @asset
    def breaks() -> None:
        raise ValueError("a rule broke")

    jobs = [define_asset_job("stopped", [stopped_mid_query, after_it]), define_asset_job("broken", [breaks])]
    defs = Definitions(assets=[stopped_mid_query, after_it, breaks], jobs=jobs, executor=THREADS)
    with platform_instance() as instance:
        capfd.readouterr()
        stopped = execute_in_this_process(
            for_the_terminal(defs.resolve_job_def("stopped")), instance, {}, INFO_CONSOLE
        )
        terminal = capfd.readouterr().err
        assert "querying" in terminal  # the run's output reached it
        assert not stopped.success and interrupted(stopped.all_events)
        [failure] = instance.all_logs(stopped.run_id, of_type=DagsterEventType.STEP_FAILURE)
        assert CANCELLED in str(failure.dagster_event.step_failure_data.error)
        for said in (CANCELLED, "Not executing", "DagsterExecutionInterruptedError", "RUN_FAILURE"):
            assert said not in terminal, said

        broken = execute_in_this_process(
            for_the_terminal(defs.resolve_job_def("broken")), instance, {}, INFO_CONSOLE
        )
        assert not broken.success
        assert "ValueError: a rule broke" in capfd.readouterr().err


def test_a_step_failed_by_a_java_error_is_reported_by_that_error(spark):
    """Not by Py4J's first line, which names only the Java call (``o73.table``)."""

    @asset
    def opens() -> None:
        spark._jvm.java.io.FileInputStream("/no/such/file")

    result = materialize([opens], raise_on_error=False)
    assert failure_reasons(result.all_events) == [
        "opens: java.io.FileNotFoundException: /no/such/file (No such file or directory)"
    ]


class UnreachableEngine(ConfigurableResource):
    def setup_for_execution(self, context: InitResourceContext) -> None:
        # The platform's words, raised from the error it met: the summary gives the former.
        refused = ConnectionRefusedError(111, "Connection refused")
        raise ConfigurationError(
            "cannot reach 127.0.0.1:9 (Connection refused): check ATLIQON_SPARK_REMOTE"
        ) from refused


def test_a_run_whose_resource_could_not_start_is_one_line_naming_its_error(capfd):
    """Dagster printed the resource's failure and the run's, each with its trace, some 120 lines;
    the backfill's own line said only that "an exception was thrown during execution"."""

    @asset
    def needs_it(engine: UnreachableEngine) -> None:
        pass

    job = define_asset_job("unstartable", [needs_it])
    defs = Definitions(
        assets=[needs_it], jobs=[job], resources={"engine": UnreachableEngine()}, executor=THREADS
    )
    with platform_instance() as instance:
        capfd.readouterr()
        result = execute_in_this_process(
            for_the_terminal(defs.resolve_job_def("unstartable")), instance, {}, INFO_CONSOLE
        )
        terminal = capfd.readouterr().err
    assert not result.success
    assert failure_reasons(result.all_events) == [
        "ConfigurationError: cannot reach 127.0.0.1:9 (Connection refused): check ATLIQON_SPARK_REMOTE"
    ]
    assert "Traceback" not in terminal and "Stack Trace" not in terminal, terminal
