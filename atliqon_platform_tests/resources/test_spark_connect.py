"""The remote-session path against a real Spark Connect server (started for the run on 127.0.0.1).

A process holds either a local or a Spark Connect session, never both, so the remote runs
here are other processes: the ``atliqon`` command. The real data through the server, as a
Pipes run, is in ``pipes/test_entrypoint.py``.
"""

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from deltalake import DeltaTable

from atliqon_platform.definitions import build_definitions
from atliqon_platform.lifecycle import HomeLock
from atliqon_platform.resources import spark
from atliqon_platform.resources.session_checks import connect_url_address
from atliqon_platform.resources.spark import WARM_ENGINE_RESTART_SECONDS, start_spark_session
from atliqon_platform.resources.spark_jars import DELTA_VERSION
from atliqon_platform.settings import ConfigurationError, load_settings
from atliqon_platform.spark_connect_server import free_port
from atliqon_platform_tests.held_session import hold_session, last_error, start_session
from atliqon_platform_tests.instances import platform_instance, run_as_launched
from atliqon_platform_tests.tiny import seed_tiny


def atliqon_backfill(home: Path, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "atliqon_platform.cli", "backfill"],
        env={**os.environ, "ATLIQON_HOME": str(home), **environment},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_catalog_names_through_a_spark_connect_server_with_delta(
    spark_connect_url, tmp_path, tmp_path_factory
):
    """Tables by name (``<catalog>.<layer>.<name>``, as in Unity Catalog) in the server's catalog:
    written by the server's Delta, nothing under the lake path. A catalog that does not exist:
    pipes/test_entrypoint.py."""
    seed_tiny(tmp_path)
    completed = atliqon_backfill(
        tmp_path, ATLIQON_SPARK_REMOTE=spark_connect_url, ATLIQON_CATALOG="spark_catalog"
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert not (tmp_path / "lake").exists()
    # pytest links "spark-connectcurrent" to the server's folder: one folder, seen twice.
    found = tmp_path_factory.getbasetemp().glob("spark-connect*/**/gold.db/vw_fact_orders_enriched")
    [view_folder] = {folder.resolve() for folder in found}
    view = DeltaTable(str(view_folder))
    assert view.to_pyarrow_table().num_rows > 0
    assert view.history(1)[0]["engineInfo"].endswith(f"Delta-Lake/{DELTA_VERSION}")


def test_unreachable_spark_connect_server_fails_at_once_naming_the_setting():
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match=r"cannot reach 127\.0\.0\.1:9 .*check ATLIQON_SPARK_REMOTE"):
        start_spark_session({"spark.remote": "sc://127.0.0.1:9"})  # discard port: nothing listens
    assert time.monotonic() - started < 10


@contextmanager
def forwarded(target: tuple[str, int], port: int = 0) -> Iterator[str]:
    """A Spark Connect URL on a port of its own (``port``, or one the system picks) that carries
    every byte to ``target``, for as long as the context lasts: leaving it cuts every connection,
    as a dying server does, while the server itself (shared by the whole run) goes on."""
    listener = socket.create_server(("127.0.0.1", port))
    connections: list[socket.socket] = []

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # the other side was cut

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            server = socket.create_connection(target)
            connections.extend((client, server))
            threading.Thread(target=pipe, args=(client, server), daemon=True).start()
            threading.Thread(target=pipe, args=(server, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"sc://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone would not, on Linux)
        listener.close()
        for connection in connections:
            with suppress(OSError):  # already cut from its other side
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def test_a_session_whose_engine_is_gone_fails_at_once_saying_so_and_what_to_do(spark_connect_url, tmp_path):
    """A run whose engine dies under it fails with the platform's own message, not gRPC's, and at
    once. The engine here is the run's server seen through a forwarder, noted as `atliqon up`'s
    in the home's lock as `atliqon up` notes it; a server that comes back: test_up.py."""
    with forwarded(connect_url_address(spark_connect_url)) as url:
        lock = HomeLock(tmp_path / "dagster")
        lock.note(pid=os.getpid(), spark=url)
        try:
            session = hold_session(tmp_path)
        finally:
            lock.close()
    error = last_error(session)
    said = f"SparkEngineLostError: the Spark engine at {url} is gone (it does not answer)"
    assert error.startswith(f"atliqon_platform.resources.spark.{said}"), error
    assert "Re-execute from failure" in error


def test_a_session_started_while_up_restarts_its_engine_waits_for_it(spark_connect_url, tmp_path):
    """As the daemon's retry of a run that the engine's death failed does: the engine of `atliqon
    up` (noted in the home's lock, and named to its runs) is not listening when the session
    starts, then comes back on its port, and the session runs on it."""
    engine = f"sc://127.0.0.1:{free_port()}"
    lock = HomeLock(tmp_path / "dagster")
    lock.note(pid=os.getpid(), spark=engine)
    session = start_session(tmp_path, ATLIQON_SPARK_REMOTE=engine)
    try:
        said = session.stderr.readline()
        assert (
            f"waiting up to {WARM_ENGINE_RESTART_SECONDS:.0f} s for the Spark engine at {engine}" in said
        ), said
        with forwarded(connect_url_address(spark_connect_url), connect_url_address(engine)[1]):
            assert session.stdout.readline() == "3\n", session.stderr.read()
    finally:
        session.kill()
        session.wait()
        lock.close()


UP_WAITS = {
    # The engine never comes back, and the wait is cut to a second.
    "engine not back in time": (1.0, 60, "of `atliqon up` did not answer within 1 s"),
    # `atliqon up` itself stops a second into the wait, which would go on for a minute.
    "up stopped": (60.0, 1, "is gone with the `atliqon up` that ran it, which has stopped"),
}


@pytest.mark.parametrize(("wait", "up_runs", "lost"), UP_WAITS.values(), ids=UP_WAITS.keys())
def test_a_run_waiting_for_the_engine_of_up_says_so_in_its_log_then_names_it_lost(
    tmp_path, monkeypatch, wait, up_runs, lost
):
    """What the UI's run view shows while `atliqon up` restarts its engine: the wait, in the run's
    own log (not only in `atliqon up`'s output), then, if the engine does not come back in time
    or `atliqon up` stops meanwhile, the lost engine."""
    monkeypatch.setattr(spark, "WARM_ENGINE_RESTART_SECONDS", wait)
    engine = f"sc://127.0.0.1:{free_port()}"  # nothing listens there
    up = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({up_runs})"])  # `atliqon up`
    threading.Thread(target=up.wait, daemon=True).start()  # reaped as it ends, as its shell would
    lock = HomeLock(tmp_path / "dagster")
    lock.note(pid=up.pid, spark=engine)
    try:
        settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_SPARK_REMOTE": engine})
        assert settings.spark_remote_of_up
        job = build_definitions(settings).resolve_job_def("dimensions_job")
        with platform_instance() as instance:
            run_id = run_as_launched(job, instance).run_id
            entries = instance.all_logs(run_id)
    finally:
        lock.close()
        up.kill()
        up.wait()
    waiting = f"waiting up to {wait:.0f} s for the Spark engine at {engine}, which `atliqon up` restarts"
    logged = [(entry.level, entry.message) for entry in entries]
    assert logged.count((logging.WARNING, waiting)) == 1, logged
    errors = [
        error.to_string()
        for entry in entries[logged.index((logging.WARNING, waiting)) :]
        if entry.dagster_event is not None
        and (error := getattr(entry.dagster_event.event_specific_data, "error", None)) is not None
    ]
    assert any(f"SparkEngineLostError: the Spark engine at {engine} {lost}" in error for error in errors), (
        errors
    )


# A read of a table not yet written, on a Spark Connect session, after the logging set-up that
# Dagster makes for each run (which switches every existing logger back on).
READ_WHAT_IS_NOT_WRITTEN = """
import logging.config
import sys
from pathlib import Path
from pyspark.errors import AnalysisException
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import load_settings
settings = load_settings({"ATLIQON_HOME": sys.argv[1], "ATLIQON_SPARK_REMOTE": sys.argv[2]})
session = SparkSessionResource.for_settings(settings).spark_session
logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
try:
    session.read.format("delta").load(str(Path(sys.argv[1]) / "not-yet-written")).count()
except AnalysisException:
    print("no table yet")
"""


def test_a_table_not_yet_written_is_read_on_a_spark_connect_session_without_its_grpc_error(
    spark_connect_url, tmp_path
):
    """The platform asks for tables that may not exist yet (a first build): each such read on
    `atliqon up`'s engine printed the gRPC error that the platform catches."""
    read = subprocess.run(
        [sys.executable, "-c", READ_WHAT_IS_NOT_WRITTEN, str(tmp_path), spark_connect_url],
        capture_output=True,
        text=True,
        timeout=300,
        env={key: value for key, value in os.environ.items() if key != "SPARK_CONNECT_LOG_LEVEL"},
    )
    assert read.stdout.strip() == "no table yet", read.stderr[-3000:]
    assert "GRPC Error received" not in read.stderr, read.stderr[-3000:]
