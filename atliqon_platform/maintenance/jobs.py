"""Delta operations as jobs, through Delta's own SQL on the run's Spark session.

- ``table_maintenance`` compacts every table's small files (OPTIMIZE) and deletes the files no
  version within the retention needs (VACUUM); each table gets an observation saying what was done.
  The retention is never below Delta's safe default of 7 days: readers of an older snapshot and
  time travel to last week keep working. Weekly on Sunday night, off by default.
- ``restore_table`` puts one table back to an earlier version (or its state at a time), and records
  it as a materialisation of the table (every partition the table had), so declarative automation
  brings gold up to date from it, as after any other write.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetsDefinition,
    Config,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    MetadataValue,
    OpExecutionContext,
    PartitionsDefinition,
    ScheduleDefinition,
    job,
    op,
)
from py4j.protocol import Py4JJavaError
from pydantic import Field
from pyspark.errors import PySparkException

from atliqon_platform.assets.metadata import history_table
from atliqon_platform.partitions import BUSINESS_TIMEZONE
from atliqon_platform.resources.delta_lake import DeltaLakeResource
from atliqon_platform.resources.spark import first_line
from atliqon_platform.tables import TABLES, Table, table_named

SAFE_RETENTION_HOURS = 168
"""Delta's default file retention (``delta.deletedFileRetentionDuration``, 7 days)."""


class MaintenanceConfig(Config):
    retain_hours: int = Field(
        default=SAFE_RETENTION_HOURS,
        description="VACUUM keeps the files of the versions of the last this many hours (at least 168).",
    )
    tables: list[str] = Field(
        default_factory=list, description="Only these tables, as <layer>.<name>; every table when empty."
    )


class RestoreConfig(Config):
    table: str = Field(description="The table to restore, as <layer>.<name>: gold.fact_orders.")
    version: int | None = Field(default=None, description="The Delta version to go back to.")
    timestamp: str | None = Field(
        default=None,
        description="Or the table as it was at this time: UTC (2025-12-01 09:00:00), or with its "
        "offset (2025-12-01 14:30:00+05:30).",
    )


def history(lake: DeltaLakeResource, table: Table) -> MetadataValue:
    """The table's last versions, as the asset page shows them."""
    return history_table(lake.history(table))


def _target(config: RestoreConfig) -> str:
    """The ``TO ...`` of RESTORE, from a version or a timestamp (parsed, so nothing else reaches SQL)."""
    if (config.version is None) == (config.timestamp is None):
        raise Failure(description="restore_table: give either a version or a timestamp")
    if config.version is not None:
        if config.version < 0:
            raise Failure(description=f"restore_table: versions count from 0, not {config.version}")
        return f"VERSION AS OF {int(config.version)}"
    try:
        moment = dt.datetime.fromisoformat(config.timestamp)
    except ValueError:
        message = f"restore_table: {config.timestamp!r} is not a time (2025-12-01 09:00:00)"
        raise Failure(description=message) from None
    if moment.tzinfo is not None:  # the session's time zone is UTC: a time given with its offset
        moment = moment.astimezone(dt.UTC)
    return f"TIMESTAMP AS OF '{moment:%Y-%m-%d %H:%M:%S}'"


def maintenance_definitions(assets: Sequence[AssetsDefinition]) -> Definitions:
    """The maintenance and restore jobs over the tables of ``assets``, and the weekly schedule."""
    partitions: Mapping[AssetKey, PartitionsDefinition | None] = {
        key: definition.partitions_def for definition in assets for key in definition.keys
    }
    known = [table for table in TABLES if table.asset_key in partitions]

    def table_of(job: str, name: str) -> Table:
        table = table_named(name)
        if table not in known:
            names = ", ".join(str(table) for table in known)
            raise Failure(description=f"{job}: there is no table {name}; the tables: {names}")
        return table

    @op(name="optimize_and_vacuum")
    def optimize_and_vacuum(
        context: OpExecutionContext, config: MaintenanceConfig, lake: DeltaLakeResource
    ) -> None:
        if config.retain_hours < SAFE_RETENTION_HOURS:
            raise Failure(
                description=f"table_maintenance: retain_hours {config.retain_hours} is under "
                f"{SAFE_RETENTION_HOURS} (7 days, Delta's retention): a VACUUM would delete files "
                "that a reader still reading, or a restore, may need"
            )
        for table in [table_of("table_maintenance", name) for name in config.tables] or known:
            if lake.version(table) is None:
                context.log.info(f"{table}: not written yet, nothing to maintain")
                continue
            optimized = lake.command(table, "OPTIMIZE {table}")[0]["metrics"]
            lake.command(table, f"VACUUM {{table}} RETAIN {config.retain_hours} HOURS")
            [last] = lake.command(table, "DESCRIBE HISTORY {table} LIMIT 1")
            vacuumed = last["operation"] == "VACUUM END"  # Delta logs VACUUM unless told not to
            deleted = last["operationMetrics"]["numDeletedFiles"] if vacuumed else "-"
            context.log_event(
                AssetObservation(
                    asset_key=table.asset_key,
                    metadata={
                        "files_compacted": optimized["numFilesRemoved"],
                        "files_written": optimized["numFilesAdded"],
                        "files_deleted": deleted,
                        "retain_hours": config.retain_hours,
                        "delta_version": lake.version(table),
                        "delta_history": history(lake, table),
                    },
                )
            )

    @op(name="restore")
    def restore(context: OpExecutionContext, config: RestoreConfig, lake: DeltaLakeResource) -> None:
        table = table_of("restore_table", config.table)
        key = table.asset_key
        target = _target(config)
        previous = lake.version(table)
        if previous is None:
            raise Failure(description=f"restore_table: {config.table} has never been written")
        try:
            restored = lake.command(table, f"RESTORE TABLE {{table}} TO {target}")
        except (PySparkException, Py4JJavaError) as error:
            message = first_line(str(error)) or type(error).__name__
            raise Failure(description=f"restore_table: {config.table} has no {target}: {message}") from None
        if not restored:  # Delta commits nothing, and says nothing, when the table is already there
            already = f"{config.table} is already at {target} (version {previous})"
            context.log.info(f"{already}: nothing to restore")
            return
        [metrics] = restored
        partitions_def = partitions[key]
        metadata: dict[str, Any] = {
            "restored_to": target,
            "previous_version": previous,
            "delta_version": lake.version(table),
            # A partition's row count is its own rows: the table's is given another name there.
            ("dagster/row_count" if partitions_def is None else "table_rows"): lake.count(table),
            "restore_metrics": MetadataValue.json(metrics),
            "delta_history": history(lake, table),
        }
        context.log.info(f"{config.table} restored to {target} (it was at version {previous})")
        if partitions_def is None:
            context.log_event(AssetMaterialization(asset_key=key, metadata=metadata))
            return
        # Every partition the table has held may differ now, and nothing else can have changed.
        written = context.instance.get_materialized_partitions(key)
        for partition in sorted(written & set(partitions_def.get_partition_keys())):
            context.log_event(AssetMaterialization(asset_key=key, partition=partition, metadata=metadata))

    @job(name="table_maintenance", description="OPTIMIZE and VACUUM every table (retention >= 7 days).")
    def table_maintenance() -> None:
        optimize_and_vacuum()

    @job(
        name="restore_table",
        description="Put one table back to an earlier Delta version; gold follows by automation.",
    )
    def restore_table() -> None:
        restore()

    weekly = ScheduleDefinition(
        name="weekly_table_maintenance",
        cron_schedule="0 2 * * 0",
        execution_timezone=BUSINESS_TIMEZONE,
        job=table_maintenance,
        default_status=DefaultScheduleStatus.STOPPED,
        description="Sunday 02:00 India time: compact and vacuum every table. Off by default.",
    )
    return Definitions(jobs=[table_maintenance, restore_table], schedules=[weekly])
