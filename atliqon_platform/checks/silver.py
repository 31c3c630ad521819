"""Silver checks: keys present and unique, dates inside their partition, rejections bounded.

One check step per silver table reads the table (and its quarantine) once and evaluates all of
its rules; the orders checks report per landing day, like the table.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    DagsterInstance,
    DailyPartitionsDefinition,
    MetadataValue,
)
from pyspark.sql import functions as F

from atliqon_platform import tables
from atliqon_platform.checks import results
from atliqon_platform.checks.results import Counts, Offending, Outcome, Scope, Tally
from atliqon_platform.checks.rules import (
    Rule,
    date_rejections,
    duplicate_keys,
    null_keys,
    refused_line,
    rejected_share,
)
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.tables import Table, rejected
from atliqon_platform.transforms import orders
from atliqon_platform.transforms.common import REJECT_REASON

KEYS_NOT_NULL = Rule("keys_not_null", "every row has its identifying columns filled in", blocking=True)
KEY_UNIQUE = Rule(
    "key_unique",
    "no two rows describe the same thing (same business key); lines that differ in quantity are "
    "reported by conflicting_lines instead",
    blocking=True,
)
DATES_INSIDE_PARTITION = Rule(
    "dates_inside_partition",
    "every order date parses and is the day of the file it came in (rows that are not are "
    "quarantined in silver.orders_rejected)",
)
REASONS_GIVEN = Rule(
    "reasons_given",
    "every quarantined row says why it was refused and where it came from (file and line)",
)
CONFLICTING_LINES = Rule(
    "conflicting_lines",
    "order lines with the same order, date, product and customer but different quantities: "
    "both are kept, as the business asked; worth a look at the source",
    severity=AssetCheckSeverity.WARN,
)


def rejected_share_rule(threshold: float) -> Rule:
    return Rule(
        "rejected_share",
        f"at most {threshold:.0%} of the delivered rows are quarantined (ATLIQON_MAX_REJECTED_SHARE); "
        "more means a delivery is broken, so nothing downstream is built from it. The lines of a "
        "refused file are not counted: none of them reaches silver, and bronze's files_readable "
        "names the file, so the other files of the run go on",
        blocking=True,
    )


def _rejected_share(
    table: Table, scope: Scope | None, limit: float, kept: Counts, quarantined: Counts, refused_lines: Counts
) -> Outcome:
    """The share of quarantined rows, over the scope and in each of its partitions (from the rows
    of each kind by day; the lines of refused files apart)."""

    def result(dates: PartitionRange | None) -> AssetCheckResult:
        def rows(counts: Counts) -> int:
            return sum(n for day, n in counts.items() if dates is None or dates.start <= day <= dates.end)

        kept_rows, rejected_rows, refused_rows = rows(kept), rows(quarantined), rows(refused_lines)
        share = rejected_share(kept_rows, rejected_rows)
        not_counted = f"; {refused_rows} lines of refused files not counted" if refused_rows else ""
        return AssetCheckResult(
            asset_key=table.asset_key,
            check_name="rejected_share",
            passed=share <= limit,
            description=f"{results.describe(dates)}: {share:.1%} of {kept_rows + rejected_rows} rows "
            f"quarantined (limit {limit:.0%}){not_counted}",
            metadata={
                "scope": results.describe(dates),
                "rows_kept": kept_rows,
                "rows_rejected": rejected_rows,
                "rows_of_refused_files": refused_rows,
                "rejected_share": MetadataValue.float(round(share, 4)),
                "limit": MetadataValue.float(limit),
            },
        )

    return results.per_partition(scope, result)


def _silver_checks(
    table: Table, max_rejected_share: float, daily: DailyPartitionsDefinition
) -> AssetChecksDefinition:
    asset_key, quarantine = table.asset_key, rejected(table)
    rules = [KEYS_NOT_NULL, KEY_UNIQUE, rejected_share_rule(max_rejected_share)]
    if table == tables.SILVER_ORDERS:
        rules += [DATES_INSIDE_PARTITION, CONFLICTING_LINES]
    partitions_def = daily if table.partition_column else None
    specs = [rule.spec(asset_key, partitions_def) for rule in rules]
    specs.append(REASONS_GIVEN.spec(quarantine.asset_key, partitions_def))
    by_name = {rule.name: rule for rule in rules}

    def evaluate(lake: DeltaLakeResource, scope: Scope | None, _: DagsterInstance) -> Iterator[Outcome]:
        read = scope.range if scope else None
        kept = results.read_once(lake, table, read)
        rejected_rows = results.read_once(lake, quarantine, read)
        day = table.partition_column
        unexplained = null_keys(rejected_rows, (REJECT_REASON, "file_name", "line_number"))
        offending = [
            Offending(asset_key, KEYS_NOT_NULL, null_keys(kept, (*table.keys, *table.required)), day),
            Offending(quarantine.asset_key, REASONS_GIVEN, unexplained, day),
        ]
        if table == tables.SILVER_ORDERS:
            # Kept order lines are dated their landing day, so order_date places them too.
            where_from = ("file_name", "line_number")  # so that the examples lead to the lines
            conflicts = orders.conflicting_lines(orders.sb_fact_orders(kept, *where_from)).select(
                F.col("date").alias("order_date"),
                "order_id",
                "product_code",
                F.col("customer_code").alias("customer_id"),
                "sold_quantity",
                *where_from,
            )
            duplicates = duplicate_keys(kept, table.keys, conflicts)
            offending += [
                Offending(asset_key, by_name["dates_inside_partition"], date_rejections(rejected_rows), day),
                Offending(asset_key, by_name["conflicting_lines"], conflicts, "order_date"),
                Offending(asset_key, KEY_UNIQUE, duplicates, "order_date"),
            ]
        else:
            offending.append(Offending(asset_key, KEY_UNIQUE, duplicate_keys(kept, table.keys)))
        # The rows of each kind that the rejected share divides, counted in the rules' job.
        refused = refused_line()
        tallies = [
            Tally(kept, day),
            Tally(rejected_rows.where(~refused), day),
            Tally(rejected_rows.where(refused), day),
        ]
        counts = results.counted_by_day([*offending, *tallies], scope)
        yield from results.outcomes(offending, counts[: len(offending)], scope)
        yield _rejected_share(table, scope, max_rejected_share, *counts[len(offending) :])

    partitioned = (table.partition_column, daily) if table.partition_column else None
    return results.check_step(f"silver_{table.name}_checks", specs, evaluate, partitioned)


def build_silver_checks(
    max_rejected_share: float, daily: DailyPartitionsDefinition
) -> list[AssetChecksDefinition]:
    return [_silver_checks(table, max_rejected_share, daily) for table in tables.SILVER_TABLES]
