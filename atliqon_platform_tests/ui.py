"""The Dagster UI as a user's browser reads it: the webserver for a test instance, served from the
test's own process, and its GraphQL API queried the way the UI's Checks tab queries it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from dagster import DagsterInstance, Definitions, PartitionKeyRange
from dagster_graphql.test.utils import define_out_of_process_workspace
from dagster_webserver.app import create_app_from_workspace_process_context
from playwright.sync_api import Page, sync_playwright

from atliqon_platform.spark_connect_server import free_port
from atliqon_platform_tests.dashboard.browser import launch_chromium

WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "ui"

# What the Checks tab reads of every check (AssetChecksQuery in the UI's source).
CHECKS_QUERY = """{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks {
  name
  executionForLatestMaterialization { status partition evaluation { severity description } }
  partitionStatuses { ... on AssetCheckTimePartitionStatuses { ranges { status startKey endKey } } }
} } } } }"""


@contextmanager
def served_ui(instance: DagsterInstance) -> Iterator[str]:
    """``dagster-webserver`` for the project's workspace on ``instance``, on a free loopback port of
    this process (its code server is a child process, as under ``atliqon up``); yields its URL."""
    with define_out_of_process_workspace(str(WORKSPACE), None, instance) as workspace:
        port = free_port()
        app = create_app_from_workspace_process_context(workspace)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the webserver did not start on port {port}")
            time.sleep(0.1)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def check_statuses(url: str, defs: Definitions) -> dict[tuple[str, str], dict[str, Any]]:
    """Every check's latest execution, as the Checks tab shows it, and its status per partition
    (None for an unpartitioned check), keyed by (asset, check)."""
    statuses = {}
    for node in graphql(url, CHECKS_QUERY)["assetNodes"]:
        asset = "/".join(node["assetKey"]["path"])
        for check in node["assetChecksOrError"]["checks"]:
            ranges = (check["partitionStatuses"] or {}).get("ranges")
            partitions = None
            if ranges is not None:
                partitions_def = defs.get_assets_def(asset.split("/")).partitions_def
                partitions = {
                    key: span["status"]
                    for span in ranges
                    for key in partitions_def.get_partition_keys_in_range(
                        PartitionKeyRange(span["startKey"], span["endKey"])
                    )
                }
            latest = check["executionForLatestMaterialization"]
            statuses[(asset, check["name"])] = {"latest": latest, "partitions": partitions}
    return statuses


@contextmanager
def browser_page() -> Iterator[Page]:
    """A page of Debian's chromium, a laptop's screen wide and tall enough for a whole asset page."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium.new_page(viewport={"width": 1600, "height": 2400})
        finally:
            chromium.close()


def screenshot(page: Page, shown: Sequence[str], name: str) -> Path:
    """Once every text of ``shown`` is on the page, save it as test-artifacts/ui/<name>.png."""
    for text in shown:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=120_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # a click far down a list scrolls the window
    page.screenshot(path=str(path))
    return path
