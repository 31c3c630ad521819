"""Turning a rule's offending rows into the check results a reviewer reads in the Dagster UI.

A failed result names the scope (partition or range), the rule, the counts and a few
offending rows. A check that cannot run at all (table missing, unreadable) is reported as a
failed check with the reason, never as a pass and never as a silent crash.

Within a run over a range of partitions (a single-run backfill), every rule is also reported
per partition: Dagster files a range's ``AssetCheckResult`` under no partition, which leaves
each partition of a partitioned check "skipped" in the UI (its Checks tab, its partition view
and the automation conditions that wait on failed checks all read the partitions).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    EventLogRecord,
    MetadataValue,
    TimeWindowPartitionsDefinition,
    multi_asset_check,
)

# No public constructor gives a partition's evaluation the materialization it checked, which the UI
# needs to count the partition's result as current (AssetCheckResult only does it for one partition).
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from atliqon_platform.checks.rules import Rule
from atliqon_platform.instance.threaded_executor import failed_by_its_engine
from atliqon_platform.markdown import markdown_rows
from atliqon_platform.partitions import partition_range
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.tables import Table

EXAMPLES = 5
CheckEvent = AssetCheckResult | AssetCheckEvaluation


@dataclass(frozen=True)
class Scope:
    """The partitions a run covers: one, or the range of a single-run backfill."""

    range: PartitionRange
    partitions: Mapping[str, PartitionRange]  # each partition key's dates, in order

    def key_of(self, day: dt.date) -> str | None:
        return next((key for key, dates in self.partitions.items() if dates.start <= day <= dates.end), None)


def scope_of(
    context: AssetCheckExecutionContext | AssetExecutionContext,
    column: str,
    partitions_def: TimeWindowPartitionsDefinition,
) -> Scope | None:
    """The partition (or range of a single-run backfill) a step runs on; None when unpartitioned."""
    op_context = context.op_execution_context
    if not op_context.has_partitions:
        return None
    partitions = {}
    for key in op_context.partition_keys:
        window = partitions_def.time_window_for_partition_key(key)
        partitions[key] = PartitionRange(
            column, window.start.date(), window.end.date() - dt.timedelta(days=1)
        )
    return Scope(partition_range(op_context, column), partitions)


def describe(scope: PartitionRange | None) -> str:
    if scope is None:
        return "whole table"
    if scope.start == scope.end:
        return scope.start.isoformat()
    return f"{scope.start.isoformat()} to {scope.end.isoformat()}"


@dataclass
class Outcome:
    """A rule's result over the whole scope and, within a range of partitions, per partition.

    The range fails when any of its partitions does."""

    result: AssetCheckResult
    partitions: Mapping[str, AssetCheckResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        failed = [key for key, result in self.partitions.items() if not result.passed]
        if failed and self.result.passed:
            summary = self.result
            self.result = AssetCheckResult(
                asset_key=summary.asset_key,
                check_name=summary.check_name,
                passed=False,
                severity=summary.severity,
                description=f"{summary.description}; fails on {', '.join(failed)}",
                metadata=summary.metadata,
            )


@dataclass(frozen=True)
class Offending:
    """The rows of ``asset_key``'s table that break ``rule`` (a lazy DataFrame: none is passing),
    and the date column that places each row in its partition."""

    asset_key: AssetKey
    rule: Rule
    rows: DataFrame
    date_column: str | None = None


def read_once(lake: DeltaLakeResource, table: Table, where: PartitionRange | None) -> DataFrame:
    """The rows of ``table`` in ``where`` for the several rules of a check step: read once and kept
    by Spark (a local checkpoint, on disk when large), where each rule's reference to a plain read
    is a scan of its own, whose Delta file listing alone costs a Spark job (BENCHMARKS.md)."""
    return lake.read(table, where).localCheckpoint()


@dataclass(frozen=True)
class Tally:
    """Rows a check counts by day beside its rules, in their Spark job: figures that are not a
    rule's offending rows (a silver table's kept and quarantined rows)."""

    rows: DataFrame
    date_column: str | None = None


Counts = dict[dt.date | None, int]
"""Rows by day; None holds those of an unpartitioned scope, or without a date."""


def _day(date_column: str | None, scope: Scope | None) -> Column:
    if scope is None or date_column is None:
        return F.lit(None).cast("date")
    return F.col(date_column).cast("date")


def counted_by_day(row_sets: Sequence[Offending | Tally], scope: Scope | None) -> list[Counts]:
    """The rows of each set by day, all in one Spark job."""
    tagged = [
        row_set.rows.select(F.lit(index).alias("set"), _day(row_set.date_column, scope).alias("day"))
        for index, row_set in enumerate(row_sets)
    ]
    counts: list[Counts] = [{} for _ in row_sets]
    for row in reduce(DataFrame.unionAll, tagged).groupBy("set", "day").count().collect():
        counts[row["set"]][row["day"]] = row["count"]
    return counts


def rule_results(offending: Sequence[Offending], scope: Scope | None) -> list[Outcome]:
    """All the rules of a table counted in one Spark job, by rule and day; examples are fetched
    only for the rules that fail, so a clean table costs one job however many rules it has.

    A row whose date places it in no partition counts against every partition of the scope."""
    return outcomes(offending, counted_by_day(offending, scope), scope)


def outcomes(offending: Sequence[Offending], counts: Sequence[Counts], scope: Scope | None) -> list[Outcome]:
    """The rules' outcomes from their offending rows' ``counts`` (counted_by_day)."""
    return [_outcome(item, days, scope) for item, days in zip(offending, counts, strict=True)]


def _outcome(item: Offending, days: Mapping[dt.date | None, int], scope: Scope | None) -> Outcome:
    examples = _examples(item, scope) if days else []
    if scope is None:
        return Outcome(_result(item, sum(days.values()), None, [row for _, row in examples]))
    by_key: dict[str, int] = defaultdict(int)
    for day, count in days.items():
        key = scope.key_of(day) if day is not None else None
        for target in [key] if key else scope.partitions:
            by_key[target] += count
    partitions = {
        key: _result(
            item,
            by_key[key],
            dates,
            [row for day, row in examples if day is None or dates.start <= day <= dates.end][:EXAMPLES],
        )
        for key, dates in scope.partitions.items()
    }
    summary = _result(item, sum(days.values()), scope.range, [row for _, row in examples][:EXAMPLES])
    return Outcome(summary, partitions)


def _examples(item: Offending, scope: Scope | None) -> list[tuple[dt.date | None, dict[str, Any]]]:
    """Up to EXAMPLES rows, and as many of each day within a range (one Spark job)."""
    if scope is None:
        return [(None, row.asDict()) for row in item.rows.limit(EXAMPLES).collect()]
    columns = item.rows.columns
    first = F.row_number().over(Window.partitionBy("_day").orderBy(F.lit(0)))
    rows = (
        item.rows.withColumn("_day", _day(item.date_column, scope))
        .withColumn("_first", first)
        .where(F.col("_first") <= EXAMPLES)
        .collect()
    )
    return [(row["_day"], {name: row[name] for name in columns}) for row in rows]


def _result(
    item: Offending, count: int, dates: PartitionRange | None, examples: list[dict]
) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=item.asset_key,
        check_name=item.rule.name,
        passed=count == 0,
        severity=item.rule.severity,
        description=(
            f"{describe(dates)}: passed"
            if count == 0
            else f"{describe(dates)}: {count} row(s) break the rule: {item.rule.description}"
        ),
        metadata={
            "scope": describe(dates),
            "offending_rows": count,
            "examples": MetadataValue.md(markdown_rows(examples)),
        },
    )


def per_partition(
    scope: Scope | None, result: Callable[[PartitionRange | None], AssetCheckResult]
) -> Outcome:
    """A rule evaluated by ``result`` over the scope, and over each of its partitions."""
    if scope is None:
        return Outcome(result(None))
    return Outcome(result(scope.range), {key: result(dates) for key, dates in scope.partitions.items()})


def could_not_run(spec: AssetCheckSpec, scope: Scope | None, error: Exception) -> Outcome:
    """A check whose evaluation raised: failed with why, over the scope and in each partition."""
    reason = f"the check could not run: {type(error).__name__}: {error}"

    def failed(_: PartitionRange | None) -> AssetCheckResult:
        return AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=reason,
            metadata={"error": reason},
        )

    return per_partition(scope, failed)


Evaluate = Callable[[DeltaLakeResource, Scope | None, DagsterInstance], Iterator[Outcome]]
"""A table's rules on the run's scope; the instance holds what earlier runs recorded."""


def check_step(
    name: str,
    specs: Sequence[AssetCheckSpec],
    evaluate: Evaluate,
    partitioned: tuple[str, TimeWindowPartitionsDefinition] | None = None,
) -> AssetChecksDefinition:
    """One step for all the rules of a table: ``evaluate`` finds their outcomes on the run's scope
    (``partitioned``: the date column and the partitions of a partitioned table)."""

    @multi_asset_check(name=name, specs=specs, can_subset=True)
    def _checks(context: AssetCheckExecutionContext, lake: DeltaLakeResource) -> Iterator[CheckEvent]:
        scope = scope_of(context, *partitioned) if partitioned else None
        yield from guarded(context, specs, scope, lake, lambda: evaluate(lake, scope, context.instance))

    return _checks


def guarded(
    context: AssetCheckExecutionContext,
    specs: Iterable[AssetCheckSpec],
    scope: Scope | None,
    lake: DeltaLakeResource,
    evaluate: Callable[[], Iterator[Outcome]],
) -> Iterator[CheckEvent]:
    """Report ``evaluate``'s outcomes for the selected checks; when it raises, every selected
    check without a result fails with why.

    Unless the run is being terminated (its engine calls were cancelled) or its engine failed:
    the checks left did not run, rather than fail. A failed blocking check would hold gold back
    (and show red in the UI) until the table is written again; the step fails instead, the run
    may be retried (instance/threaded_executor.py), and the checks keep their last result."""
    selected = context.selected_asset_check_keys
    pending = {spec.key: spec for spec in specs if spec.key in selected}
    outcomes = []
    try:
        for outcome in evaluate():
            result = outcome.result
            if pending.pop(AssetCheckKey(AssetKey.from_coercible(result.asset_key), result.check_name), None):
                outcomes.append(outcome)
    except Exception as error:  # noqa: BLE001 - any failure must become a visible failed check
        if lake.interrupted or failed_by_its_engine(error):
            yield from reported(context, outcomes)
            raise
        outcomes += [could_not_run(spec, scope, error) for spec in pending.values()]
    yield from reported(context, outcomes)


def reported(
    context: AssetCheckExecutionContext | AssetExecutionContext, outcomes: Iterable[Outcome]
) -> Iterator[CheckEvent]:
    """Each outcome per partition when the run covers a range of them, then over the whole scope."""
    op_context = context.op_execution_context
    blocking = {spec.key: spec.blocking for spec in op_context.assets_def.check_specs}
    targets: dict[AssetKey, Mapping[str, AssetCheckEvaluationTargetMaterializationData]] = {}
    for outcome in outcomes:
        if outcome.partitions and not op_context.has_partition_key:
            result = outcome.result
            asset_key = AssetKey.from_coercible(result.asset_key)
            if asset_key not in targets:
                targets[asset_key] = _latest_materializations(
                    op_context.instance, asset_key, outcome.partitions
                )
            for key, partition in outcome.partitions.items():
                yield AssetCheckEvaluation(
                    asset_key=asset_key,
                    check_name=partition.check_name,
                    passed=partition.passed,
                    metadata=partition.metadata,
                    target_materialization_data=targets[asset_key].get(key),
                    severity=partition.severity,
                    description=partition.description,
                    blocking=blocking[AssetCheckKey(asset_key, partition.check_name)],
                    partition=key,
                )
        yield outcome.result


def latest_materializations(
    instance: DagsterInstance, asset_key: AssetKey, partitions: Iterable[str]
) -> dict[str, EventLogRecord]:
    """The latest materialization of each of ``partitions`` the instance recorded (none for a
    partition never materialised in it)."""
    wanted = list(partitions)
    found: dict[str, EventLogRecord] = {}
    cursor = None
    while len(found) < len(wanted):
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=asset_key, asset_partitions=wanted), limit=1000, cursor=cursor
        )
        for record in page.records:
            found.setdefault(record.partition_key, record)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def _latest_materializations(
    instance: DagsterInstance, asset_key: AssetKey, partitions: Iterable[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, as Dagster records what a check looked at."""
    return {
        key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
        for key, record in latest_materializations(instance, asset_key, partitions).items()
    }
