"""What every materialisation tells the Dagster UI about its Delta table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.checks.results import markdown_rows
from atliqon_platform.resources.delta_lake import PREVIEW_ROWS, WriteResult
from atliqon_platform.settings import delta_storage_options
from atliqon_platform.transforms.common import REJECT_REASON

OWNERS = ["team:data-platform"]


def column_schema(data: DataFrame | pa.Table) -> TableSchema:
    if isinstance(data, pa.Table):
        return TableSchema(columns=[TableColumn(field.name, str(field.type)) for field in data.schema])
    return TableSchema(
        columns=[TableColumn(field.name, field.dataType.simpleString()) for field in data.schema]
    )


def preview(result: WriteResult) -> str:
    """The first rows of the written table, read by delta-rs (no Spark job for a preview)."""
    if result.preview is not None:
        return markdown_rows(result.preview)
    table = DeltaTable(result.uri, storage_options=delta_storage_options(result.uri) or None)
    return markdown_rows(table.to_pyarrow_dataset().head(PREVIEW_ROWS).to_pylist())


def table_metadata(result: WriteResult, data: DataFrame | pa.Table, **extra: Any) -> dict[str, Any]:
    """Row count, schema, preview, Delta version and URI: what the UI shows for every table."""
    return {
        "dagster/row_count": result.rows,
        "dagster/uri": MetadataValue.path(result.uri),
        "dagster/column_schema": column_schema(data),
        "delta_version": result.version,
        "preview": MetadataValue.md(preview(result)),
        **extra,
    }


def rejection_counts(rejected: DataFrame) -> dict[str, int]:
    """Rejected rows per reason, with the variable part of a reason (values, lines) cut off."""
    kind = F.regexp_extract(F.col(REJECT_REASON), r"^([^:]+)", 1)
    return {
        row["kind"]: row["rows"]
        for row in rejected.groupBy(kind.alias("kind")).agg(F.count("*").alias("rows")).collect()
    }


def accounting(read: int, kept: int, rejected: DataFrame, rejected_rows: int) -> Mapping[str, Any]:
    """read = kept + rejected, with the reasons, for the silver assets' materialisations."""
    return {
        "rows_read": read,
        "rows_kept": kept,
        "rows_rejected": rejected_rows,
        "rejected_by_reason": MetadataValue.json(rejection_counts(rejected)),
    }
