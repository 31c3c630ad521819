"""The Pipes path: the entry point as a subprocess reports what an in-process run records.

The subprocess runs its Spark on the Spark Connect server started for the test run, so this
is also the real-data medallion through a remote session, compared with the local engine.
"""

import dataclasses
import time

import pytest

from atliqon_platform.backfill import backfill_everything
from atliqon_platform.definitions import build_definitions
from atliqon_platform.settings import PipesMode, load_settings
from atliqon_platform_tests.instances import platform_instance
from atliqon_platform_tests.real_platform import REAL_TABLES, content
from atliqon_platform_tests.remote_runs import UNTIL, recorded_results, seeded


@pytest.fixture(scope="module")
def pipes_run(reference_dataset, spark_connect_url, tmp_path_factory) -> dict:
    """The days of ``real_days`` (built by the local engine) as three Pipes launches of the entry
    point, each on the Spark Connect server."""
    settings = seeded(reference_dataset, tmp_path_factory.mktemp("pipes"))
    with pytest.MonkeyPatch.context() as environment, platform_instance() as instance:
        environment.setenv("ATLIQON_HOME", str(settings.home))  # the subprocesses' settings
        environment.setenv("ATLIQON_SPARK_REMOTE", spark_connect_url)
        started = time.monotonic()
        launched = dataclasses.replace(settings, pipes=PipesMode.SUBPROCESS)
        assert backfill_everything(launched, instance=instance)
        print(f"\nPipes runs up to {UNTIL} on {spark_connect_url}: {time.monotonic() - started:.0f} s")
        return {"home": settings.home, **recorded_results(instance, settings.home)}


def test_medallion_through_spark_connect_equals_the_local_engine(real_days, pipes_run):
    for table in REAL_TABLES:
        remote, local = content(pipes_run["home"], table), content(real_days["home"], table)
        assert remote.num_rows > 0 or table.endswith("_rejected"), table
        assert remote.equals(local), table


def test_pipes_reports_the_same_materialisations_and_metadata(real_days, pipes_run):
    local, remote = real_days["materialisations"], pipes_run["materialisations"]
    assert sorted(remote) == sorted(local)
    assert ("bronze/orders", UNTIL.isoformat()) in remote and len(local) > 25
    for key, metadata in local.items():
        assert remote[key]["dagster/row_count"] == metadata["dagster/row_count"], key
        # A preview is the first rows as each engine happened to write them, a history has the times
        # of each run's commits: same columns only.
        timed = ("preview", "delta_history")
        exact = {name: value for name, value in metadata.items() if name not in timed}
        assert {name: remote[key].get(name) for name in exact} == exact, key
        for name in timed:
            assert remote[key][name].splitlines()[0] == metadata[name].splitlines()[0], (key, name)


def test_pipes_reports_the_same_check_results(real_days, pipes_run):
    assert pipes_run["checks"] == real_days["checks"]


def test_a_failing_launch_tells_the_launching_run_what_to_set(spark_connect_url, tmp_path, monkeypatch):
    for name, value in {
        "ATLIQON_HOME": str(tmp_path),
        "ATLIQON_SPARK_REMOTE": spark_connect_url,
        "ATLIQON_CATALOG": "fmcg",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_PIPES": "subprocess"})
    with platform_instance() as instance:
        job = build_definitions(settings).resolve_job_def("dimensions_job")
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        errors = [
            getattr(entry.dagster_event.event_specific_data, "error", None)
            for entry in instance.all_logs(result.run_id)
            if entry.dagster_event is not None
        ]
    assert not result.success
    reported = " ".join(error.to_string() for error in errors if error is not None)
    # the child's own words, one line, as the backfill says a run's failure (run_failures.py)
    said = "dimensions_job failed: ConfigurationError: catalog 'fmcg' does not exist in this Spark session"
    assert said in reported
    assert not (tmp_path / "lake").exists()
