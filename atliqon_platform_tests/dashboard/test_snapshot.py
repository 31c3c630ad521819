"""The snapshot materialised with the view: written where the lake is (folder or S3), KPIs in metadata."""

import boto3
from dagster import MetadataValue
from deltalake import write_deltalake

from atliqon_platform.resources.dashboard import DashboardResource
from atliqon_platform.settings import delta_storage_options, load_settings
from atliqon_platform.tables import GOLD_VW_FACT_ORDERS_ENRICHED
from atliqon_platform_tests.dashboard.helpers import SAMPLE, view_table


def test_snapshot_beside_a_local_lake(tmp_path):
    settings = load_settings({"ATLIQON_HOME": str(tmp_path), "ATLIQON_DASHBOARD_PORT": "8123"})
    write_deltalake(GOLD_VW_FACT_ORDERS_ENRICHED.location(settings.lake_uri), view_table(SAMPLE))
    metadata = DashboardResource.for_settings(settings).publish(
        GOLD_VW_FACT_ORDERS_ENRICHED.location(settings.lake_uri)
    )
    snapshot = tmp_path / "lake" / "_dashboard" / "snapshot.html"
    assert metadata["dashboard"] == MetadataValue.url("http://127.0.0.1:8123/")
    assert metadata["dashboard_snapshot"] == MetadataValue.path(str(snapshot))
    assert "| Total Revenue | 3.85K |" in metadata["kpis"].value
    page = snapshot.read_text()
    for text in ("3.85K", "Unique Customers", "All Customers by Revenue", "Gamma", "(Delta version 0)"):
        assert text in page
    assert "window.Plotly = Plotly" in page  # plotly.js inlined: opens without network or server


def test_snapshot_on_s3(s3_bucket, s3_endpoint):
    environ = {
        "ATLIQON_ENV": "s3",
        "ATLIQON_LANDING_URI": f"s3://{s3_bucket}/landing",
        "ATLIQON_LAKE_URI": f"s3://{s3_bucket}/lake",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_REGION": "us-east-1",
    }
    settings = load_settings(environ)
    uri = GOLD_VW_FACT_ORDERS_ENRICHED.location(settings.lake_uri)
    write_deltalake(uri, view_table(SAMPLE), storage_options=delta_storage_options(uri))
    metadata = DashboardResource.for_settings(settings).publish(uri)
    assert metadata["dashboard_snapshot"] == MetadataValue.path(
        f"s3://{s3_bucket}/lake/_dashboard/snapshot.html"
    )
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    page = s3.get_object(Bucket=s3_bucket, Key="lake/_dashboard/snapshot.html")["Body"].read().decode()
    assert "3.85K" in page and "Performance Overview" in page
