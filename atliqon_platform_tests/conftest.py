"""Shared fixtures: one local Spark session for the whole run, a moto S3 server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from pyspark import SparkContext

os.environ.setdefault("ATLIQON_SPARK_MASTER", "local[2]")
os.environ.setdefault("ATLIQON_HOME", str(Path(__file__).resolve().parent.parent / ".atliqon-tests"))

from atliqon_platform.resources.delta_lake import DeltaLakeResource  # noqa: E402
from atliqon_platform.resources.spark import SparkSessionResource  # noqa: E402
from atliqon_platform.settings import load_settings  # noqa: E402
from atliqon_platform.spark_connect_server import free_port  # noqa: E402
from atliqon_platform_tests.instances import home_settings  # noqa: E402

REFERENCE_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "fmcg"


@pytest.fixture(scope="session")
def spark_resource() -> SparkSessionResource:
    return SparkSessionResource.for_settings(load_settings())


@pytest.fixture(scope="session")
def spark(spark_resource):
    return spark_resource.spark_session


@pytest.fixture(scope="module", autouse=True)
def delta_logs_of_the_module_only() -> Iterator[None]:
    """Delta keeps the log of every table its JVM has touched, with its state, for an hour: some
    2.5 MB each even for a tiny table. The run's session touches thousands, and every garbage
    collection would mark them all again. A module's own tables are not read after it; a shared
    fixture's are read again from their logs."""
    yield
    if (context := SparkContext._active_spark_context) is not None:
        context._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


@pytest.fixture
def lake(tmp_path, spark_resource) -> DeltaLakeResource:
    return DeltaLakeResource(lake_uri=str(tmp_path / "lake"), spark=spark_resource)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 endpoint: moto's server, bound to loopback, for the whole test run."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch, request) -> str:
    """A fresh bucket, with the AWS variables pointing at the moto server."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    # A readable prefix of the test's name, then a digest of its whole id: parametrised tests with
    # long names share their first 60 characters, and must not share a bucket.
    readable = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    bucket = f"test-{readable}-{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="session")
def reference_dataset() -> Path:
    if not (REFERENCE_DATASET / "2_child_company").is_dir():
        pytest.skip(f"the real dataset is not at {REFERENCE_DATASET} (shared/ must sit beside the project)")
    return REFERENCE_DATASET


@pytest.fixture(scope="session")
def real_platform(reference_dataset, tmp_path_factory) -> dict:
    """The real dataset through the whole graph, built once per run (see real_platform.py)."""
    from atliqon_platform_tests.real_platform import build_real_platform

    return build_real_platform(reference_dataset, tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="session")
def small_platform(real_days, tmp_path_factory) -> Iterator[dict]:
    """A copy of the real days, the UI serving a fork of their instance, for the tests that change
    them (small_platform.py)."""
    from atliqon_platform_tests.small_platform import small_platform as build

    with build(real_days, tmp_path_factory.mktemp("small")) as platform:
        yield platform


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory) -> Iterator[str]:
    """A Spark Connect server on 127.0.0.1 with the local engine's settings, for the whole run."""
    from atliqon_platform.spark_connect_server import local_spark_connect_server

    home = tmp_path_factory.mktemp("spark-connect")
    settings = home_settings(home)
    with local_spark_connect_server(settings, free_port(), home / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def real_days(reference_dataset, tmp_path_factory) -> dict:
    """The real data up to remote_runs.UNTIL backfilled as a user does it, once per run: ``atliqon
    backfill`` in its own process, the programs it starts watched. Its home, its instance's
    folder, the programs it started, and every materialisation and check result the instance
    recorded. Nothing changes it: tests read it, or go on from a copy (tiny.forked_home)."""
    from dagster import DagsterInstance

    from atliqon_platform_tests.remote_runs import headless_backfill, recorded_results, seeded

    settings = seeded(reference_dataset, tmp_path_factory.mktemp("real-days"))
    backfill = headless_backfill(settings.home)
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        recorded = recorded_results(instance, settings.home)
    return {"home": settings.home, "instance": settings.dagster_home, "backfill": backfill, **recorded}


@pytest.fixture(scope="session")
def tiny_history(tmp_path_factory):
    """A tiny home built with two days, and the content of every table once a third is built too."""
    from atliqon_platform_tests.tiny import build_tiny_history

    return build_tiny_history(tmp_path_factory.mktemp("tiny-history"))
