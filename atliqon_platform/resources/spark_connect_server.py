"""A Spark Connect server on this machine, from the pyspark wheel, with the local engine's settings.

For a shared session several processes use (ATLIQON_SPARK_REMOTE=sc://127.0.0.1:PORT), and
for the tests that prove the remote-session path. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark

from atliqon_platform.resources.spark import local_launch, spark_config
from atliqon_platform.resources.spark_jars import SparkJars
from atliqon_platform.settings import ConfigurationError, Settings

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


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


@contextmanager
def local_spark_connect_server(
    settings: Settings, port: int, log: Path, start_timeout: float = 120.0
) -> Iterator[str]:
    """Run the server while the context is open; yields its URL. The log says why it did not start."""
    if settings.spark_remote:
        raise ConfigurationError("a local Spark Connect server runs local Spark: unset ATLIQON_SPARK_REMOTE")
    spark_home = Path(pyspark.__file__).parent
    java_home, config = local_launch(spark_config(settings), SparkJars.for_settings(settings))
    environment = {
        **os.environ,
        "JAVA_HOME": str(java_home),
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        server = subprocess.Popen(
            server_command(config, port),
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its JVM too
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Connect server did not start on port {port}: see {log}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
