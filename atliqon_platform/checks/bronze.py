"""Bronze checks, evaluated while the files are read (the asset has what they need in hand).

A file without the expected columns is not loaded at all and fails its asset, so the check's
result is the place a reviewer finds which file, which line and which columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, PartitionsDefinition

from atliqon_platform.checks.results import Rule

EXPECTED_COLUMNS = Rule(
    "expected_columns",
    "every delivered file has the columns the platform expects; a file without them is not loaded",
    blocking=True,
)
NOT_EMPTY = Rule("not_empty", "the delivery holds at least one row", blocking=True)
ORDER_DAYS_NOT_EMPTY = Rule(
    "not_empty",
    "every landing day has order lines (a day without a file loads as an empty partition)",
    severity=AssetCheckSeverity.WARN,
)


def bronze_check_specs(
    asset_key: AssetKey, partitions_def: PartitionsDefinition | None = None
) -> list[AssetCheckSpec]:
    not_empty = ORDER_DAYS_NOT_EMPTY if partitions_def else NOT_EMPTY
    return [rule.spec(asset_key, partitions_def) for rule in (EXPECTED_COLUMNS, not_empty)]


def expected_columns_result(asset_key: AssetKey, files: int, problems: Sequence[str]) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=EXPECTED_COLUMNS.name,
        passed=not problems,
        description=(
            f"all {files} file(s) have the expected columns"
            if not problems
            else f"{len(problems)} of {files} file(s) lack expected columns: " + " | ".join(problems)
        ),
        metadata={"files": files, "problems": list(problems)},
    )


def not_empty_result(
    asset_key: AssetKey, rows: int, empty_days: Sequence[str] | None = None
) -> AssetCheckResult:
    """Snapshots must have rows; order days without rows are named (a warning)."""
    if empty_days is None:
        passed, description = rows > 0, f"{rows} rows"
        severity = NOT_EMPTY.severity
    else:
        passed = not empty_days
        description = f"{rows} rows" + (f"; no order lines on {', '.join(empty_days)}" if empty_days else "")
        severity = ORDER_DAYS_NOT_EMPTY.severity
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=NOT_EMPTY.name,
        passed=passed,
        severity=severity,
        description=description,
        metadata={"rows": rows, "empty_days": list(empty_days or [])},
    )
