"""Bronze checks, evaluated while the files are read (the asset has what they need in hand).

A file that breaks the contract does not stop the run: its lines are loaded with the reason and
quarantined in silver, and these checks are where a reviewer finds which file and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, PartitionsDefinition

from atliqon_platform.checks.results import Outcome, Scope, describe, per_partition
from atliqon_platform.checks.rules import Rule
from atliqon_platform.resources.delta_lake import PartitionRange

FILES_READABLE = Rule(
    "files_readable",
    "every delivered file is CSV text with the columns the platform expects; every line of a file "
    "that is not is quarantined in silver with the reason, and the rest of the run goes on",
)
NEW_COLUMNS = Rule(
    "new_columns",
    "delivered files carry no column beyond the contract; those that do have them kept per line in "
    "bronze's rescued_data (JSON), and silver and gold are unchanged",
    severity=AssetCheckSeverity.WARN,
)
NOT_EMPTY = Rule(
    "not_empty",
    "the delivery holds at least one readable row; a snapshot whose every file is refused is not "
    "published, so silver and gold keep the last one",
    blocking=True,
)
ORDER_DAYS_NOT_EMPTY = Rule(
    "not_empty",
    "every landing day has order lines that could be read (a day without a file loads as an empty "
    "partition; the lines of a refused file do not count)",
    severity=AssetCheckSeverity.WARN,
)


def bronze_check_specs(
    asset_key: AssetKey, partitions_def: PartitionsDefinition | None = None
) -> list[AssetCheckSpec]:
    not_empty = ORDER_DAYS_NOT_EMPTY if partitions_def else NOT_EMPTY
    return [rule.spec(asset_key, partitions_def) for rule in (FILES_READABLE, NEW_COLUMNS, not_empty)]


def _file_result(
    asset_key: AssetKey, rule: Rule, files: Sequence[str], problems: Mapping[str, str], what: str, then: str
) -> AssetCheckResult:
    """Passed when none of ``files`` has a problem; else those files, what is wrong with each, and
    what became of them (``then``)."""
    found = [f"{key}: {problems[key]}" for key in files if key in problems]
    if found:
        description = f"{len(found)} of {len(files)} file(s) {what} ({then}): " + " | ".join(found)
    else:
        description = f"none of {len(files)} file(s) {what}" if files else "no file landed"
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=rule.name,
        passed=not found,
        severity=rule.severity,
        description=description,
        metadata={"files": len(files), "problems": found},
    )


def file_outcomes(
    asset_key: AssetKey,
    day_of_key: Mapping[str, dt.date | None],
    refused: Mapping[str, str],
    new_columns: Mapping[str, Sequence[str]],
    scope: Scope | None,
) -> list[Outcome]:
    """files_readable and new_columns, naming each file, over the scope and for each day of it
    (``day_of_key``: each file's landing day; None for a snapshot's files)."""
    columns = {key: ", ".join(names) for key, names in new_columns.items()}
    checks = (
        (FILES_READABLE, refused, "refused", "every line quarantined"),
        (NEW_COLUMNS, columns, "carry new columns", "kept in rescued_data"),
    )

    def of_files(rule: Rule, problems: Mapping[str, str], what: str, then: str) -> Outcome:
        def result(dates: PartitionRange | None) -> AssetCheckResult:
            files = [
                key for key, day in day_of_key.items() if dates is None or dates.start <= day <= dates.end
            ]
            return _about(dates, _file_result(asset_key, rule, files, problems, what, then))

        return per_partition(scope, result)

    return [of_files(*check) for check in checks]


def not_empty_result(asset_key: AssetKey, rows: int) -> AssetCheckResult:
    """A snapshot must have readable rows."""
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=NOT_EMPTY.name,
        passed=rows > 0,
        severity=NOT_EMPTY.severity,
        description=f"{rows} readable rows",
        metadata={"rows": rows, "empty_days": []},
    )


def order_days_not_empty(asset_key: AssetKey, rows_of_day: Mapping[dt.date, int], scope: Scope) -> Outcome:
    """The run's readable order lines, and each landing day's (a day without any is named)."""

    def of_days(dates: PartitionRange | None) -> AssetCheckResult:
        assert dates is not None, "order days are always partitioned"
        days = [dates.start + dt.timedelta(days=n) for n in range((dates.end - dates.start).days + 1)]
        empty = [day.isoformat() for day in days if not rows_of_day.get(day)]
        rows = sum(rows_of_day.get(day, 0) for day in days)
        description = f"{rows} readable rows" + (f"; no order lines on {', '.join(empty)}" if empty else "")
        return _about(
            dates,
            AssetCheckResult(
                asset_key=asset_key,
                check_name=ORDER_DAYS_NOT_EMPTY.name,
                passed=not empty,
                severity=ORDER_DAYS_NOT_EMPTY.severity,
                description=description,
                metadata={"rows": rows, "empty_days": empty},
            ),
        )

    return per_partition(scope, of_days)


def _about(dates: PartitionRange | None, result: AssetCheckResult) -> AssetCheckResult:
    """``result``, saying which days it is about (a snapshot's, the whole delivery, says nothing)."""
    if dates is None:
        return result
    return AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=f"{describe(dates)}: {result.description}",
        metadata=result.metadata,
    )
