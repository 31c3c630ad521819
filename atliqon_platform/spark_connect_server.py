"""A Spark Connect server on this machine, from the pyspark wheel, with the local engine's settings.

The warm engine of ``atliqon up``: one JVM with Delta that every run of the home connects to
(ATLIQON_SPARK_REMOTE=sc://127.0.0.1:PORT) instead of starting its own. Also the tests'
shared server. It binds 127.0.0.1 only. Not a resource: runs connect to it through theirs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark

from atliqon_platform.lifecycle import start_in_own_group, stop_group
from atliqon_platform.resources.spark import ENGINE_LISTEN_SECONDS, local_launch, spark_config
from atliqon_platform.resources.spark_jars import SparkJars
from atliqon_platform.settings import ConfigurationError, Settings, unreachable

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
STOP_GRACE_SECONDS = 10  # its JVM stops its Spark context in about a second


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    return unreachable("127.0.0.1", port, timeout=1) is None


def server_command(config: dict[str, str], port: int) -> list[str]:
    """spark-submit of the Connect server, configured as the local engine (``spark_config``)."""
    spark_home = Path(pyspark.__file__).parent
    command = [str(spark_home / "bin" / "spark-submit"), "--class", SERVER_CLASS]
    config = {
        **config,
        "spark.app.name": "atliqon-spark-connect",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
    }
    for key, value in config.items():
        command += ["--conf", f"{key}={value}"]
    return command


def server_launch(settings: Settings, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a server with the local engine's Java, jars, settings and
    memory bound (ATLIQON_SPARK_DRIVER_MEMORY: in local mode the driver is the whole engine)."""
    if settings.spark_remote:
        raise ConfigurationError("a local Spark Connect server runs local Spark: unset ATLIQON_SPARK_REMOTE")
    spark_home = Path(pyspark.__file__).parent
    java_home, config, _ = local_launch(
        spark_config(settings), SparkJars.for_settings(settings), settings.spark_class_archives
    )
    environment = {
        **os.environ,
        "JAVA_HOME": str(java_home),
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    return server_command(config, port), environment


def wait_until_listening(
    port: int, server: subprocess.Popen, log: Path, while_waiting: Callable[[], None] = lambda: None
) -> str:
    """The server's URL once it accepts connections; its log says why when it does not.
    ``while_waiting`` is called on every look meanwhile (and may raise, to stop waiting)."""
    deadline = time.monotonic() + ENGINE_LISTEN_SECONDS
    while not listening(port):
        while_waiting()
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Spark Connect server did not start on port {port}: see {log}")
        time.sleep(0.5)
    return f"sc://127.0.0.1:{port}"


@contextmanager
def local_spark_connect_server(settings: Settings, port: int, log: Path) -> Iterator[str]:
    """Run the server while the context is open; yields its URL."""
    command, environment = server_launch(settings, port)
    log.parent.mkdir(parents=True, exist_ok=True)
    server = start_in_own_group(command, environment, log)
    try:
        yield wait_until_listening(port, server, log)
    finally:
        killed = stop_group(server.pid, grace=STOP_GRACE_SECONDS)
        server.wait()
        if killed:  # said, so that a stop that waits out its grace is seen, not just slow
            warnings.warn(
                f"the Spark Connect server on port {port} did not stop within {STOP_GRACE_SECONDS} s "
                f"of SIGTERM (see {log}); killed: {'; '.join(killed)}",
                RuntimeWarning,
                stacklevel=3,
            )
