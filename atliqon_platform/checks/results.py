"""Turning a rule's offending rows into the check result a reviewer reads in the Dagster UI.

A failed result names the scope (partition or range), the rule, the counts and a few
offending rows. A check that cannot run at all (table missing, unreadable) is reported as a
failed check with the reason, never as a pass and never as a silent crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.assets.partitions import partition_range
from atliqon_platform.resources.delta_lake import PartitionRange

EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    """One check of one table: its name, what it means to a business reader, and its weight."""

    name: str
    description: str
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    blocking: bool = False

    def spec(self, asset_key: AssetKey, partitions_def: PartitionsDefinition | None = None) -> AssetCheckSpec:
        return AssetCheckSpec(
            self.name,
            asset=asset_key,
            description=self.description,
            blocking=self.blocking,
            partitions_def=partitions_def,
        )


def markdown_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """A small markdown table, for examples and previews in the UI."""
    if not rows:
        return "_no rows_"
    columns = list(rows[0].keys())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[name]) for name in columns) + " |" for row in rows]
    return "\n".join(lines)


def scope_of(context: AssetCheckExecutionContext, column: str) -> PartitionRange | None:
    """The partition (or range of a single-run backfill) a check runs on; None when unpartitioned."""
    op_context = context.op_execution_context
    if not op_context.has_partitions:
        return None
    return partition_range(op_context, column)


def describe(scope: PartitionRange | None) -> str:
    if scope is None:
        return "whole table"
    if scope.start == scope.end:
        return scope.start.isoformat()
    return f"{scope.start.isoformat()} to {scope.end.isoformat()}"


@dataclass(frozen=True)
class Offending:
    """The rows of ``asset_key``'s table that break ``rule`` (a lazy DataFrame: none is passing)."""

    asset_key: AssetKey
    rule: Rule
    rows: DataFrame


def count_rows(frames: Sequence[DataFrame]) -> list[int]:
    """The rows of each frame, all counted in one Spark job."""
    tagged = [frame.select(F.lit(index).alias("frame")) for index, frame in enumerate(frames)]
    counts = {
        row["frame"]: row["count"]
        for row in reduce(DataFrame.unionAll, tagged).groupBy("frame").count().collect()
    }
    return [counts.get(index, 0) for index in range(len(frames))]


def rule_results(
    offending: Sequence[Offending], scope: PartitionRange | None, counts: Sequence[int] | None = None
) -> list[AssetCheckResult]:
    """All the rules of a table counted in one Spark job (or from ``counts``, when the caller
    counted them with more); examples are fetched only for the rules that fail, so a clean table
    costs one job however many rules it has."""
    if counts is None:
        counts = count_rows([item.rows for item in offending])
    return [_result(item, count, scope) for item, count in zip(offending, counts, strict=True)]


def _result(item: Offending, count: int, scope: PartitionRange | None) -> AssetCheckResult:
    examples = [row.asDict() for row in item.rows.limit(EXAMPLES).collect()] if count else []
    return AssetCheckResult(
        asset_key=item.asset_key,
        check_name=item.rule.name,
        passed=count == 0,
        severity=item.rule.severity,
        description=(
            f"{describe(scope)}: passed"
            if count == 0
            else f"{describe(scope)}: {count} row(s) break the rule: {item.rule.description}"
        ),
        metadata={
            "scope": describe(scope),
            "offending_rows": count,
            "examples": MetadataValue.md(markdown_rows(examples)),
        },
    )


def guarded(
    context: AssetCheckExecutionContext,
    specs: Iterable[AssetCheckSpec],
    evaluate: Callable[[], Iterator[AssetCheckResult]],
) -> Iterator[AssetCheckResult]:
    """Yield ``evaluate``'s results for the selected checks; when it raises, every selected
    check without a result fails with why."""
    selected = context.selected_asset_check_keys
    pending = {spec.key: spec for spec in specs if spec.key in selected}
    try:
        for result in evaluate():
            if pending.pop(AssetCheckKey(AssetKey.from_coercible(result.asset_key), result.check_name), None):
                yield result
    except Exception as error:  # noqa: BLE001 - any failure must become a visible failed check
        reason = f"the check could not run: {type(error).__name__}: {error}"
        for spec in pending.values():
            yield AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=reason,
                metadata={"error": reason},
            )
