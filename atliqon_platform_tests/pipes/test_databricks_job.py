"""The Databricks job a Pipes launch submits: the body that reaches a workspace's runs/submit,
against one written out from the Jobs API reference, carrying the settings the job's process
needs and no secret; the token shows in no event, file or resource configuration of Dagster."""

import json
import threading
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
from dagster import (
    DagsterEventType,
    DagsterRunStatus,
)
from dagster._core.storage.tags import WILL_RETRY_TAG
from dagster_pipes import decode_env_var
from databricks.sdk.service import jobs

from atliqon_platform.pipes.databricks_job import ENTRY_POINT, PACKAGE_NAME, DatabricksJob
from atliqon_platform.pipes.databricks_runs import (
    DatabricksClusterLostError,
    DatabricksJobFailedError,
    failed_run_error,
)
from atliqon_platform.pipes.launchers import DatabricksJobLauncher
from atliqon_platform.pipes_entrypoint import parse_arguments
from atliqon_platform.settings import load_settings
from atliqon_platform_tests.instances import atliqon_instance
from atliqon_platform_tests.leaks import (
    event_log,
    instance_files_holding,
    materialisation_metadata,
    resources_in_graphql,
)
from atliqon_platform_tests.pipes.launching import launched_through, terminated_when
from atliqon_platform_tests.pipes.workspace import (
    RUN_ID,
    RUNNING,
    SUCCEEDED,
    Workspace,
    local_workspace,
    run_ended,
)

TOKEN = "dapi-atliqon-4e8b0c6a91f2d735"  # a token that cannot occur by chance

WORKSPACE = {
    "ATLIQON_ENV": "databricks",
    "ATLIQON_PIPES": "databricks",
    "ATLIQON_LANDING_URI": "s3://atliqon-data/landing",
    "DATABRICKS_HOST": "https://dbc-1234.cloud.databricks.com",
    "DATABRICKS_TOKEN": TOKEN,
    "ATLIQON_DATABRICKS_WHEEL": "/Volumes/fmcg/default/wheels/atliqon_platform-0.1.0-py3-none-any.whl",
    "ATLIQON_DATABRICKS_INSTANCE_PROFILE": "arn:aws:iam::123456789012:instance-profile/atliqon",
}


GIVEN = {
    "ATLIQON_DATABRICKS_SPARK_VERSION": "16.4.x-scala2.12",
    "ATLIQON_DATABRICKS_NODE_TYPE": "i3.xlarge",
    "ATLIQON_DATABRICKS_WORKERS": "3",
    "ATLIQON_FIRST_ORDER_DAY": "2025-07-01",
    "ATLIQON_FIRST_MONTH": "2024-01-01",
    "ATLIQON_CATALOG": "fmcg",
    "AWS_REGION": "ap-south-1",
}
"""Every setting the job body depends on, given, so that the expected body is written out whole."""
FORWARDED = [
    "ATLIQON_CATALOG=fmcg",
    "ATLIQON_ENV=databricks",
    "ATLIQON_FIRST_MONTH=2024-01-01",
    "ATLIQON_FIRST_ORDER_DAY=2025-07-01",
    "ATLIQON_HOME=/tmp/atliqon",
    "ATLIQON_LANDING_URI=s3://atliqon-data/landing",
    "AWS_REGION=ap-south-1",
]
"""The settings the job's process is given (``--setting``), sorted."""


def _settings_on_the_cluster(task: jobs.SubmitTask) -> dict[str, str]:
    arguments = parse_arguments(task.python_wheel_task.parameters)
    return dict(setting.split("=", 1) for setting in arguments.setting)


def pop_parameters(task: dict) -> tuple[str, list[str]]:
    """Takes the wheel task's parameters out of ``task``: the Pipes channel, and the settings
    sorted (the entry point reads them in any order)."""
    parameters = task["python_wheel_task"].pop("parameters")
    flags, values = parameters[0::2], parameters[1::2]
    assert flags == ["--channel"] + ["--setting"] * (len(flags) - 1), parameters
    return values[0], sorted(values[1:])


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Iterator[Workspace]:
    """A workspace on 127.0.0.1, with the variables that launch jobs in it set."""
    with local_workspace(tmp_path) as workspace:
        environment = {**WORKSPACE, **GIVEN, "DATABRICKS_HOST": workspace.url}
        for name, value in {**environment, "REQUESTS_CA_BUNDLE": workspace.ca_bundle}.items():
            monkeypatch.setenv(name, value)
        for name in ("ATLIQON_LAKE_URI", "AWS_DEFAULT_REGION", "DATABRICKS_CLUSTER_ID"):
            monkeypatch.delenv(name, raising=False)
        yield workspace


def test_the_launcher_submits_the_job_body_databricks_documents(workspace, tmp_path):
    """What reaches POST /api/2.2/jobs/runs/submit, against a body written from the API's
    reference (a one-time run of one task: a Python wheel task on a new job cluster)."""
    with atliqon_instance(tmp_path / "dagster") as instance:
        launcher = DatabricksJobLauncher.for_settings(load_settings())
        assert launched_through(launcher, "daily_orders_job", instance)
        # Nor does Dagster show or keep it: not in the run's events (the Pipes launch's included),
        # the materialisation's metadata, the instance's files, nor the UI's resource pages, where
        # the token is the name of its variable.
        logged = event_log(instance)
        assert f"Databricks run {RUN_ID}" in logged and TOKEN not in logged
        assert [key for key, text in materialisation_metadata(instance).items() if TOKEN in text] == []
        assert instance_files_holding(instance, TOKEN) == []
        resources = resources_in_graphql(instance)
        token = {value["key"]: value for value in resources["pipes_launcher"]["configuredValues"]}["token"]
        assert (token["type"], token["value"]) == ("ENV_VAR", "DATABRICKS_TOKEN")
        assert TOKEN not in json.dumps(resources)

    [body] = workspace.bodies("POST", "/api/2.2/jobs/runs/submit")
    [task] = body["tasks"]
    assert pop_parameters(task) == ("dbfs", FORWARDED)
    bootstrap = {
        name: decode_env_var(value) for name, value in task["new_cluster"].pop("spark_env_vars").items()
    }
    assert body == {
        "run_name": "atliqon_daily_orders_job",
        "tasks": [
            {
                "task_key": "atliqon_daily_orders_job",
                "new_cluster": {
                    "spark_version": "16.4.x-scala2.12",
                    "node_type_id": "i3.xlarge",
                    "num_workers": 3,
                    "data_security_mode": "SINGLE_USER",
                    "aws_attributes": {
                        "instance_profile_arn": WORKSPACE["ATLIQON_DATABRICKS_INSTANCE_PROFILE"]
                    },
                    "spark_conf": {"spark.sql.session.timeZone": "UTC"},
                },
                "libraries": [{"whl": WORKSPACE["ATLIQON_DATABRICKS_WHEEL"]}],
                "python_wheel_task": {"package_name": "atliqon_platform", "entry_point": "atliqon-pipes"},
            }
        ],
    }
    # Pipes' bootstrap: where the job reads its context (a file put on DBFS) and writes its messages.
    context_file, messages = (
        bootstrap["DAGSTER_PIPES_CONTEXT"]["path"],
        bootstrap["DAGSTER_PIPES_MESSAGES"]["path"],
    )
    assert json.loads(workspace.files[context_file])["extras"] == {"job": "daily_orders_job"}
    assert {"path": messages} in workspace.bodies("POST", "/api/2.0/dbfs/mkdirs")
    # The token authenticates each call and travels in nothing the job or its logs would show.
    assert {call.headers["Authorization"] for call in workspace.calls} == {f"Bearer {TOKEN}"}
    assert not any(TOKEN in json.dumps(call.body) for call in workspace.calls)
    assert not any(TOKEN in data.decode() for data in workspace.files.values())


@pytest.mark.parametrize(
    ("code", "kind", "message", "retried"),
    [
        ("DRIVER_ERROR", "INTERNAL_ERROR", "Could not reach driver of cluster 1207-093512-x1y2z3.", True),
        (
            "CLOUD_FAILURE",
            "CLOUD_FAILURE",
            "Cluster 1207-093512-x1y2z3: its spot instances were reclaimed.",
            True,
        ),
        ("RUN_EXECUTION_ERROR", "CLIENT_ERROR", "Workload failed, see run output for details", False),
    ],
    ids=["driver lost", "cloud failure", "its code failed"],
)
def test_a_job_whose_cluster_is_lost_is_retried_and_one_whose_code_failed_is_not(
    workspace, tmp_path, code, kind, message, retried
):
    """Databricks says in a run's termination details whether its compute or its code failed
    it: the first is the engine's failure, and the launching run is retried as when the warm
    engine of `atliqon up` dies; the error names the run, why it ended, and its page."""
    workspace.run_ends = run_ended("FAILED", message, code, kind)
    with atliqon_instance(tmp_path / "dagster") as instance:
        assert not launched_through(
            DatabricksJobLauncher.for_settings(load_settings()), "daily_orders_job", instance
        )
        [run] = instance.get_runs()
        [failure] = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
        engine_said = [
            entry.message
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if "failed because the engine did" in entry.message
        ]
    error = failure.dagster_event.step_failure_data.error.cause  # the step's own error
    reported = (
        f"the Databricks run {RUN_ID} ended with code {code}, type {kind}: {message.rstrip('.')}; its page: "
    )
    assert f"{reported}{workspace.run_page}" in error.message, error.message
    assert error.cls_name == ("DatabricksClusterLostError" if retried else "DatabricksJobFailedError")
    assert (run.status, run.tags[WILL_RETRY_TAG]) == (DagsterRunStatus.FAILURE, str(retried).lower())
    assert len(engine_said) == retried


def _ended(
    result: str | None, code: str | None = None, kind: str | None = None, life_cycle: str = "TERMINATED"
) -> jobs.Run:
    return jobs.Run.from_dict({"run_id": RUN_ID, **run_ended(result, "it failed.", code, kind, life_cycle)})


@pytest.mark.parametrize(
    ("run", "raised"),
    [
        (_ended("FAILED", code="CLUSTER_ERROR"), DatabricksClusterLostError),  # no type: the code says
        (_ended("FAILED", code="CLUSTER_ERROR", kind="CLIENT_ERROR"), DatabricksJobFailedError),
        (_ended(None, life_cycle="INTERNAL_ERROR"), DatabricksClusterLostError),  # the older states only
        (
            _ended(None, "LIBRARY_INSTALLATION_ERROR", "CLIENT_ERROR", life_cycle="INTERNAL_ERROR"),
            DatabricksJobFailedError,
        ),
        (_ended(None, life_cycle="RUNNING"), None),  # not ended: Pipes failed beside it
        (_ended("SUCCESS"), None),
    ],
    ids=[
        "code only",
        "the type over the code",
        "old states",
        "a wheel that does not install",
        "running",
        "succeeded",
    ],
)
def test_whose_failure_a_databricks_run_says_it_was(run, raised):
    """The termination's type says whose fault it was; its code, when it has no type; the life
    cycle alone, in a run of the older API's states."""
    error = failed_run_error(run)
    assert (type(error) if error else None) is raised
    if error is not None:
        assert str(error).startswith(f"the Databricks run {RUN_ID} ended with "), error


def test_a_terminated_run_cancels_its_databricks_job(workspace, tmp_path):
    """Terminating a run (the UI's Terminate sends SIGINT) cancels the job its step launched:
    the step's thread is never interrupted, so Pipes' client would else poll on, and the job go
    on writing tables after its run ended."""
    workspace.run_ends = RUNNING
    # Were the job never cancelled, it ends with success after a minute, and the test fails.
    watchdog = threading.Timer(60, lambda: setattr(workspace, "run_ends", SUCCEEDED))
    watchdog.start()

    def polled() -> bool:
        return workspace.bodies("GET", "/api/2.2/jobs/runs/get") != []

    try:
        with terminated_when(polled), atliqon_instance(tmp_path / "dagster") as instance:
            launcher = DatabricksJobLauncher.for_settings(load_settings())
            assert not launched_through(launcher, "daily_orders_job", instance)
            [run] = instance.get_runs()
            failures = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    finally:
        watchdog.cancel()
    assert workspace.bodies("POST", "/api/2.2/jobs/runs/cancel") == [{"run_id": RUN_ID}]
    [failure] = failures
    error = failure.dagster_event.step_failure_data.error.cause
    assert (
        f"the Databricks run {RUN_ID} was cancelled, with code USER_CANCELED, type SUCCESS" in error.message
    )


def test_serverless_job_names_an_environment_that_installs_the_wheel():
    settings = load_settings(
        {
            **WORKSPACE,
            **GIVEN,
            "ATLIQON_DATABRICKS_JOB_COMPUTE": "serverless",
            "ATLIQON_DATABRICKS_VOLUME": "/Volumes/fmcg/default/pipes",
        }
    )
    spec = DatabricksJob.for_settings(settings).spec("dimensions_job")
    task = spec.task.as_dict()
    assert pop_parameters(task) == ("volumes", FORWARDED)
    assert task == {
        "task_key": "atliqon_dimensions_job",
        "environment_key": "atliqon",
        "python_wheel_task": {"package_name": "atliqon_platform", "entry_point": "atliqon-pipes"},
    }
    assert spec.submit_args["run_name"] == "atliqon_dimensions_job"
    assert [environment.as_dict() for environment in spec.submit_args["environments"]] == [
        {
            "environment_key": "atliqon",
            "spec": {"environment_version": "3", "dependencies": [WORKSPACE["ATLIQON_DATABRICKS_WHEEL"]]},
        }
    ]


def test_the_job_process_resolves_the_same_data_locations():
    settings = load_settings(WORKSPACE)
    task = DatabricksJob.for_settings(settings).spec("monthly_facts_job").task
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
    assert script.value == "atliqon_platform.pipes_entrypoint:main"
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
