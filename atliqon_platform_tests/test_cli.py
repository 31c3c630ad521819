"""The atliqon command as a user runs it: seeding and configuration errors (its backfill and ``up``
are in test_up.py, on one home)."""

import csv
import socket
import subprocess
import sys
from pathlib import Path

from atliqon_platform_tests.commands import atliqon


def test_seed_from_reference_until_a_day(tmp_path, reference_dataset):
    result = atliqon("seed", "--from", str(reference_dataset), "--until", "2025-07-03", home=tmp_path)
    assert result.returncode == 0, result.stderr
    orders = sorted(path.name for path in (tmp_path / "landing" / "orders" / "landing").iterdir())
    assert orders == ["orders_2025_07_01.csv", "orders_2025_07_02.csv", "orders_2025_07_03.csv"]
    assert (tmp_path / "landing" / "parent" / "full_load" / "fact_orders.csv").is_file()
    assert not (tmp_path / "landing" / "parent" / "incremental_load").exists()


def test_demo_seed_at_the_size_of_the_users_data(tmp_path):
    result = atliqon("seed", "--demo", "--days", "3", "--lines-per-day", "250", home=tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "landing" / "orders" / "landing").iterdir())
    assert [path.name for path in files] == [
        "orders_2025_07_01.csv",
        "orders_2025_07_02.csv",
        "orders_2025_07_03.csv",
    ]
    for path in files:
        with path.open(newline="") as file:
            assert len(list(csv.DictReader(file))) == 250, path.name
    assert "demo data: 3 days from 2025-07-01, 750 order lines (250 a day)" in result.stdout
    assert "order files" not in result.stderr  # its progress bar is for a terminal, not a pipe


def test_demo_size_options_are_checked(tmp_path):
    result = atliqon("seed", "--from", str(tmp_path), "--days", "3", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("error: --days and --lines-per-day go with --demo")
    result = atliqon("seed", "--demo", "--lines-per-day", "0", home=tmp_path)
    assert result.returncode == 2
    assert "'0' is not a whole number of at least 1" in result.stderr


def refuses_a_port_in_use(command: str, server: str, setting: str, home: Path) -> None:
    """``atliqon <command> --port P``, while something else listens on P, stops in one line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = atliqon(command, "--port", str(port), home=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"atliqon: configuration error: cannot serve {server} on 127.0.0.1:{port} "
        f"(Address already in use); choose another --port or {setting}"
    )


def test_up_on_a_port_in_use_is_one_clear_line_before_anything_starts(tmp_path):
    refuses_a_port_in_use("up", "the Dagster UI", "ATLIQON_PORT", tmp_path)
    assert list(tmp_path.iterdir()) == []  # not even the demo data, nor the home's instance


def test_configuration_error_is_one_clear_line(tmp_path):
    result = atliqon("backfill", home=tmp_path, ATLIQON_ENV="cloud")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atliqon: configuration error: ATLIQON_ENV='cloud' is not valid; use one of: local, s3, databricks"
    )


def test_a_backfill_with_nothing_landed_fails_saying_what_to_deliver(tmp_path):
    result = atliqon("backfill", home=tmp_path)
    assert result.returncode == 1
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("run ")]
    assert " of dimensions_job failed: " in failed
    assert "bronze__products: " in failed and "no products file in " in failed, failed
    assert result.stdout.splitlines()[-1].startswith("failed in ")


def test_unreachable_s3_endpoint_is_one_clear_error(tmp_path):
    result = atliqon(
        "seed",
        "--demo",
        home=tmp_path,
        ATLIQON_ENV="s3",
        ATLIQON_LANDING_URI="s3://b/landing",
        ATLIQON_LAKE_URI="s3://b/lake",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
    )
    assert result.returncode == 2
    assert result.stderr.startswith("atliqon: cannot use S3 (Could not connect to the endpoint URL")
    assert "Traceback" not in result.stderr


def test_a_bucket_that_does_not_exist_is_one_clear_error(tmp_path, s3_endpoint):
    result = atliqon(
        "seed",
        "--demo",
        "--days",
        "1",
        home=tmp_path,
        ATLIQON_ENV="s3",
        ATLIQON_LANDING_URI="s3://no-such-bucket/landing",
        ATLIQON_LAKE_URI="s3://no-such-bucket/lake",
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="x",
        AWS_REGION="us-east-1",
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atliqon: configuration error: the S3 bucket no-such-bucket of ATLIQON_LANDING_URI does not "
        "exist: create it, or set ATLIQON_LANDING_URI to a bucket that does"
    )


def test_a_lake_bucket_that_does_not_exist_is_one_line_before_any_run(tmp_path, s3_bucket):
    """Else each step of the first run failed on it with a Java trace, and the run's summary named
    a Py4J call. Partial credentials are one line too."""
    s3 = {
        "ATLIQON_ENV": "s3",
        "ATLIQON_LANDING_URI": f"s3://{s3_bucket}/landing",
        "ATLIQON_LAKE_URI": "s3://no-lake-bucket/lake",
    }
    result = atliqon("backfill", home=tmp_path, **s3)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atliqon: configuration error: the S3 bucket no-lake-bucket of ATLIQON_LAKE_URI does not "
        "exist: create it, or set ATLIQON_LAKE_URI to a bucket that does"
    )
    assert not (tmp_path / "dagster").exists()
    result = atliqon("seed", "--demo", "--days", "1", home=tmp_path, **s3, AWS_SECRET_ACCESS_KEY="")
    assert result.returncode == 2
    assert result.stderr.startswith("atliqon: cannot use S3 (Partial credentials found"), result.stderr
    result = atliqon("up", home=tmp_path, **s3, AWS_PROFILE="nope")
    assert result.returncode == 2
    assert result.stderr.startswith("atliqon: cannot use S3 (The config profile (nope) could not be found)")


def test_a_home_that_is_a_file_is_one_clear_error(tmp_path):
    home = tmp_path / "a-file"
    home.write_text("not a folder")
    result = atliqon("seed", "--demo", "--days", "1", home=home)
    assert result.returncode == 2
    assert result.stderr.startswith("atliqon: [Errno 20] Not a directory: "), result.stderr
    assert str(home) in result.stderr and "Traceback" not in result.stderr


def test_ports_and_hosts_that_cannot_be_served_are_one_clear_line(tmp_path):
    for command in ("up", "dashboard"):
        result = atliqon(command, "--port", "70000", home=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().endswith("'70000' is not a TCP port; use a number from 1 to 65535")
    # an IPv6 address is probed as the dashboard's server binds it
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = atliqon("dashboard", "--host", "::1", "--port", str(port), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"atliqon: configuration error: cannot serve the dashboard on ::1:{port} "
        "(Address already in use); choose another --port or ATLIQON_DASHBOARD_PORT"
    )
    # an address of another machine (TEST-NET-3): the host is what to change, not the port
    result = atliqon("dashboard", "--host", "203.0.113.7", "--port", "8050", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atliqon: configuration error: cannot serve the dashboard on 203.0.113.7:8050 "
        "(Cannot assign requested address); choose another --host"
    )


def test_the_options_of_one_kind_of_seed_are_refused_with_the_other(tmp_path):
    for options in (["--until", "2025-07-03"], ["--parent-increment"]):
        result = atliqon("seed", "--demo", *options, home=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("usage: atliqon seed ")
        assert result.stderr.strip().endswith("error: --until and --parent-increment go with --from")
    assert not (tmp_path / "landing").exists()


def test_not_a_reference_folder(tmp_path):
    result = atliqon("seed", "--from", str(tmp_path), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"atliqon: {tmp_path} is not laid out like the reference dataset")
    assert "Traceback" not in result.stderr


# A run of one asset that logs at each level, launched as the daemon launches it (no run config)
# on the instance `atliqon` writes for a home, in the folder given; then every event it recorded.
RUN_THAT_LOGS = """
import sys
from pathlib import Path
from dagster import Definitions, asset, define_asset_job
from atliqon_platform.instance.threaded_executor import execute_in_this_process, threaded_executor
from atliqon_platform_tests.instances import atliqon_instance

@asset
def speaks(context) -> None:
    context.log.info("a message of the asset")
    context.log.warning("a warning of the asset")

one_thread = threaded_executor.configured({"max_concurrent": 1})
defs = Definitions(assets=[speaks], jobs=[define_asset_job("speaking")], executor=one_thread)
with atliqon_instance(Path(sys.argv[1])) as instance:
    result = execute_in_this_process(defs.resolve_job_def("speaking"), instance, {}, None)
    for record in instance.get_records_for_run(result.run_id).records:
        event = record.event_log_entry.dagster_event
        print("recorded:", event.event_type_value if event else record.event_log_entry.user_message)
"""


def test_a_runs_terminal_shows_its_messages_and_the_event_log_keeps_every_event(tmp_path):
    """The terminal of `atliqon up` shows what its runs print: their messages, warnings and
    failures, not Dagster's DEBUG line for each step's start, output and end; the UI reads the
    event log, which keeps them all."""
    ran = subprocess.run(
        [sys.executable, "-c", RUN_THAT_LOGS, str(tmp_path / "dagster")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    printed = ran.stderr.splitlines()
    assert [line.split(" - ")[2] for line in printed if " - dagster - " in line] == ["INFO", "WARNING"]
    assert any(line.endswith(" - speaks - a message of the asset") for line in printed), ran.stderr
    recorded = {line.removeprefix("recorded: ") for line in ran.stdout.splitlines()}
    steps = {"STEP_START", "STEP_OUTPUT", "ASSET_MATERIALIZATION", "STEP_SUCCESS", "PIPELINE_SUCCESS"}
    assert steps <= recorded
    assert {"a message of the asset", "a warning of the asset"} <= recorded
