"""Checks a remote Spark session must pass before any data is touched.

A remote session fails late and vaguely on its own (a Spark Connect client retries an
unreachable server for minutes; a missing catalog shows up at the first write), so the
platform checks first and says which setting to change.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pyspark.sql import SparkSession

from atliqon_platform.settings import ConfigurationError, unreachable

SPARK_CONNECT_DEFAULT_PORT = 15002


def connect_url_address(url: str) -> tuple[str, int]:
    """Host and port of a Spark Connect URL (``sc://host:port/;param=value``)."""
    parts = urlsplit(url.split(";", 1)[0])
    if parts.scheme != "sc" or not parts.hostname:
        raise ConfigurationError(f"{url!r} is not a Spark Connect URL (sc://host:port)")
    return parts.hostname, parts.port or SPARK_CONNECT_DEFAULT_PORT


def require_reachable(host: str, port: int, setting: str, timeout: float = 5.0) -> None:
    """Fail fast, naming ``setting``, when nothing accepts connections at host:port."""
    if (why := unreachable(host, port, timeout)) is not None:
        raise ConfigurationError(
            f"cannot reach {host}:{port} ({why}): check {setting}, "
            "and that the server is running and reachable from this machine"
        )


def require_reachable_url(url: str, setting: str) -> None:
    """``require_reachable`` for a Spark Connect URL or an https:// workspace URL."""
    if url.startswith("sc://"):
        require_reachable(*connect_url_address(url), setting)
        return
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigurationError(f"{setting}={url!r} is not a URL such as https://host")
    require_reachable(parts.hostname, parts.port or 443, setting)


def session_has_delta(spark: SparkSession) -> bool:
    """True when the session itself can read and write Delta (extension configured, or Databricks)."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    try:
        on_databricks = spark.conf.get("spark.databricks.clusterUsageTags.clusterId", None) is not None
    except Exception:  # noqa: BLE001 - a server may refuse to show a setting it does not know
        on_databricks = False
    return "DeltaSparkSessionExtension" in extensions or on_databricks


def require_delta(spark: SparkSession) -> None:
    """Every table is Delta through the session: one without Delta stops here, never falls back."""
    if not session_has_delta(spark):
        raise ConfigurationError(
            "the Spark session has no Delta Lake (spark.sql.extensions lacks DeltaSparkSessionExtension): "
            "start the Spark Connect server with delta-spark's jars and extension (README, Any Spark "
            "Connect server), or unset ATLIQON_SPARK_REMOTE to use the local engine"
        )


def require_catalog(spark: SparkSession, catalog: str) -> None:
    """Unity Catalog names need the catalog to exist."""
    names = sorted(item.name for item in spark.catalog.listCatalogs())
    if catalog not in names:
        raise ConfigurationError(
            f"catalog {catalog!r} does not exist in this Spark session (it has: {', '.join(names)}): "
            f"create it (CREATE CATALOG {catalog}) or set ATLIQON_CATALOG to an existing catalog"
        )
