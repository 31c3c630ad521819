"""Bronze checks, evaluated while the files are read (the asset has what they need in hand).

A file that breaks the contract does not stop the run: its lines are loaded with the reason and
quarantined in silver, and these checks are where a reviewer finds which file and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, PartitionsDefinition

from atliqon_platform.checks.results import Rule

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
    asset_key: AssetKey, rule: Rule, files: int, problems: Sequence[str], what: str
) -> AssetCheckResult:
    """Passed when no file has the problem; else the files and what is wrong with each."""
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=rule.name,
        passed=not problems,
        severity=rule.severity,
        description=(
            f"none of {files} file(s) {what}"
            if not problems
            else f"{len(problems)} of {files} file(s) {what}: " + " | ".join(problems)
        ),
        metadata={"files": files, "problems": list(problems)},
    )


def file_results(
    asset_key: AssetKey, files: int, refused: Mapping[str, str], new_columns: Mapping[str, Sequence[str]]
) -> list[AssetCheckResult]:
    """files_readable and new_columns, naming each file."""
    return [
        _file_result(
            asset_key,
            FILES_READABLE,
            files,
            [f"{key}: {why}" for key, why in refused.items()],
            "refused (every line quarantined)",
        ),
        _file_result(
            asset_key,
            NEW_COLUMNS,
            files,
            [f"{key}: {', '.join(names)}" for key, names in new_columns.items()],
            "carry new columns (kept in rescued_data)",
        ),
    ]


def not_empty_result(
    asset_key: AssetKey, rows: int, empty_days: Sequence[str] | None = None
) -> AssetCheckResult:
    """Snapshots must have readable rows; order days without any are named (a warning)."""
    if empty_days is None:
        passed, description = rows > 0, f"{rows} readable rows"
        severity = NOT_EMPTY.severity
    else:
        passed = not empty_days
        description = f"{rows} readable rows" + (
            f"; no order lines on {', '.join(empty_days)}" if empty_days else ""
        )
        severity = ORDER_DAYS_NOT_EMPTY.severity
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=NOT_EMPTY.name,
        passed=passed,
        severity=severity,
        description=description,
        metadata={"rows": rows, "empty_days": list(empty_days or [])},
    )
