"""The environment switch: every environment variable the platform reads is read here.

Three environments share one code base:
- ``local`` (default): landing zone and lake are folders under ``ATLIQON_HOME``;
- ``s3``: landing zone and lake are S3 prefixes (AWS or any S3-compatible server);
- ``databricks``: Spark runs on Databricks (Databricks Connect), lake on S3 or Unity Catalog.

Anything unknown or missing fails here, at start-up, with the fix in the message.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which one and what to set."""


class Environment(StrEnum):
    LOCAL = "local"
    S3 = "s3"
    DATABRICKS = "databricks"


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
    dashboard_port: int = 8050

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def enriched_view_uri(self) -> str:
        """The Delta table the dashboard reads: ``gold.vw_fact_orders_enriched``."""
        return f"{self.lake_uri}/gold/vw_fact_orders_enriched"

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


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigurationError(f"{name}={raw!r} is not a TCP port; use a number from 1 to 65535")
    return int(raw)


def _s3_uri(environ: Mapping[str, str], name: str, env: Environment) -> str:
    value = environ.get(name, "").strip().rstrip("/")
    if not value:
        raise ConfigurationError(
            f"ATLIQON_ENV={env.value} needs {name} (an s3://bucket/prefix URI); it is not set"
        )
    if not value.startswith("s3://") or len(value) <= len("s3://"):
        raise ConfigurationError(f"{name}={value!r} must look like s3://bucket/prefix")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment; raises ConfigurationError with what to fix."""
    environ = os.environ if environ is None else environ
    env = _choice(environ, "ATLIQON_ENV", Environment, Environment.LOCAL.value)
    home = Path(environ.get("ATLIQON_HOME", ".atliqon")).expanduser().resolve()
    if env is Environment.LOCAL:
        landing_uri = str(home / "landing")
        lake_uri = str(home / "lake")
    elif env is Environment.S3:
        landing_uri = _s3_uri(environ, "ATLIQON_LANDING_URI", env)
        lake_uri = _s3_uri(environ, "ATLIQON_LAKE_URI", env)
    else:
        landing_uri = _s3_uri(environ, "ATLIQON_LANDING_URI", env)
        lake_uri = environ.get("ATLIQON_LAKE_URI", "").rstrip("/") or ""
        if not lake_uri and not environ.get("ATLIQON_CATALOG"):
            raise ConfigurationError(
                "ATLIQON_ENV=databricks needs ATLIQON_LAKE_URI (s3://bucket/prefix) "
                "or ATLIQON_CATALOG (a Unity Catalog name such as fmcg)"
            )
    spark_remote = environ.get("ATLIQON_SPARK_REMOTE") or None
    if spark_remote and not spark_remote.startswith("sc://"):
        raise ConfigurationError(
            f"ATLIQON_SPARK_REMOTE={spark_remote!r} must be a Spark Connect URL (sc://host:port)"
        )
    first_month = _date(environ, "ATLIQON_FIRST_MONTH", "2024-01-01")
    if first_month.day != 1:
        raise ConfigurationError("ATLIQON_FIRST_MONTH must be the first day of a month")
    return Settings(
        env=env,
        home=home,
        landing_uri=landing_uri,
        lake_uri=lake_uri,
        spark_remote=spark_remote,
        spark_master=environ.get("ATLIQON_SPARK_MASTER", "local[*]"),
        catalog=environ.get("ATLIQON_CATALOG") or None,
        first_order_day=_date(environ, "ATLIQON_FIRST_ORDER_DAY", "2025-07-01"),
        first_month=first_month,
        aws_endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
        aws_region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
        dashboard_port=_port(environ, "ATLIQON_DASHBOARD_PORT", 8050),
    )
