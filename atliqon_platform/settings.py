"""The environment switch: every environment variable the platform reads is read here.

Three environments share one code base:
- ``local`` (default): landing zone and lake are folders under ``ATLIQON_HOME``;
- ``s3``: landing zone and lake are S3 prefixes (AWS or any S3-compatible server);
- ``databricks``: Spark runs on Databricks (Databricks Connect), lake on S3 or Unity Catalog.

Independently, ``ATLIQON_PIPES`` runs each job's assets outside the Dagster process through
Dagster Pipes: in a subprocess, or as a one-time Databricks job.

Anything unknown or missing fails here, at start-up, with the fix in the message.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_CATALOG = "fmcg"


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which one and what to set."""


class Environment(StrEnum):
    LOCAL = "local"
    S3 = "s3"
    DATABRICKS = "databricks"


class PipesMode(StrEnum):
    OFF = "off"  # assets run in the Dagster run's own process
    SUBPROCESS = "subprocess"
    DATABRICKS = "databricks"


class JobCompute(StrEnum):
    CLUSTER = "cluster"  # a new job cluster per run
    SERVERLESS = "serverless"


@dataclass(frozen=True)
class DatabricksSettings:
    """How runs reach the workspace; its address and secrets are checked for here, never held."""

    auth: str | None  # "token" or "oauth": which variables hold the secret
    cluster_id: str | None  # Databricks Connect compute; None with serverless
    serverless: bool
    on_cluster: bool
    wheel: str | None  # the project's wheel in the workspace, for Pipes jobs
    job_compute: JobCompute
    spark_version: str
    node_type: str
    workers: int
    instance_profile: str | None
    volume: str | None  # Unity Catalog volume for Pipes messages of serverless jobs


@dataclass(frozen=True)
class Settings:
    """Where things are and which engine runs them, resolved once from the environment."""

    env: Environment
    home: Path
    landing_uri: str
    lake_uri: str
    spark_remote: str | None
    spark_master: str
    catalog: str | None
    first_order_day: dt.date
    first_month: dt.date
    aws_endpoint_url: str | None
    aws_region: str | None
    automation_on: bool
    sensor_interval_seconds: int
    max_rejected_share: float
    orders_freshness_hours: float
    pipes: PipesMode = PipesMode.OFF
    spark_remote_of_up: bool = False  # spark_remote is the warm engine of this home's `atliqon up`
    databricks: DatabricksSettings | None = None
    dashboard_port: int = 8050
    dashboard_refresh_seconds: float = 30.0  # how often an open dashboard looks for new data
    spark_driver_memory: str = "4g"
    spark_codegen: bool = False  # Spark's generated code: for builds of millions of lines
    spark_jars_folder: Path | None = None  # offline: a folder holding the local engine's jars
    spark_jars_cache: Path = Path("~/.cache/atliqon/jars").expanduser()
    # the local JVM's class archives (resources/class_archive.py); None: no archive
    spark_class_archives: Path | None = None
    ui_port: int = 3000  # the Dagster UI of `atliqon up`
    step_threads: int = 4  # steps of a run executing at once, on threads of its process

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}/"

    @property
    def dashboard_snapshot_uri(self) -> str:
        """Where the view's static snapshot is written: beside the lake's layers, in the same store."""
        return f"{self.lake_uri}/_dashboard/snapshot.html"


def delta_storage_options(uri: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Options for delta-rs at ``uri``: S3 endpoint and credentials from the standard AWS variables."""
    environ = os.environ if environ is None else environ
    if not uri.startswith("s3://"):
        return {}
    options = {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}  # one writer per table: Dagster runs a table once
    if endpoint := environ.get("AWS_ENDPOINT_URL"):
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if region := environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"):
        options["AWS_REGION"] = region
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if value := environ.get(name):
            options[name] = value
    return options


def s3a_options(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Hadoop S3A settings for Spark, from the same standard AWS variables as delta-rs and boto3.

    Secrets go into the session's Hadoop configuration only, which the platform never logs.
    Without keys in the environment, S3A's default chain (instance profile, ...) applies.
    """
    environ = os.environ if environ is None else environ
    options = {"fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}  # s3:// URIs through S3A
    if endpoint := environ.get("AWS_ENDPOINT_URL"):
        # An S3-compatible server (MinIO, moto): buckets as paths, not host names.
        options["fs.s3a.endpoint"] = endpoint
        options["fs.s3a.path.style.access"] = "true"
        options["fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https://")).lower()
    if region := environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"):
        options["fs.s3a.endpoint.region"] = region
    if (key := environ.get("AWS_ACCESS_KEY_ID")) and (secret := environ.get("AWS_SECRET_ACCESS_KEY")):
        options["fs.s3a.access.key"] = key
        options["fs.s3a.secret.key"] = secret
        provider = "SimpleAWSCredentialsProvider"
        if token := environ.get("AWS_SESSION_TOKEN"):
            options["fs.s3a.session.token"] = token
            provider = "TemporaryAWSCredentialsProvider"
        options["fs.s3a.aws.credentials.provider"] = f"org.apache.hadoop.fs.s3a.{provider}"
    return options


def _choice(environ: Mapping[str, str], name: str, enum: type[StrEnum], default: str) -> StrEnum:
    raw = environ.get(name, default).strip().lower() or default
    try:
        return enum(raw)
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise ConfigurationError(f"{name}={raw!r} is not valid; use one of: {valid}") from None


def _date(environ: Mapping[str, str], name: str, default: str) -> dt.date:
    raw = environ.get(name, default)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a date; use YYYY-MM-DD") from None


def _number(environ: Mapping[str, str], name: str, default: str, low: float, high: float) -> float:
    raw = environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also false for nan
        raise ConfigurationError(f"{name}={raw!r} must be a number from {low:g} to {high:g}")
    return value


def _whole(environ: Mapping[str, str], name: str, default: str, low: int, high: int) -> int:
    value = _number(environ, name, default, low, high)
    if not value.is_integer():
        raise ConfigurationError(f"{name}={environ[name]!r} must be a whole number from {low} to {high}")
    return int(value)


# What Spark takes as its master here: a local engine (local, local[4], local[*], local[4,2]) or a
# cluster manager's URL.
SPARK_MASTER = re.compile(r"local(\[(\d+|\*)(\s*,\s*\d+)?\])?|local-cluster\[.+\]|(spark|k8s)://.+|yarn")
# A JVM memory size as Spark hands it to the JVM (-Xmx): a whole number with a unit (4g, 2048m).
MEMORY_SIZE = re.compile(r"\d+[kmgt]", re.IGNORECASE)


def _matching(environ: Mapping[str, str], name: str, default: str, pattern: re.Pattern[str], use: str) -> str:
    raw = environ.get(name, "").strip() or default
    if not pattern.fullmatch(raw):
        raise ConfigurationError(f"{name}={raw!r} is not valid; use {use}")
    return raw


def _cache(environ: Mapping[str, str]) -> Path:
    """The user's cache folder for the platform, shared by every home."""
    return Path(environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "atliqon"


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigurationError(f"{name}={raw!r} is not valid; use on or off")
    return raw == "on"


def is_tcp_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    if not is_tcp_port(raw):
        raise ConfigurationError(f"{name}={raw!r} is not a TCP port; use a number from 1 to 65535")
    return int(raw)


def _folder(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    folder = Path(raw).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigurationError(f"{name}={raw!r} is not a folder")
    return folder


def _s3_uri(environ: Mapping[str, str], name: str, env: Environment) -> str:
    value = environ.get(name, "").strip().rstrip("/")
    if not value:
        raise ConfigurationError(
            f"ATLIQON_ENV={env.value} needs {name} (an s3://bucket/prefix URI); it is not set"
        )
    if not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ConfigurationError(f"{name}={value!r} must look like s3://bucket/prefix")
    return value


def workspace_url(host: str) -> str:
    """DATABRICKS_HOST as a workspace URL: a bare host name (as the workspace's address bar shows
    it) or an http:// one gets https://, which is all a workspace answers on. Empty stays empty."""
    host = host.strip().rstrip("/")
    if not host or host.startswith("https://"):
        return host
    return "https://" + host.removeprefix("http://")


def _databricks(environ: Mapping[str, str], env: Environment, pipes: PipesMode) -> DatabricksSettings:
    """Databricks workspace, credentials and compute: what Databricks Connect and Pipes jobs need."""
    on_cluster = bool(environ.get("DATABRICKS_RUNTIME_VERSION"))
    needs_workspace = not on_cluster  # on a cluster, the session is the cluster's own
    if needs_workspace and not workspace_url(environ.get("DATABRICKS_HOST", "")):
        raise ConfigurationError(
            "Databricks needs DATABRICKS_HOST (the workspace URL, https://<workspace>.cloud.databricks.com)"
        )
    auth = None
    if environ.get("DATABRICKS_TOKEN"):
        auth = "token"
    elif environ.get("DATABRICKS_CLIENT_ID") and environ.get("DATABRICKS_CLIENT_SECRET"):
        auth = "oauth"
    elif needs_workspace:
        raise ConfigurationError(
            "Databricks needs credentials: set DATABRICKS_TOKEN (a personal access token), or "
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (an OAuth service principal)"
        )
    cluster_id = environ.get("DATABRICKS_CLUSTER_ID") or None
    serverless = environ.get("DATABRICKS_SERVERLESS_COMPUTE_ID", "").strip().lower() == "auto"
    connect_here = env is Environment.DATABRICKS and pipes is not PipesMode.DATABRICKS and not on_cluster
    if connect_here and not cluster_id and not serverless:
        raise ConfigurationError(
            "ATLIQON_ENV=databricks needs compute for Databricks Connect: set DATABRICKS_CLUSTER_ID "
            "(an all-purpose cluster) or DATABRICKS_SERVERLESS_COMPUTE_ID=auto (serverless)"
        )
    job_compute = _choice(environ, "ATLIQON_DATABRICKS_JOB_COMPUTE", JobCompute, JobCompute.CLUSTER.value)
    wheel = environ.get("ATLIQON_DATABRICKS_WHEEL") or None
    volume = environ.get("ATLIQON_DATABRICKS_VOLUME", "").rstrip("/") or None
    if pipes is PipesMode.DATABRICKS:
        if not wheel:
            raise ConfigurationError(
                "ATLIQON_PIPES=databricks needs ATLIQON_DATABRICKS_WHEEL: the workspace path of the "
                "project's wheel (e.g. /Volumes/fmcg/default/wheels/atliqon_platform-0.1.0-py3-none-any.whl)"
            )
        if job_compute is JobCompute.SERVERLESS and not volume:
            raise ConfigurationError(
                "ATLIQON_DATABRICKS_JOB_COMPUTE=serverless needs ATLIQON_DATABRICKS_VOLUME "
                "(a Unity Catalog volume such as /Volumes/fmcg/default/pipes, for Pipes messages)"
            )
    workers = environ.get("ATLIQON_DATABRICKS_WORKERS", "2")
    if not workers.isdigit():
        raise ConfigurationError(f"ATLIQON_DATABRICKS_WORKERS={workers!r} must be a whole number")
    return DatabricksSettings(
        auth=auth,
        cluster_id=cluster_id,
        serverless=serverless,
        on_cluster=on_cluster,
        wheel=wheel,
        job_compute=job_compute,
        spark_version=environ.get("ATLIQON_DATABRICKS_SPARK_VERSION", "17.3.x-scala2.13"),
        node_type=environ.get("ATLIQON_DATABRICKS_NODE_TYPE", "m5d.large"),
        workers=int(workers),
        instance_profile=environ.get("ATLIQON_DATABRICKS_INSTANCE_PROFILE") or None,
        volume=volume,
    )


def up_lock(dagster_home: Path) -> Path:
    return dagster_home / "atliqon-up.lock"


def _up_note(dagster_home: Path) -> dict:
    """What the lock of this home's ``atliqon up`` says of it (lifecycle.HomeLock.note); read
    twice if the first read is not JSON, as one that a rewrite of the note cut across."""
    for _ in range(2):
        try:
            holder = json.loads(up_lock(dagster_home).read_text() or "{}")
        except OSError:
            return {}
        except ValueError:
            continue
        return holder if isinstance(holder, dict) else {}
    return {}


def engine_of_running_up(dagster_home: Path) -> str | None:
    """The engine URL the lock note names, while the ``atliqon up`` that wrote it runs: a note
    left by one that was killed names nothing."""
    holder = _up_note(dagster_home)
    try:
        os.kill(holder.get("pid"), 0)  # raises when that `atliqon up` has ended
    except (OSError, TypeError):
        return None
    url = holder.get("spark")
    return url if isinstance(url, str) else None


def running_engine(dagster_home: Path) -> str | None:
    """The Spark Connect server of the ``atliqon up`` serving this home, while it runs: a run
    started beside it (``atliqon backfill``) then shares its warm JVM and its memory bound."""
    url = engine_of_running_up(dagster_home)
    if url is None:
        return None
    try:
        port = int(url.rsplit(":", 1)[1])
    except ValueError:
        return None
    return url if unreachable("127.0.0.1", port, timeout=1) is None else None


def unreachable(host: str, port: int, timeout: float = 5.0) -> str | None:
    """Why nothing accepts connections at host:port; None when something does."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return str(error.strerror or error)


# Every variable of the platform (README.md, "Configuration"): any other ATLIQON_ name is a typo,
# which would else leave its setting at its default with no word (a misspelt ATLIQON_ENV ran locally).
VARIABLES = frozenset(
    {
        "ATLIQON_AUTOMATION",
        "ATLIQON_CATALOG",
        "ATLIQON_DASHBOARD_PORT",
        "ATLIQON_DASHBOARD_REFRESH_SECONDS",
        "ATLIQON_DATABRICKS_INSTANCE_PROFILE",
        "ATLIQON_DATABRICKS_JOB_COMPUTE",
        "ATLIQON_DATABRICKS_NODE_TYPE",
        "ATLIQON_DATABRICKS_SPARK_VERSION",
        "ATLIQON_DATABRICKS_VOLUME",
        "ATLIQON_DATABRICKS_WHEEL",
        "ATLIQON_DATABRICKS_WORKERS",
        "ATLIQON_ENV",
        "ATLIQON_FIRST_MONTH",
        "ATLIQON_FIRST_ORDER_DAY",
        "ATLIQON_HOME",
        "ATLIQON_LAKE_URI",
        "ATLIQON_LANDING_URI",
        "ATLIQON_MAX_REJECTED_SHARE",
        "ATLIQON_ORDERS_FRESHNESS_HOURS",
        "ATLIQON_PIPES",
        "ATLIQON_PORT",
        "ATLIQON_SENSOR_INTERVAL_SECONDS",
        "ATLIQON_SPARK_CLASS_ARCHIVE",
        "ATLIQON_SPARK_CODEGEN",
        "ATLIQON_SPARK_DRIVER_MEMORY",
        "ATLIQON_SPARK_JARS",
        "ATLIQON_SPARK_MASTER",
        "ATLIQON_SPARK_REMOTE",
        "ATLIQON_STEP_THREADS",
    }
)


def _no_unknown_variables(environ: Mapping[str, str]) -> None:
    unknown = sorted(name for name in environ if name.startswith("ATLIQON_") and name not in VARIABLES)
    if unknown:
        near = difflib.get_close_matches(unknown[0], VARIABLES, n=1)
        raise ConfigurationError(
            f"{unknown[0]} is no setting of the platform"
            + (f" (did you mean {near[0]}?)" if near else "")
            + ": unset it; the settings are in README.md, Configuration"
        )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment; raises ConfigurationError with what to fix."""
    environ = os.environ if environ is None else environ
    _no_unknown_variables(environ)
    env = _choice(environ, "ATLIQON_ENV", Environment, Environment.LOCAL.value)
    # Empty is unset, as for every other setting: not the current folder.
    home = Path(environ.get("ATLIQON_HOME", "").strip() or ".atliqon").expanduser().resolve()
    if env is Environment.LOCAL:
        landing_uri = str(home / "landing")
        lake_uri = str(home / "lake")
    elif env is Environment.S3:
        landing_uri = _s3_uri(environ, "ATLIQON_LANDING_URI", env)
        lake_uri = _s3_uri(environ, "ATLIQON_LAKE_URI", env)
    else:
        landing_uri = _s3_uri(environ, "ATLIQON_LANDING_URI", env)
        lake_uri = environ.get("ATLIQON_LAKE_URI", "").rstrip("/") or ""
    # Unity Catalog names instead of paths: asked for, or on Databricks without a lake path.
    catalog = environ.get("ATLIQON_CATALOG") or None
    if env is Environment.DATABRICKS and not lake_uri:
        catalog = catalog or DEFAULT_CATALOG
    pipes = _choice(environ, "ATLIQON_PIPES", PipesMode, PipesMode.OFF.value)
    spark_remote = environ.get("ATLIQON_SPARK_REMOTE") or None
    # `atliqon up` names its engine to its processes by ATLIQON_SPARK_REMOTE too: the lock says it.
    spark_remote_of_up = spark_remote is not None and spark_remote == engine_of_running_up(home / "dagster")
    if not spark_remote and env is not Environment.DATABRICKS:
        spark_remote = running_engine(home / "dagster")
        spark_remote_of_up = spark_remote is not None
    if spark_remote and env is Environment.DATABRICKS:
        raise ConfigurationError(
            "ATLIQON_SPARK_REMOTE is for plain Spark Connect servers; with ATLIQON_ENV=databricks "
            "the session is Databricks Connect's: unset ATLIQON_SPARK_REMOTE and set DATABRICKS_HOST"
        )
    if pipes is PipesMode.DATABRICKS and env is not Environment.DATABRICKS:
        raise ConfigurationError(
            "ATLIQON_PIPES=databricks runs jobs on Databricks: set ATLIQON_ENV=databricks too"
        )
    databricks = _databricks(environ, env, pipes) if env is Environment.DATABRICKS else None
    if spark_remote and not spark_remote.startswith("sc://"):
        raise ConfigurationError(
            f"ATLIQON_SPARK_REMOTE={spark_remote!r} must be a Spark Connect URL (sc://host:port)"
        )
    first_month = _date(environ, "ATLIQON_FIRST_MONTH", "2024-01-01")
    if first_month.day != 1:
        raise ConfigurationError(
            f"ATLIQON_FIRST_MONTH={first_month.isoformat()!r} must be the first day of a month "
            f"({first_month.replace(day=1).isoformat()})"
        )
    return Settings(
        env=env,
        home=home,
        landing_uri=landing_uri,
        lake_uri=lake_uri,
        spark_remote=spark_remote,
        spark_remote_of_up=spark_remote_of_up,
        spark_master=_matching(
            environ,
            "ATLIQON_SPARK_MASTER",
            "local[*]",
            SPARK_MASTER,
            "local[*], local[N], or a cluster's URL",
        ),
        catalog=catalog,
        first_order_day=_date(environ, "ATLIQON_FIRST_ORDER_DAY", "2025-07-01"),
        first_month=first_month,
        aws_endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
        aws_region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
        # Sensors and declarative automation start running with the daemon only on a laptop;
        # a shared deployment switches them on deliberately, in the UI or with ATLIQON_AUTOMATION=on.
        automation_on=_switch(environ, "ATLIQON_AUTOMATION", env is Environment.LOCAL),
        # 5 s: a new file reaches the dashboard about 5 s sooner than at 10 s, for 0.7 CPU s a
        # minute more in an idle daemon (BENCHMARKS.md, sixteenth session).
        sensor_interval_seconds=_whole(environ, "ATLIQON_SENSOR_INTERVAL_SECONDS", "5", 1, 3600),
        max_rejected_share=_number(environ, "ATLIQON_MAX_REJECTED_SHARE", "0.4", 0, 1),
        orders_freshness_hours=_number(environ, "ATLIQON_ORDERS_FRESHNESS_HOURS", "36", 1, 24 * 365),
        pipes=pipes,
        databricks=databricks,
        dashboard_port=_port(environ, "ATLIQON_DASHBOARD_PORT", 8050),
        dashboard_refresh_seconds=_number(environ, "ATLIQON_DASHBOARD_REFRESH_SECONDS", "30", 1, 3600),
        spark_driver_memory=_matching(
            environ, "ATLIQON_SPARK_DRIVER_MEMORY", "4g", MEMORY_SIZE, "a size such as 4g or 2048m"
        ),
        spark_codegen=_switch(environ, "ATLIQON_SPARK_CODEGEN", False),
        spark_jars_folder=_folder(environ, "ATLIQON_SPARK_JARS"),
        spark_jars_cache=_cache(environ) / "jars",
        spark_class_archives=_cache(environ) / "classes"
        if _switch(environ, "ATLIQON_SPARK_CLASS_ARCHIVE", True)
        else None,
        ui_port=_port(environ, "ATLIQON_PORT", 3000),
        step_threads=_whole(environ, "ATLIQON_STEP_THREADS", "4", 1, 64),
    )
