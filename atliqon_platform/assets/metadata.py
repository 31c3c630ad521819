"""What every materialisation tells the Dagster UI about its Delta table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import MetadataValue, TableColumn, TableSchema
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.resources.delta_lake import WriteResult
from atliqon_platform.transforms.common import REJECT_REASON


def table_metadata(result: WriteResult, frame: DataFrame | None = None, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": result.rows,
        "dagster/uri": MetadataValue.path(result.uri),
        "delta_version": result.version,
    }
    if frame is not None:
        metadata["dagster/column_schema"] = TableSchema(
            columns=[TableColumn(field.name, field.dataType.simpleString()) for field in frame.schema]
        )
    metadata.update(extra)
    return metadata


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
