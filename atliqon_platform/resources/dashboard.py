"""The dashboard as the view asset sees it: where its static snapshot goes and where it is served."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource, MetadataValue

from atliqon_platform.resources.landing_zone import LandingZoneResource
from atliqon_platform.settings import Settings, delta_storage_options


class DashboardResource(ConfigurableResource):
    """Writes the snapshot (a folder path or s3:// URI) and links the live dashboard at ``url``."""

    url: str
    snapshot_uri: str
    endpoint_url: str | None = None
    region_name: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> DashboardResource:
        return cls(
            url=settings.dashboard_url,
            snapshot_uri=settings.dashboard_snapshot_uri,
            endpoint_url=settings.aws_endpoint_url,
            region_name=settings.aws_region,
        )

    def publish(self, view_uri: str) -> dict[str, Any]:
        """Snapshot the view just written, in the lake's store; its metadata for the Dagster UI."""
        if "/" not in view_uri:
            # A catalog name (<catalog>.gold.<view>): the dashboard reads the view by path, with delta-rs.
            return {"dashboard": f"not published: {view_uri} is a catalog table, the dashboard reads a path"}
        # Imported here: plotly is only needed when the view is materialised, not to load the code
        # location, and a cluster's install (without the dashboard extra) has none.
        try:
            from atliqon_platform.dashboard.snapshot import kpi_markdown, snapshot_html
            from atliqon_platform.dashboard.view import read_view
        except ImportError as missing:
            return {
                "dashboard": f"not published: {missing.name} is not installed (atliqon-platform[dashboard])"
            }
        loaded = read_view(view_uri, delta_storage_options(view_uri))
        folder, _, name = self.snapshot_uri.rpartition("/")
        store = LandingZoneResource(uri=folder, endpoint_url=self.endpoint_url, region_name=self.region_name)
        store.write(name, snapshot_html(loaded).encode())
        return {
            "dashboard": MetadataValue.url(self.url),
            "dashboard_snapshot": MetadataValue.path(self.snapshot_uri),
            "kpis": MetadataValue.md(kpi_markdown(loaded)),
        }
