"""The code location: each layer's definitions for the settings given, merged.

Only the entry points read the settings (``load_settings``): this module's ``defs``, the
``atliqon`` command and the Pipes entry point; everything below is built from what they pass.
"""

from __future__ import annotations

from dagster import Definitions

from atliqon_platform.assets.definitions import build_assets
from atliqon_platform.assets.jobs import JOBS_IN_ORDER
from atliqon_platform.automation.conditions import with_gold_conditions
from atliqon_platform.automation.definitions import automation_definitions
from atliqon_platform.checks.definitions import check_definitions
from atliqon_platform.instance.threaded_executor import threaded_executor
from atliqon_platform.maintenance.jobs import maintenance_definitions
from atliqon_platform.partitions import Partitions
from atliqon_platform.pipes.launchers import pipes_launcher
from atliqon_platform.pipes.remote_assets import remote_assets
from atliqon_platform.resources.definitions import resource_definitions
from atliqon_platform.settings import Settings, load_settings


def build_definitions(settings: Settings) -> Definitions:
    partitions = Partitions.for_settings(settings)
    assets = with_gold_conditions(build_assets(partitions))
    checks = check_definitions(settings, partitions)
    launcher = pipes_launcher(settings)
    if launcher is None:
        computed = Definitions(assets=assets, jobs=JOBS_IN_ORDER)
    else:
        # The same assets and checks, computed by the entry point a Pipes launch runs; the
        # launching side only declares them.
        graph = remote_assets([*assets, *checks.asset_checks], JOBS_IN_ORDER)
        computed = Definitions(assets=graph, jobs=JOBS_IN_ORDER, resources={"pipes_launcher": launcher})
        checks = Definitions(sensors=checks.sensors)
    return Definitions.merge(
        computed,
        checks,
        automation_definitions(settings),
        maintenance_definitions(assets),
        resource_definitions(settings),
        # One process and one Spark session per run, its steps on threads of that process
        # (instance/threaded_executor.py): they share the session instead of each starting a
        # JVM, and their commits overlap. So the runs the daemon and the UI launch, like the
        # headless backfill's and the Pipes entry point's.
        Definitions(executor=threaded_executor.configured({"max_concurrent": settings.step_threads})),
    )


defs = build_definitions(load_settings())
