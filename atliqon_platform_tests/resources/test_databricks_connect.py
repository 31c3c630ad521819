"""Databricks Connect: an unreachable workspace, or no Databricks Connect installed, fail before any
session exists, saying what to set or install."""

import socket

import pytest

from atliqon_platform.resources.databricks_connect import DatabricksConnectResource
from atliqon_platform.settings import ConfigurationError


@pytest.mark.parametrize("host", ["https://127.0.0.1:9", "http://127.0.0.1:9/", " 127.0.0.1:9 "])
def test_unreachable_workspace_names_databricks_host(host):
    """Whichever way DATABRICKS_HOST is written, the workspace's https URL is what is reached."""
    resource = DatabricksConnectResource(spark_config={}, host=host, token="t")
    with pytest.raises(ConfigurationError, match=r"cannot reach 127\.0\.0\.1:9 .*check DATABRICKS_HOST"):
        resource.start_session()


def test_without_databricks_connect_says_how_to_install_it():
    with socket.socket() as workspace:  # something listening, so only the missing package is in the way
        workspace.bind(("127.0.0.1", 0))
        workspace.listen()
        host = f"https://127.0.0.1:{workspace.getsockname()[1]}"
        resource = DatabricksConnectResource(spark_config={}, host=host, token="t", cluster_id="c")
        with pytest.raises(ConfigurationError, match="pip uninstall -y pyspark .*databricks-connect"):
            resource.start_session()
