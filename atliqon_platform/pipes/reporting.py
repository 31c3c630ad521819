"""The launched side of Pipes: the session a launcher prepared, and a run's results reported
through it, each materialisation and check result with its metadata (pipes_entrypoint.py runs it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetMaterialization,
    BoolMetadataValue,
    DagsterEventType,
    FloatMetadataValue,
    IntMetadataValue,
    JsonMetadataValue,
    MarkdownMetadataValue,
    MetadataValue,
    PathMetadataValue,
    TableColumnLineageMetadataValue,
    TableSchemaMetadataValue,
    TextMetadataValue,
    TimestampMetadataValue,
    UrlMetadataValue,
)
from dagster_pipes import (
    PipesCliArgsParamsLoader,
    PipesContext,
    PipesDbfsContextLoader,
    PipesDbfsMessageWriter,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesEnvVarParamsLoader,
    PipesUnityCatalogVolumesContextLoader,
    PipesUnityCatalogVolumesMessageWriter,
    open_dagster_pipes,
)

from atliqon_platform.assets.metadata import PARTITION_FIGURES
from atliqon_platform.partitions import range_tags

# How the context and the messages travel: local files (subprocess), DBFS (job cluster),
# a Unity Catalog volume (serverless). The launcher names the channel it reads.
CHANNELS = {
    "default": (PipesDefaultContextLoader, PipesDefaultMessageWriter),
    "dbfs": (PipesDbfsContextLoader, PipesDbfsMessageWriter),
    "volumes": (PipesUnityCatalogVolumesContextLoader, PipesUnityCatalogVolumesMessageWriter),
}

_PIPES_METADATA_TYPES: dict[type[MetadataValue], str] = {
    IntMetadataValue: "int",
    FloatMetadataValue: "float",
    BoolMetadataValue: "bool",
    TextMetadataValue: "text",
    PathMetadataValue: "path",
    UrlMetadataValue: "url",
    JsonMetadataValue: "json",
    MarkdownMetadataValue: "md",
    TimestampMetadataValue: "timestamp",
}


def pipes_metadata(metadata: Mapping[str, MetadataValue]) -> dict[str, dict[str, Any]]:
    """Dagster metadata in the Pipes wire format, each value keeping its type."""
    converted = {}
    for name, value in metadata.items():
        if isinstance(value, TableSchemaMetadataValue):
            columns = [
                {"name": column.name, "type": column.type, "description": column.description}
                for column in value.schema.columns
            ]
            converted[name] = {"raw_value": {"columns": columns}, "type": "table_schema"}
        elif isinstance(value, TableColumnLineageMetadataValue):
            deps = {
                column: [{"asset_key": dep.asset_key.path, "column_name": dep.column_name} for dep in sources]
                for column, sources in value.value.deps_by_column.items()
            }
            converted[name] = {"raw_value": {"deps_by_column": deps}, "type": "table_column_lineage"}
        elif type(value) in _PIPES_METADATA_TYPES:
            converted[name] = {"raw_value": value.value, "type": _PIPES_METADATA_TYPES[type(value)]}
        else:  # a type Pipes cannot carry: shown as its text
            converted[name] = {"raw_value": str(value.value), "type": "text"}
    return converted


def run_tags(pipes: PipesContext) -> dict[str, str]:
    """The launching run's partition range (``launch_extras``) as the tags of a single-run range."""
    if "partition_range" not in pipes.extras:
        return {}
    start, end = pipes.get_extra("partition_range")
    return range_tags(start, end)


FIGURES_PER_PARTITION = "atliqon/figures_per_partition"
"""A range run's own figures of each partition (assets/metadata.py) crossing Pipes, which reports
an asset once: the launching side files them under the partitions (remote_assets.py)."""


def _figures_per_partition(materializations: Sequence[AssetMaterialization]) -> dict[str, dict[str, Any]]:
    """Each PARTITION_FIGURES entry's value by partition, in a run of several partitions."""
    if len(materializations) < 2:
        return {}
    figures: dict[str, dict[str, Any]] = {}
    for materialization in materializations:
        for name in PARTITION_FIGURES:
            if name in materialization.metadata:
                value = materialization.metadata[name].value
                figures.setdefault(name, {})[str(materialization.partition)] = value
    return figures


def report_results(pipes: PipesContext, events: Sequence[Any]) -> tuple[int, int]:
    """Forward materialisations (once per asset: a range run repeats them per partition, with its
    figures of each partition) and each check's result over the run (the last one recorded: a
    range run records one per partition before it, which a Pipes report cannot carry)."""
    materializations: dict[str, list[AssetMaterialization]] = {}
    evaluations: dict[tuple[str, str], AssetCheckEvaluation] = {}
    for event in events:
        data = event.event_specific_data
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
            materialization: AssetMaterialization = data.materialization
            materializations.setdefault(materialization.asset_key.to_user_string(), []).append(
                materialization
            )
        elif event.event_type is DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluations[(data.asset_key.to_user_string(), data.check_name)] = data
    for key, each_partition in materializations.items():
        metadata = pipes_metadata(each_partition[0].metadata)
        if figures := _figures_per_partition(each_partition):
            metadata[FIGURES_PER_PARTITION] = {"raw_value": figures, "type": "json"}
        pipes.report_asset_materialization(asset_key=key, metadata=metadata)
    for (asset_key, check_name), evaluation in evaluations.items():
        pipes.report_asset_check(
            check_name=check_name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            metadata=pipes_metadata(evaluation.metadata),
            asset_key=asset_key,
        )
    return len(materializations), len(evaluations)


@contextmanager
def pipes_session(channel: str, argv: Sequence[str]) -> Iterator[PipesContext]:
    """Pipes opened on ``channel``, its parameters from the command line (``argv``) or the environment."""
    context_loader, message_writer = CHANNELS[channel]
    params_loader = (
        PipesCliArgsParamsLoader() if "--dagster-pipes-context" in argv else PipesEnvVarParamsLoader()
    )
    with open_dagster_pipes(
        params_loader=params_loader, context_loader=context_loader(), message_writer=message_writer()
    ) as pipes:
        yield pipes
