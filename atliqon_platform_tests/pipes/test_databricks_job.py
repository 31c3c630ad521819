"""The Databricks job a Pipes launch submits: built by code, valid for the databricks-sdk types,
carrying the settings the job's process needs and no secret."""

import json
from importlib.metadata import entry_points

import pytest
from dagster import AssetExecutionContext, MaterializeResult, asset, materialize, open_pipes_session
from dagster._core.pipes.utils import PipesTempFileContextInjector, PipesTempFileMessageReader
from dagster_databricks import PipesDatabricksClient
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from atliqon_platform.pipes.databricks_job import ENTRY_POINT, PACKAGE_NAME, job_spec
from atliqon_platform.pipes.entrypoint import parse_arguments
from atliqon_platform.settings import load_settings

WORKSPACE = {
    "ATLIQON_ENV": "databricks",
    "ATLIQON_PIPES": "databricks",
    "ATLIQON_LANDING_URI": "s3://atliqon-data/landing",
    "DATABRICKS_HOST": "https://dbc-1234.cloud.databricks.com",
    "DATABRICKS_TOKEN": "dapi-secret-token",
    "ATLIQON_DATABRICKS_WHEEL": "/Volumes/fmcg/default/wheels/atliqon_platform-0.1.0-py3-none-any.whl",
    "ATLIQON_DATABRICKS_INSTANCE_PROFILE": "arn:aws:iam::123456789012:instance-profile/atliqon",
}


def _settings_on_the_cluster(task: jobs.SubmitTask) -> dict[str, str]:
    arguments = parse_arguments(task.python_wheel_task.parameters)
    return dict(setting.split("=", 1) for setting in arguments.setting)


def test_job_cluster_task_round_trips_through_the_sdk_types():
    spec = job_spec(load_settings(WORKSPACE), "daily_orders_job")
    body = spec.task.as_dict()
    assert jobs.SubmitTask.from_dict(body).as_dict() == body
    assert body["task_key"] == "atliqon_daily_orders_job"
    assert body["python_wheel_task"]["package_name"] == PACKAGE_NAME
    assert body["python_wheel_task"]["entry_point"] == ENTRY_POINT
    assert body["libraries"] == [{"whl": WORKSPACE["ATLIQON_DATABRICKS_WHEEL"]}]
    cluster = body["new_cluster"]
    assert {"spark_version", "node_type_id", "num_workers"} <= cluster.keys()
    profile = cluster["aws_attributes"]["instance_profile_arn"]
    assert profile == WORKSPACE["ATLIQON_DATABRICKS_INSTANCE_PROFILE"]
    assert "existing_cluster_id" not in body  # a new cluster: Pipes passes its bootstrap in spark_env_vars
    assert parse_arguments(body["python_wheel_task"]["parameters"]).channel == "dbfs"
    assert "dapi-secret-token" not in json.dumps(body) + json.dumps(spec.submit_args)


def test_the_task_as_pipes_databricks_client_submits_it():
    """The client adds its bootstrap to our task (its own code, in a real Pipes session); the
    result is still a valid SubmitTask, and the job's process finds the bootstrap in its environment."""
    spec = job_spec(load_settings(WORKSPACE), "daily_orders_job")
    submitted = {}

    @asset
    def launch(context: AssetExecutionContext) -> MaterializeResult:
        client = PipesDatabricksClient(WorkspaceClient(host=WORKSPACE["DATABRICKS_HOST"], token="unused"))
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=PipesTempFileMessageReader(),
        ) as session:
            submitted["task"] = client._enrich_submit_task_dict(  # what run() passes to jobs.submit
                context=context, session=session, submit_task_dict=spec.task.as_dict()
            )
        return MaterializeResult()

    assert materialize([launch]).success
    body = jobs.SubmitTask.from_dict(submitted["task"]).as_dict()
    assert set(body["new_cluster"]["spark_env_vars"]) == {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES"}
    assert body["python_wheel_task"] == spec.task.as_dict()["python_wheel_task"]


def test_serverless_task_names_an_environment_that_installs_the_wheel():
    settings = load_settings(
        {
            **WORKSPACE,
            "ATLIQON_DATABRICKS_JOB_COMPUTE": "serverless",
            "ATLIQON_DATABRICKS_VOLUME": "/Volumes/fmcg/default/pipes",
        }
    )
    spec = job_spec(settings, "dimensions_job")
    body = spec.task.as_dict()
    assert jobs.SubmitTask.from_dict(body).as_dict() == body
    assert "new_cluster" not in body and "libraries" not in body
    (environment,) = spec.submit_args["environments"]
    assert jobs.JobEnvironment.from_dict(environment.as_dict()).as_dict() == environment.as_dict()
    assert environment.environment_key == body["environment_key"]
    assert environment.spec.dependencies == [WORKSPACE["ATLIQON_DATABRICKS_WHEEL"]]
    assert parse_arguments(body["python_wheel_task"]["parameters"]).channel == "volumes"


def test_the_job_process_resolves_the_same_data_locations():
    settings = load_settings(WORKSPACE)
    task = job_spec(settings, "monthly_facts_job").task
    on_cluster = load_settings({**_settings_on_the_cluster(task), "DATABRICKS_RUNTIME_VERSION": "17.3"})
    assert on_cluster.databricks.on_cluster
    assert (on_cluster.landing_uri, on_cluster.lake_uri, on_cluster.catalog) == (
        settings.landing_uri,
        settings.lake_uri,
        "fmcg",
    )
    assert on_cluster.first_order_day == settings.first_order_day
    assert on_cluster.first_month == settings.first_month
    assert not any(name.startswith("DATABRICKS_") for name in _settings_on_the_cluster(task))


def test_the_wheel_entry_point_is_the_pipes_entry_point():
    (script,) = [point for point in entry_points(group="console_scripts") if point.name == ENTRY_POINT]
    assert script.value == "atliqon_platform.pipes.entrypoint:main"
    assert script.dist.metadata["Name"].replace("-", "_") == PACKAGE_NAME


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("ATLIQON_DATABRICKS_WHEEL", "needs ATLIQON_DATABRICKS_WHEEL"),
        ("DATABRICKS_TOKEN", "set DATABRICKS_TOKEN .* or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET"),
        ("DATABRICKS_HOST", "needs DATABRICKS_HOST"),
    ],
)
def test_pipes_on_databricks_says_what_is_missing(missing, message):
    from atliqon_platform.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match=message):
        load_settings({name: value for name, value in WORKSPACE.items() if name != missing})
