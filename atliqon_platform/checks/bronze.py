"""Bronze checks, evaluated while the files are read (the asset has what they need in hand).

A file without the expected columns is not loaded at all and fails its asset, so the check's
result is the place a reviewer finds which file, which line and which columns.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, PartitionsDefinition

from atliqon_platform.checks.results import Outcome, Rule, Scope, describe
from atliqon_platform.resources.delta_lake import PartitionRange

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


def _about(dates: PartitionRange, result: AssetCheckResult, text: str) -> AssetCheckResult:
    """``result`` with ``text``, saying which days it is about."""
    return AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=f"{describe(dates)}: {text}",
        metadata=result.metadata,
    )


def expected_columns_by_day(result: AssetCheckResult, scope: Scope) -> Outcome:
    """The landing days of a run are loaded or refused together, so each day has the run's result."""
    day_text = "its files have the expected columns"
    if not result.passed:
        day_text = f"not loaded, with the rest of the run: {result.description}"
    partitions = {key: _about(dates, result, day_text) for key, dates in scope.partitions.items()}
    return Outcome(_about(scope.range, result, result.description or ""), partitions)


def order_days_not_empty(asset_key: AssetKey, landing_days: Iterable[dt.date], scope: Scope) -> Outcome:
    """The run's order lines, and each landing day's (a day without any is named)."""
    rows = Counter(landing_days)

    def of_days(dates: PartitionRange) -> AssetCheckResult:
        days = [dates.start + dt.timedelta(days=n) for n in range((dates.end - dates.start).days + 1)]
        empty = [day.isoformat() for day in days if not rows[day]]
        result = not_empty_result(asset_key, sum(rows[day] for day in days), empty)
        return _about(dates, result, result.description or "")

    partitions = {key: of_days(dates) for key, dates in scope.partitions.items()}
    return Outcome(of_days(scope.range), partitions)
