"""The one-time Databricks job a Pipes launch submits, built from the settings.

One task runs the wheel's ``atliqon-pipes`` entry point (the project itself, installed from
the wheel built with ``python -m build --wheel``) on a new job cluster or on serverless
compute. Settings travel as task parameters, never secrets: the cluster reaches S3 through
its instance profile and Unity Catalog through the job's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from databricks.sdk.service import compute, jobs

from atliqon_platform.settings import DatabricksSettings, JobCompute, Settings

PACKAGE_NAME = "atliqon_platform"
ENTRY_POINT = "atliqon-pipes"
ENVIRONMENT_KEY = "atliqon"
SERVERLESS_ENVIRONMENT_VERSION = "3"


@dataclass(frozen=True)
class JobSpec:
    """What ``PipesDatabricksClient.run`` (or the serverless client) is given."""

    task: jobs.SubmitTask
    submit_args: dict[str, Any] = field(default_factory=dict)


def cluster_settings(settings: Settings) -> dict[str, str]:
    """The platform settings the job's process needs: where data is, which partitions exist."""
    forwarded = {
        "ATLIQON_ENV": "databricks",
        "ATLIQON_HOME": "/tmp/atliqon",
        "ATLIQON_LANDING_URI": settings.landing_uri,
        "ATLIQON_FIRST_ORDER_DAY": settings.first_order_day.isoformat(),
        "ATLIQON_FIRST_MONTH": settings.first_month.isoformat(),
    }
    if settings.lake_uri:
        forwarded["ATLIQON_LAKE_URI"] = settings.lake_uri
    if settings.catalog:
        forwarded["ATLIQON_CATALOG"] = settings.catalog
    if settings.aws_region:
        forwarded["AWS_REGION"] = settings.aws_region
    return forwarded


def _wheel_task(settings: Settings, channel: str) -> jobs.PythonWheelTask:
    parameters = ["--channel", channel]
    for name, value in cluster_settings(settings).items():
        parameters += ["--setting", f"{name}={value}"]
    return jobs.PythonWheelTask(package_name=PACKAGE_NAME, entry_point=ENTRY_POINT, parameters=parameters)


def _job_cluster(databricks: DatabricksSettings) -> compute.ClusterSpec:
    return compute.ClusterSpec(
        spark_version=databricks.spark_version,
        node_type_id=databricks.node_type,
        num_workers=databricks.workers,
        # single user: Unity Catalog access as the job's identity
        data_security_mode=compute.DataSecurityMode.SINGLE_USER,
        aws_attributes=(
            compute.AwsAttributes(instance_profile_arn=databricks.instance_profile)
            if databricks.instance_profile
            else None
        ),
        spark_conf={"spark.sql.session.timeZone": "UTC"},
    )


def job_spec(settings: Settings, job_name: str) -> JobSpec:
    """The task (and submit arguments) that runs ``job_name`` of the platform on Databricks."""
    databricks = settings.databricks
    if databricks is None or not databricks.wheel:
        raise ValueError("a Databricks job needs ATLIQON_ENV=databricks and ATLIQON_DATABRICKS_WHEEL")
    task_key = f"atliqon_{job_name}"
    if databricks.job_compute is JobCompute.SERVERLESS:
        environment = jobs.JobEnvironment(
            environment_key=ENVIRONMENT_KEY,
            spec=compute.Environment(
                environment_version=SERVERLESS_ENVIRONMENT_VERSION, dependencies=[databricks.wheel]
            ),
        )
        task = jobs.SubmitTask(
            task_key=task_key,
            environment_key=ENVIRONMENT_KEY,
            python_wheel_task=_wheel_task(settings, "volumes"),
        )
        return JobSpec(task, {"environments": [environment], "run_name": task_key})
    task = jobs.SubmitTask(
        task_key=task_key,
        new_cluster=_job_cluster(databricks),
        libraries=[compute.Library(whl=databricks.wheel)],
        python_wheel_task=_wheel_task(settings, "dbfs"),
    )
    return JobSpec(task, {"run_name": task_key})
