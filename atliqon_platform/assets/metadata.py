"""What every materialisation tells the Dagster UI about its Delta table."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    MetadataValue,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableSchema,
)
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.markdown import markdown_rows
from atliqon_platform.resources.delta_lake import (
    PREVIEW_ROWS,
    DeltaLakeResource,
    PartitionRange,
    WriteResult,
    range_filter,
    rows_written,
)
from atliqon_platform.settings import delta_storage_options
from atliqon_platform.tables import Table
from atliqon_platform.transforms import columns
from atliqon_platform.transforms.common import reject_kind

OWNERS = ["team:data-platform"]
ROW_COUNT, ROWS_READ, ROWS_KEPT, ROWS_REJECTED, REASONS = (
    "dagster/row_count",
    "rows_read",
    "rows_kept",
    "rows_rejected",
    "rejected_by_reason",
)
PARTITION_FIGURES = (ROW_COUNT, ROWS_READ, ROWS_KEPT, ROWS_REJECTED, REASONS)
"""The figures a range run gives each of its partitions (the rest of its metadata is the run's)."""


def column_schema(data: DataFrame | pa.Table, table: Table) -> TableSchema:
    """The written columns and their types, each with what it means (transforms/columns.py)."""
    if isinstance(data, pa.Table):
        typed = [(field.name, str(field.type)) for field in data.schema]
    else:
        typed = [(field.name, field.dataType.simpleString()) for field in data.schema]
    return TableSchema(
        columns=[
            TableColumn(name, kind, description=columns.description(table, name)) for name, kind in typed
        ]
    )


def column_lineage(table: Table) -> dict[str, Any]:
    """Which upstream columns each column of a gold table is made of: as ``dagster/column_lineage``
    (Dagster+ draws it), and as a table the open-source UI shows."""
    lineage = columns.LINEAGE.get(table)
    if lineage is None:
        return {}
    deps = {
        column: [TableColumnDep(asset_key=source.asset_key, column_name=name) for source, name in sources]
        for column, sources in lineage.items()
    }
    rows = [
        {"column": column, "made of": ", ".join(f"{source}.{name}" for source, name in sources)}
        for column, sources in lineage.items()
    ]
    return {
        "dagster/column_lineage": TableColumnLineage(deps_by_column=deps),
        "column_lineage": MetadataValue.md(markdown_rows(rows)),
    }


def _delta_table(result: WriteResult) -> DeltaTable:
    return DeltaTable(result.uri, storage_options=delta_storage_options(result.uri) or None)


def preview(result: WriteResult) -> str:
    """The first rows of what was written (the table, or the range a partitioned run replaced:
    another day's rows under a day without any misled), read by delta-rs (no Spark job)."""
    if result.preview is not None:
        return markdown_rows(result.preview)
    dataset = _delta_table(result).to_pyarrow_dataset()
    written = None if result.replaced is None else range_filter(dataset, result.replaced)
    return markdown_rows(dataset.head(PREVIEW_ROWS, filter=written).to_pylist())


def _history_rows(commits: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Delta commits (``DESCRIBE HISTORY``'s or delta-rs's) as the rows the UI shows: version,
    time, operation, rows written."""
    rows = []
    for commit in commits:
        written = rows_written(commit.get("operationMetrics"))
        timestamp = commit["timestamp"]
        if isinstance(timestamp, int):  # delta-rs: milliseconds since the epoch
            timestamp = dt.datetime.fromtimestamp(timestamp / 1000, dt.UTC)
        time = timestamp.strftime("%Y-%m-%d %H:%M:%S") if timestamp else "-"
        rows.append(
            {
                "version": commit["version"],
                "time": time,
                "operation": commit["operation"],
                "rows": "-" if written is None else written,
            }
        )
    return rows


def history_table(commits: Sequence[Mapping[str, Any]]) -> MetadataValue:
    """A table's last versions (version, time, operation, rows), as its asset page shows them."""
    return MetadataValue.md(markdown_rows(_history_rows(commits)))


def table_metadata(result: WriteResult, data: DataFrame | pa.Table, **extra: Any) -> dict[str, Any]:
    """Row count, documented schema, column lineage, preview, Delta version, history and URI: what
    the UI shows for every table."""
    table = result.table
    return {
        ROW_COUNT: result.rows,
        "dagster/uri": MetadataValue.path(result.uri),
        "dagster/column_schema": column_schema(data, table),
        **column_lineage(table),
        "delta_version": result.version,
        "preview": MetadataValue.md(preview(result)),
        "delta_history": history_table(result.history),
        **extra,
    }


ALL_DAYS = ""


def rejection_counts(rejected: DataFrame, day_column: str | None = None) -> dict[str, dict[str, int]]:
    """Rejected rows per reason, with the variable part of a reason (values, lines) cut off: of
    each day of ``day_column`` (by partition key), or of all under ``ALL_DAYS``; one Spark job."""
    by = [F.col(day_column).cast("string") if day_column else F.lit(ALL_DAYS)]
    counted = rejected.groupBy(*by, reject_kind()).count().collect()
    counts: dict[str, dict[str, int]] = {}
    for day, kind, rows in counted:
        counts.setdefault(day, {})[kind] = rows
    return counts


def all_days(counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """The counts of ``rejection_counts`` summed over the days."""
    total: Counter[str] = Counter()
    for of_a_day in counts.values():
        total.update(of_a_day)
    return dict(total)


def accounting(
    read: int, kept: int, rejected_by_reason: Mapping[str, int], rejected: int
) -> Mapping[str, Any]:
    """read = kept + rejected, with the reasons, for the silver assets' materialisations."""
    return {
        ROWS_READ: read,
        ROWS_KEPT: kept,
        ROWS_REJECTED: rejected,
        REASONS: MetadataValue.json(dict(rejected_by_reason)),
    }


def file_under_partitions(
    context: AssetExecutionContext, asset_key: AssetKey, figures: Mapping[str, Mapping[str, int]]
) -> None:
    """Each partition's own figures (``figures``: each figure's value by partition key, none for a
    partition without rows) over those of the run, in a run of several partitions.

    Dagster files a run's metadata under every partition it materialised: a 30-day backfill
    showed its total as each day's row count, and each empty month the months' total."""
    if len(context.partition_keys) < 2:
        return
    for key in context.partition_keys:
        values = {name: by_partition.get(key, 0) for name, by_partition in figures.items()}
        context.add_asset_metadata(values, asset_key=asset_key, partition_key=key)


def file_rows_under_partitions(
    context: AssetExecutionContext,
    lake: DeltaLakeResource,
    table: Table,
    scope: PartitionRange,
    monthly: bool = False,
) -> None:
    """The row count of each partition a range run wrote (file_under_partitions)."""
    if len(context.partition_keys) > 1:
        rows = lake.rows_per_partition(table, scope, monthly)
        file_under_partitions(context, table.asset_key, {ROW_COUNT: rows})
