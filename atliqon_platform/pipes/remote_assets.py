"""The platform's assets, each job's share computed by a Pipes launch instead of in process.

One multi-asset per job, with exactly the keys, groups, partitions, dependencies and
check specs of the job's own assets, so the graph, the jobs and the UI stay the same;
only where the code runs changes. The launched process runs the real job
(``entrypoint.py``) and reports the materialisations and check results.
"""

from collections.abc import Sequence
from typing import Protocol

from dagster import (
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    MaterializeResult,
    PipesExecutionResult,
    multi_asset,
)

from atliqon_platform.assets.metadata import file_under_partitions
from atliqon_platform.pipes.launchers import PipesLauncher
from atliqon_platform.pipes.reporting import FIGURES_PER_PARTITION


class AssetJob(Protocol):
    """A job of assets, as ``define_asset_job`` makes it (Dagster exports no name for its type)."""

    name: str
    selection: AssetSelection


def _remote_job_asset(job: AssetJob, graph: Sequence[AssetsDefinition]) -> AssetsDefinition:
    keys = job.selection.resolve(graph)
    members = [definition for definition in graph if set(definition.keys) & keys]
    specs = [spec for definition in members for spec in definition.specs if spec.key in keys]
    check_specs = [spec for definition in graph for spec in definition.check_specs if spec.asset_key in keys]
    partitions = {definition.partitions_def for definition in members}
    if len(partitions) != 1:
        raise ValueError(f"{job.name}: its assets must share one partitioning to run as one launch")
    partitions_def = partitions.pop()

    @multi_asset(
        name=f"{job.name}_via_pipes",
        specs=[spec.replace_attributes(partitions_def=None) for spec in specs],
        check_specs=check_specs,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run() if partitions_def else None,
        can_subset=False,
    )
    def _remote(context: AssetExecutionContext, pipes_launcher: PipesLauncher):
        for result in pipes_launcher.run(context, job.name).get_results():
            yield _with_figures_under_partitions(context, result)

    return _remote


def _with_figures_under_partitions(
    context: AssetExecutionContext, result: PipesExecutionResult
) -> PipesExecutionResult:
    """A materialisation whose run's figures of each partition came with it, filed under them."""
    if not isinstance(result, MaterializeResult) or FIGURES_PER_PARTITION not in (result.metadata or {}):
        return result
    metadata = dict(result.metadata or {})
    file_under_partitions(context, result.asset_key, metadata.pop(FIGURES_PER_PARTITION).value)
    return MaterializeResult(
        asset_key=result.asset_key,
        metadata=metadata,
        check_results=result.check_results,
        data_version=result.data_version,
        tags=result.tags,
    )


def remote_assets(
    graph: Sequence[AssetsDefinition | AssetChecksDefinition], jobs: Sequence[AssetJob]
) -> list[AssetsDefinition]:
    """``graph``'s assets and checks as one Pipes-launched multi-asset per job."""
    return [_remote_job_asset(job, graph) for job in jobs]
