"""The process a Pipes launch runs: the platform's own job, reported back to Dagster.

Run as ``python -m atliqon_platform.pipes.entrypoint`` (a subprocess) or as the wheel's
``atliqon-pipes`` console script (a Databricks job task). The launching asset passes the
job's name as the ``job`` extra and, for partitioned jobs, its partition range; this
process materialises exactly that with the definitions an in-process run uses, on an
ephemeral Dagster instance, and reports every materialisation and check result with its
metadata. The settings arrive as ``--setting NAME=VALUE`` (a serverless job has no
environment variables to set) or from the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetMaterialization,
    BoolMetadataValue,
    DagsterEventType,
    DagsterInstance,
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
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
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
    return {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}


def report_results(pipes: PipesContext, events: Sequence[Any]) -> tuple[int, int]:
    """Forward materialisations (once per asset: a range run repeats them per partition) and each
    check's result over the run (the last one recorded: a range run records one per partition
    before it, which a Pipes report cannot carry)."""
    reported: set[str] = set()
    evaluations: dict[tuple[str, str], AssetCheckEvaluation] = {}
    for event in events:
        data = event.event_specific_data
        if event.event_type is DagsterEventType.ASSET_MATERIALIZATION:
            materialization: AssetMaterialization = data.materialization
            key = materialization.asset_key.to_user_string()
            if key not in reported:
                reported.add(key)
                pipes.report_asset_materialization(
                    asset_key=key, metadata=pipes_metadata(materialization.metadata)
                )
        elif event.event_type is DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluations[(data.asset_key.to_user_string(), data.check_name)] = data
    for (asset_key, check_name), evaluation in evaluations.items():
        pipes.report_asset_check(
            check_name=check_name,
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            metadata=pipes_metadata(evaluation.metadata),
            asset_key=asset_key,
        )
    return len(reported), len(evaluations)


def materialise(pipes: PipesContext) -> None:
    """Run the job the launcher names, here, and report what it produced; raise if it failed."""
    from atliqon_platform.definitions import build_definitions
    from atliqon_platform.settings import PipesMode, load_settings

    # This process is where the assets run: it must not launch Pipes runs of its own.
    settings = dataclasses.replace(load_settings(), pipes=PipesMode.OFF)
    job_name = pipes.get_extra("job")
    job = build_definitions(settings).resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=DagsterInstance.ephemeral(), tags=run_tags(pipes), raise_on_error=False
    )
    materialisations, checks = report_results(pipes, result.all_events)
    pipes.log.info(f"{job_name}: {materialisations} asset(s) materialised, {checks} check(s) evaluated")
    if not result.success:
        failures = [failure_text(event) for event in result.all_events if event.is_failure]
        raise RuntimeError(f"{job_name} failed: " + " | ".join(failures))


def failure_text(event: Any) -> str:
    """A failure with its root cause (a ConfigurationError says what to set): the launcher may see
    nothing else of this process, a Databricks job's logs staying in the workspace."""
    error = getattr(event.event_specific_data, "error", None)
    if error is None:
        return str(event.message)
    while error.cause is not None:
        error = error.cause
    return f"{event.message} {error.message.strip()}"


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="atliqon-pipes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", choices=sorted(CHANNELS), default="default")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    arguments, _ = parser.parse_known_args(argv)  # the rest are Pipes' bootstrap arguments
    return arguments


@contextmanager
def pipes_session(argv: Sequence[str]) -> Iterator[PipesContext]:
    arguments = parse_arguments(argv)
    for setting in arguments.setting:
        name, _, value = setting.partition("=")
        os.environ[name] = value
    context_loader, message_writer = CHANNELS[arguments.channel]
    params_loader = (
        PipesCliArgsParamsLoader() if "--dagster-pipes-context" in argv else PipesEnvVarParamsLoader()
    )
    with open_dagster_pipes(
        params_loader=params_loader, context_loader=context_loader(), message_writer=message_writer()
    ) as pipes:
        yield pipes


def main(argv: Sequence[str] | None = None) -> None:
    with pipes_session(sys.argv[1:] if argv is None else argv) as pipes:
        materialise(pipes)


if __name__ == "__main__":
    main()
