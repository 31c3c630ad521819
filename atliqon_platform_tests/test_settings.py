import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from atliqon_platform.lifecycle import HomeLock
from atliqon_platform.resources.spark import SparkSessionResource, spark_config
from atliqon_platform.settings import (
    VARIABLES,
    ConfigurationError,
    Environment,
    delta_storage_options,
    load_settings,
)


def test_local_default(tmp_path):
    settings = load_settings({"ATLIQON_HOME": str(tmp_path)})
    assert settings.env is Environment.LOCAL
    assert settings.landing_uri == str(tmp_path / "landing")
    assert settings.lake_uri == str(tmp_path / "lake")
    assert settings.dagster_home == tmp_path / "dagster"


ROOT = Path(__file__).resolve().parents[1]


def test_a_misspelt_variable_is_named_with_the_setting_it_may_mean():
    """Else its setting kept its default with no word: ATLIQON_ENVIRONMENT=s3 ran locally."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"ATLIQON_ENVIRONMENT": "s3"})
    assert str(refused.value) == (
        "ATLIQON_ENVIRONMENT is no setting of the platform (did you mean ATLIQON_ENV?): unset it; "
        "the settings are in README.md, Configuration"
    )
    with pytest.raises(ConfigurationError, match="ATLIQON_SPARK_MEMORY .*ATLIQON_SPARK_DRIVER_MEMORY"):
        load_settings({"ATLIQON_SPARK_MEMORY": "1g"})


def test_the_variables_known_are_those_the_code_reads_and_the_readme_names():
    def named(text: str) -> set[str]:
        return set(re.findall(r"\bATLIQON_[A-Z_]+[A-Z]\b", text))

    code = set().union(*(named(path.read_text()) for path in (ROOT / "atliqon_platform").rglob("*.py")))
    assert code == VARIABLES
    assert named((ROOT / "README.md").read_text()) == VARIABLES


def test_unknown_environment_lists_valid_ones():
    with pytest.raises(
        ConfigurationError, match="ATLIQON_ENV='cloud' is not valid; use one of: local, s3, databricks"
    ):
        load_settings({"ATLIQON_ENV": "cloud"})


def test_s3_needs_both_uris():
    with pytest.raises(ConfigurationError, match="needs ATLIQON_LANDING_URI"):
        load_settings({"ATLIQON_ENV": "s3", "ATLIQON_LAKE_URI": "s3://b/lake"})
    with pytest.raises(ConfigurationError, match="must look like s3://bucket/prefix"):
        load_settings({"ATLIQON_ENV": "s3", "ATLIQON_LANDING_URI": "/tmp/x", "ATLIQON_LAKE_URI": "s3://b/l"})
    settings = load_settings(
        {"ATLIQON_ENV": "s3", "ATLIQON_LANDING_URI": "s3://b/landing/", "ATLIQON_LAKE_URI": "s3://b/lake"}
    )
    assert (settings.landing_uri, settings.lake_uri) == ("s3://b/landing", "s3://b/lake")


def test_spark_remote_must_be_a_connect_url():
    with pytest.raises(ConfigurationError, match="sc://host:port"):
        load_settings({"ATLIQON_SPARK_REMOTE": "http://x"})


def test_delta_storage_options_only_for_s3():
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "k"}
    assert delta_storage_options("/tmp/lake", environ) == {}
    options = delta_storage_options("s3://b/lake", environ)
    assert options["AWS_ALLOW_HTTP"] == "true" and options["AWS_REGION"] == "eu-west-1"


def test_automation_is_on_locally_and_off_elsewhere_unless_asked():
    assert load_settings({}).automation_on
    s3 = {"ATLIQON_ENV": "s3", "ATLIQON_LANDING_URI": "s3://b/l", "ATLIQON_LAKE_URI": "s3://b/k"}
    assert not load_settings(s3).automation_on
    assert load_settings({**s3, "ATLIQON_AUTOMATION": "on"}).automation_on
    with pytest.raises(ConfigurationError, match="ATLIQON_AUTOMATION='yes' is not valid; use on or off"):
        load_settings({"ATLIQON_AUTOMATION": "yes"})


def test_spark_code_generation_is_off_unless_asked_for_a_build_of_millions_of_lines():
    assert spark_config(load_settings({}))["spark.sql.codegen.wholeStage"] == "false"
    generated = spark_config(load_settings({"ATLIQON_SPARK_CODEGEN": "on"}))
    assert generated["spark.sql.codegen.wholeStage"] == "true"
    assert generated["spark.sql.codegen.factoryMode"] == "FALLBACK"
    with pytest.raises(ConfigurationError, match="ATLIQON_SPARK_CODEGEN='1' is not valid; use on or off"):
        load_settings({"ATLIQON_SPARK_CODEGEN": "1"})


def test_the_jvms_class_archives_live_in_the_users_cache_beside_the_jars_unless_switched_off(tmp_path):
    settings = load_settings({"XDG_CACHE_HOME": str(tmp_path)})
    assert settings.spark_class_archives == tmp_path / "atliqon" / "classes"
    assert settings.spark_jars_cache == tmp_path / "atliqon" / "jars"
    assert load_settings({"ATLIQON_SPARK_CLASS_ARCHIVE": "off"}).spark_class_archives is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ATLIQON_MAX_REJECTED_SHARE", "1.5"),
        ("ATLIQON_MAX_REJECTED_SHARE", "half"),
        ("ATLIQON_SENSOR_INTERVAL_SECONDS", "0"),
        ("ATLIQON_STEP_THREADS", "0"),
    ],
)
def test_numbers_out_of_range_say_the_range(name, value):
    with pytest.raises(ConfigurationError, match=rf"{name}='{value}' must be a number from"):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [("ATLIQON_SENSOR_INTERVAL_SECONDS", "2.5"), ("ATLIQON_STEP_THREADS", "1.5")],
)
def test_counts_are_whole_numbers(name, value):
    with pytest.raises(ConfigurationError, match=rf"{name}='{value}' must be a whole number from 1 to"):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("name", "value", "use"),
    [
        ("ATLIQON_SPARK_MASTER", "bogus", "use local[*], local[N], or a cluster's URL"),
        ("ATLIQON_SPARK_MASTER", "local[two]", "use local[*], local[N], or a cluster's URL"),
        ("ATLIQON_SPARK_DRIVER_MEMORY", "lots", "use a size such as 4g or 2048m"),
        ("ATLIQON_SPARK_DRIVER_MEMORY", "4", "use a size such as 4g or 2048m"),  # 4 bytes to the JVM
        ("ATLIQON_SPARK_DRIVER_MEMORY", "4gb", "use a size such as 4g or 2048m"),  # -Xmx4gb: refused
    ],
)
def test_a_spark_setting_spark_would_refuse_is_refused_at_start_up(name, value, use):
    """Spark would refuse it only once a run starts its JVM, in a hundred lines of the run's log."""
    with pytest.raises(ConfigurationError) as error:
        load_settings({name: value})
    assert str(error.value) == f"{name}={value!r} is not valid; {use}"


def test_spark_settings_spark_takes_are_taken():
    for master in (
        "local",
        "local[2]",
        "local[*]",
        "local[4,2]",
        "local[4, 2]",
        "spark://10.0.0.5:7077",
        "yarn",
    ):
        assert load_settings({"ATLIQON_SPARK_MASTER": master}).spark_master == master
    for memory in ("4g", "2048m", "1G", "1t"):
        assert load_settings({"ATLIQON_SPARK_DRIVER_MEMORY": memory}).spark_driver_memory == memory


def test_an_empty_home_setting_is_the_default_home_not_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({"ATLIQON_HOME": ""}).home == tmp_path / ".atliqon"
    assert load_settings({"ATLIQON_HOME": " "}).home == tmp_path / ".atliqon"
    with pytest.raises(ConfigurationError, match="ATLIQON_PORT='²' is not a TCP port"):
        load_settings({"ATLIQON_PORT": "²"})


def test_dashboard_port_and_where_its_snapshot_goes(tmp_path):
    settings = load_settings({"ATLIQON_HOME": str(tmp_path)})
    assert settings.dashboard_url == "http://127.0.0.1:8050/"
    assert settings.dashboard_snapshot_uri == f"{tmp_path}/lake/_dashboard/snapshot.html"
    assert load_settings({"ATLIQON_DASHBOARD_PORT": "9001"}).dashboard_port == 9001
    with pytest.raises(ConfigurationError, match="ATLIQON_DASHBOARD_PORT='80a' is not a TCP port"):
        load_settings({"ATLIQON_DASHBOARD_PORT": "80a"})


def test_a_run_beside_atliqon_up_uses_its_engine_and_only_while_it_runs(tmp_path):
    """`atliqon up` notes its engine in the home's lock; a dead `atliqon up` or a closed port is
    no engine (nor is a URL set by hand that a dead one noted), and ATLIQON_SPARK_REMOTE set by
    the user wins. Only the engine's sessions give up at once (resources/spark.py, bound_retries)."""
    home = {"ATLIQON_HOME": str(tmp_path)}
    lock = HomeLock(tmp_path / "dagster")
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            engine = f"sc://127.0.0.1:{server.getsockname()[1]}"
            lock.note(pid=os.getpid(), spark=engine)
            found = load_settings(home)
            assert (found.spark_remote, found.spark_remote_of_up) == (engine, True)
            assert SparkSessionResource.for_settings(found).warm_engine_of == str(found.dagster_home)
            # `atliqon up`'s own processes are told its engine in ATLIQON_SPARK_REMOTE.
            assert load_settings(home | {"ATLIQON_SPARK_REMOTE": engine}).spark_remote_of_up
            # A server of the user's, on this machine too (a tunnel): the client's own retries.
            mine = load_settings(home | {"ATLIQON_SPARK_REMOTE": "sc://127.0.0.1:1"})
            assert (mine.spark_remote, mine.spark_remote_of_up) == ("sc://127.0.0.1:1", False)
            assert SparkSessionResource.for_settings(mine).warm_engine_of is None
            ended = subprocess.Popen([sys.executable, "-c", "pass"])
            ended.wait()
            lock.note(pid=ended.pid, spark=engine)
            assert load_settings(home).spark_remote is None
            # The note of a killed `atliqon up` does not make the same URL, set by hand, its engine.
            assert not load_settings(home | {"ATLIQON_SPARK_REMOTE": engine}).spark_remote_of_up
            lock.note(pid=os.getpid(), spark=engine)
        assert load_settings(home).spark_remote is None  # the port is closed
    finally:
        lock.close()


def test_the_first_month_is_a_months_first_day_and_port_0_no_port():
    message = r"ATLIQON_FIRST_MONTH='2024-01-15' must be the first day of a month \(2024-01-01\)"
    with pytest.raises(ConfigurationError, match=message):
        load_settings({"ATLIQON_FIRST_MONTH": "2024-01-15"})
    for port in ("0", "65536"):
        with pytest.raises(ConfigurationError, match=f"ATLIQON_PORT='{port}' is not a TCP port"):
            load_settings({"ATLIQON_PORT": port})
