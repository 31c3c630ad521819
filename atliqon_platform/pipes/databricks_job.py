"""The one-time Databricks job a Pipes launch submits, described once from the settings.

One task runs the wheel's ``atliqon-pipes`` entry point (the project itself, installed from
the wheel built with ``python -m build --wheel``) on a new job cluster or on serverless
compute. Settings travel as task parameters, never secrets: the cluster reaches S3 through
its instance profile and Unity Catalog through the job's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import Config

from atliqon_platform.settings import JobCompute, Settings

if TYPE_CHECKING:
    from databricks.sdk.service import jobs

PACKAGE_NAME = "atliqon_platform"
ENTRY_POINT = "atliqon-pipes"
ENVIRONMENT_KEY = "atliqon"
SERVERLESS_ENVIRONMENT_VERSION = "3"


@dataclass(frozen=True)
class JobSpec:
    """What ``PipesDatabricksClient.run`` (or the serverless client) is given."""

    task: jobs.SubmitTask
    submit_args: dict[str, Any] = field(default_factory=dict)


class DatabricksJob(Config):
    """The job, as the settings describe it once: what a launch submits for any of the platform's
    jobs. Nothing secret: the launcher holds the credentials."""

    wheel: str
    compute: str  # JobCompute: a new job cluster, or serverless
    spark_version: str
    node_type: str
    workers: int
    instance_profile: str | None = None
    volume: str | None = None  # where a serverless job's Pipes messages go
    task_settings: dict[str, str]  # what the job's process is told (``--setting``)

    @classmethod
    def for_settings(cls, settings: Settings) -> DatabricksJob:
        databricks = settings.databricks
        if databricks is None or not databricks.wheel:
            raise ValueError("a Databricks job needs ATLIQON_ENV=databricks and ATLIQON_DATABRICKS_WHEEL")
        return cls(
            wheel=databricks.wheel,
            compute=databricks.job_compute.value,
            spark_version=databricks.spark_version,
            node_type=databricks.node_type,
            workers=databricks.workers,
            instance_profile=databricks.instance_profile,
            volume=databricks.volume,
            task_settings=cluster_settings(settings),
        )

    @property
    def serverless(self) -> bool:
        return JobCompute(self.compute) is JobCompute.SERVERLESS

    def spec(self, job_name: str) -> JobSpec:
        """The task (and submit arguments) that runs ``job_name`` of the platform on Databricks."""
        # Imported here, where a job is described: the SDK takes about a second to import, which
        # every process that loads the code location (each run among them) would pay otherwise.
        from databricks.sdk.service import compute, jobs

        task_key = f"atliqon_{job_name}"
        parameters = ["--channel", "volumes" if self.serverless else "dbfs"]
        for name, value in self.task_settings.items():
            parameters += ["--setting", f"{name}={value}"]
        wheel_task = jobs.PythonWheelTask(
            package_name=PACKAGE_NAME, entry_point=ENTRY_POINT, parameters=parameters
        )
        if self.serverless:
            environment = jobs.JobEnvironment(
                environment_key=ENVIRONMENT_KEY,
                spec=compute.Environment(
                    environment_version=SERVERLESS_ENVIRONMENT_VERSION, dependencies=[self.wheel]
                ),
            )
            task = jobs.SubmitTask(
                task_key=task_key, environment_key=ENVIRONMENT_KEY, python_wheel_task=wheel_task
            )
            return JobSpec(task, {"environments": [environment], "run_name": task_key})
        cluster = compute.ClusterSpec(
            spark_version=self.spark_version,
            node_type_id=self.node_type,
            num_workers=self.workers,
            # single user: Unity Catalog access as the job's identity
            data_security_mode=compute.DataSecurityMode.SINGLE_USER,
            aws_attributes=(
                compute.AwsAttributes(instance_profile_arn=self.instance_profile)
                if self.instance_profile
                else None
            ),
            spark_conf={"spark.sql.session.timeZone": "UTC"},
        )
        task = jobs.SubmitTask(
            task_key=task_key,
            new_cluster=cluster,
            libraries=[compute.Library(whl=self.wheel)],
            python_wheel_task=wheel_task,
        )
        return JobSpec(task, {"run_name": task_key})


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
