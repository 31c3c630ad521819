"""Settings of the remote paths: Databricks Connect, Pipes, Unity Catalog; each mistake names its fix."""

import pytest

from atliqon_platform.settings import ConfigurationError, PipesMode, load_settings, workspace_url

DATABRICKS = {
    "ATLIQON_ENV": "databricks",
    "ATLIQON_LANDING_URI": "s3://atliqon-data/landing",
    "DATABRICKS_HOST": "dbc-1234.cloud.databricks.com",
    "DATABRICKS_TOKEN": "dapi-secret",
    "DATABRICKS_CLUSTER_ID": "0101-123456-abcdefgh",
}


def without(name: str) -> dict[str, str]:
    return {key: value for key, value in DATABRICKS.items() if key != name}


def test_databricks_defaults_to_unity_catalog_fmcg_and_holds_no_secret():
    settings = load_settings(DATABRICKS)
    assert settings.catalog == "fmcg" and settings.lake_uri == ""
    assert settings.databricks.auth == "token" and settings.databricks.cluster_id == "0101-123456-abcdefgh"
    assert "dapi-secret" not in repr(settings)
    assert load_settings({**DATABRICKS, "ATLIQON_CATALOG": "sales"}).catalog == "sales"
    paths = load_settings({**DATABRICKS, "ATLIQON_LAKE_URI": "s3://atliqon-data/lake"})
    assert (paths.catalog, paths.lake_uri) == (None, "s3://atliqon-data/lake")


@pytest.mark.parametrize(
    "written",
    [
        "dbc-1.cloud.databricks.com",
        " https://dbc-1.cloud.databricks.com/ ",
        "http://dbc-1.cloud.databricks.com",
    ],
)
def test_databricks_host_is_the_workspaces_https_url_however_written(written):
    assert workspace_url(written) == "https://dbc-1.cloud.databricks.com"


def test_oauth_service_principal_and_serverless():
    settings = load_settings(
        {
            **without("DATABRICKS_TOKEN"),
            "DATABRICKS_CLIENT_ID": "id",
            "DATABRICKS_CLIENT_SECRET": "secret",
            "DATABRICKS_CLUSTER_ID": "",
            "DATABRICKS_SERVERLESS_COMPUTE_ID": "auto",
        }
    )
    assert settings.databricks.auth == "oauth" and settings.databricks.serverless


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (without("DATABRICKS_HOST"), "needs DATABRICKS_HOST"),
        (without("DATABRICKS_TOKEN"), "set DATABRICKS_TOKEN .*DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_"),
        (
            {**without("DATABRICKS_TOKEN"), "DATABRICKS_CLIENT_ID": "id"},
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET",
        ),
        (without("DATABRICKS_CLUSTER_ID"), "DATABRICKS_CLUSTER_ID .* or DATABRICKS_SERVERLESS_COMPUTE_ID"),
        (without("ATLIQON_LANDING_URI"), "needs ATLIQON_LANDING_URI"),
        ({**DATABRICKS, "ATLIQON_SPARK_REMOTE": "sc://x:15002"}, "unset ATLIQON_SPARK_REMOTE"),
        ({"ATLIQON_PIPES": "databricks"}, "set ATLIQON_ENV=databricks too"),
        ({"ATLIQON_PIPES": "cloud"}, "'cloud' is not valid; use one of: off, subprocess, databricks"),
        ({**DATABRICKS, "ATLIQON_DATABRICKS_WORKERS": "two"}, "ATLIQON_DATABRICKS_WORKERS='two'"),
        (
            {
                **DATABRICKS,
                "ATLIQON_PIPES": "databricks",
                "ATLIQON_DATABRICKS_WHEEL": "/Volumes/w.whl",
                "ATLIQON_DATABRICKS_JOB_COMPUTE": "serverless",
            },
            "needs ATLIQON_DATABRICKS_VOLUME",
        ),
    ],
)
def test_missing_or_wrong_databricks_settings_say_what_to_set(environ, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ)


def test_on_a_databricks_cluster_no_credentials_are_needed():
    settings = load_settings(
        {
            "ATLIQON_ENV": "databricks",
            "ATLIQON_LANDING_URI": "s3://b/landing",
            "DATABRICKS_RUNTIME_VERSION": "17.3",
        }
    )
    assert settings.databricks.on_cluster and settings.pipes is PipesMode.OFF
