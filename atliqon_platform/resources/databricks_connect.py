"""The Spark session on Databricks compute, through Databricks Connect.

Databricks Connect ships its own ``pyspark`` package and cannot be installed beside
pyspark 4.2 (it replaces it), so it is not a dependency of the project: install it in a
separate environment (README, "Running on Databricks"). Credentials come from the
environment through ``EnvVar``, so Dagster never shows or logs them.
"""

from __future__ import annotations

from dagster import EnvVar
from pyspark.sql import SparkSession

from atliqon_platform.resources.session_checks import require_reachable_url
from atliqon_platform.resources.spark import SparkSessionResource
from atliqon_platform.settings import ConfigurationError, DatabricksSettings, workspace_url


class DatabricksConnectResource(SparkSessionResource):
    """A Databricks Connect session on a cluster (``cluster_id``) or serverless compute."""

    host: str
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    cluster_id: str | None = None
    serverless: bool = False

    @classmethod
    def for_settings(cls, databricks: DatabricksSettings) -> DatabricksConnectResource:
        oauth = databricks.auth == "oauth"
        return cls(
            spark_config={},
            host=EnvVar("DATABRICKS_HOST"),
            token=None if oauth else EnvVar("DATABRICKS_TOKEN"),
            client_id=EnvVar("DATABRICKS_CLIENT_ID") if oauth else None,
            client_secret=EnvVar("DATABRICKS_CLIENT_SECRET") if oauth else None,
            cluster_id=databricks.cluster_id,
            serverless=databricks.serverless,
        )

    @property
    def engine(self) -> str:
        compute = "serverless" if self.serverless else f"cluster {self.cluster_id}"
        return f"Databricks Connect, {compute}"

    def _init_session(self) -> None:
        if self._spark_session is None:
            self._spark_session = self.start_session()

    def start_session(self) -> SparkSession:
        """A new Databricks Connect session, after checking the workspace answers."""
        host = workspace_url(self.host)
        require_reachable_url(host, "DATABRICKS_HOST")
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            raise ConfigurationError(
                "ATLIQON_ENV=databricks needs Databricks Connect, which replaces pyspark: in a separate "
                "environment, pip install -e . && pip uninstall -y pyspark && "
                "pip install 'databricks-connect==<your cluster's runtime, e.g. 17.3.*>'"
            ) from None
        from databricks.sdk.core import Config

        config = Config(
            host=host,
            token=self.token,
            client_id=self.client_id,
            client_secret=self.client_secret,
            cluster_id=None if self.serverless else self.cluster_id,
            serverless_compute_id="auto" if self.serverless else None,
        )
        session = DatabricksSession.builder.sdkConfig(config).getOrCreate()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        return session
