"""Gold checks: facts resolve in the dims, months add up, prices exist, the view neither loses
nor multiplies a fact.

The blocking ones guard the view: a month that does not add up is not published to the dashboard.
"""

import datetime as dt
from collections.abc import Iterator, Sequence

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    MetadataValue,
    TimeWindowPartitionsDefinition,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform import tables
from atliqon_platform.checks.results import (
    Evaluate,
    Offending,
    Outcome,
    Scope,
    check_step,
    describe,
    latest_materializations,
    per_partition,
    rule_results,
)
from atliqon_platform.checks.rules import (
    Rule,
    duplicate_keys,
    monthly_total_mismatches,
    priced_products_without_sales,
    row_count_mismatches,
    unknown_customer_by_month,
    unpriced_product_months,
    unresolved_codes,
    view_row_mismatch,
)
from atliqon_platform.partitions import Partitions
from atliqon_platform.resources.delta_lake import DeltaLakeResource, PartitionRange
from atliqon_platform.tables import FACT_KEY, Table

UNKNOWN_CUSTOMER_GROWTH = 1.5
"""The unknown customer's share of a month may vary; more than 1.5 x its earlier share is worth a look."""
SPORTSBAR_MONTHS = "sportsbar_rows_by_month"

CODES_RESOLVE = Rule(
    "codes_resolve",
    "every fact's product_code is in gold.dim_products and its customer_code in gold.dim_customers "
    "(the unknown customer 999999 is a member, counted by unknown_customer)",
    blocking=True,
)
CHILD_TOTALS = Rule(
    "child_monthly_equals_daily",
    "SportsBar's monthly quantities equal the sum of its daily facts, month by month",
    blocking=True,
)
PARENT_PLUS_CHILD = Rule(
    "parent_plus_child_rows",
    "gold.fact_orders holds exactly Atliqon's rows plus SportsBar's monthly rows, month by month",
    blocking=True,
)
UNKNOWN_CUSTOMER = Rule(
    "unknown_customer",
    f"the share of SportsBar's facts sold to the unknown customer 999999 (non-numeric customer "
    f"ids) grows to more than {UNKNOWN_CUSTOMER_GROWTH} x its share in earlier months",
    severity=AssetCheckSeverity.WARN,
)
PRICED = Rule(
    "every_product_year_priced",
    "every (product, year) sold has a yearly price, so its revenue is known",
    severity=AssetCheckSeverity.WARN,
)
ONE_ROW_PER_FACT = Rule(
    "one_row_per_fact",
    "the dashboard's view has exactly one row for every gold.fact_orders row (no fact lost or doubled)",
    blocking=True,
)
PRICES_HAVE_SALES = Rule(
    "priced_products_have_sales",
    "every product with a price has been sold at least once (a price without sales hints at a "
    "product id that changed between the price list and the orders)",
    severity=AssetCheckSeverity.WARN,
)


def unique_key_rule(keys: Sequence[str]) -> Rule:
    return Rule(
        "key_unique",
        f"one row per {', '.join(keys)}: a duplicate would double facts in the view",
        blocking=True,
    )


def _gold_checks(
    table: Table,
    rules: Sequence[Rule],
    evaluate: Evaluate,
    partitions_def: TimeWindowPartitionsDefinition | None = None,
) -> AssetChecksDefinition:
    specs = [rule.spec(table.asset_key, partitions_def) for rule in rules]
    partitioned = (table.partition_column, partitions_def) if partitions_def else None
    return check_step(f"gold_{table.name}_checks", specs, evaluate, partitioned)


CODES_RESOLVE_DIMENSIONS = (tables.GOLD_DIM_CUSTOMERS, tables.GOLD_DIM_PRODUCTS)
"""The dims ``codes_resolve`` reads, for gold.sb_fact_orders (whose days the order sensor holds
back while these are missing or being written) and gold.fact_orders."""
FACT_CHECK_DIMENSIONS = (*CODES_RESOLVE_DIMENSIONS, tables.GOLD_DIM_GROSS_PRICE)
"""The dims that gold.fact_orders' blocking checks read (codes_resolve below, and
every_product_year_priced in its step): the asset declares them as inputs, so that a month waits
while they are missing or being written, not checked against the dims of before. Their updates
alone do not rebuild it (automation/conditions.py). A dim read here goes in this list."""


def _codes_resolve(table: Table, lake: DeltaLakeResource, facts: DataFrame) -> Offending:
    customers, products = (lake.read(dimension) for dimension in CODES_RESOLVE_DIMENSIONS)
    unresolved = unresolved_codes(facts, products, "product_code").unionByName(
        unresolved_codes(facts, customers, "customer_code")
    )
    rows = unresolved.select(*FACT_KEY, "sold_quantity")
    return Offending(table.asset_key, CODES_RESOLVE, rows, table.partition_column)


def _dates(scope: Scope | None) -> PartitionRange | None:
    return scope.range if scope else None


def _sb_fact_orders(lake: DeltaLakeResource, scope: Scope | None, _: DagsterInstance) -> Iterator[Outcome]:
    table = tables.GOLD_SB_FACT_ORDERS
    yield from rule_results([_codes_resolve(table, lake, lake.read(table, _dates(scope)))], scope)


def _fact_orders(monthly: TimeWindowPartitionsDefinition) -> Evaluate:
    def evaluate(
        lake: DeltaLakeResource, scope: Scope | None, instance: DagsterInstance
    ) -> Iterator[Outcome]:
        table = tables.GOLD_FACT_ORDERS
        key, month = table.asset_key, table.partition_column
        facts = lake.read(table, _dates(scope))
        daily = lake.read(tables.GOLD_SB_FACT_ORDERS, _dates(scope))
        all_parent = lake.read(tables.SILVER_PARENT_FACT_ORDERS)
        parent = all_parent
        if scope is not None:
            parent = all_parent.where(scope.range.sql())
        prices = lake.read(tables.GOLD_DIM_GROSS_PRICE)
        offending = [
            _codes_resolve(table, lake, facts),
            Offending(key, CHILD_TOTALS, monthly_total_mismatches(facts, parent, daily), month),
            Offending(key, PARENT_PLUS_CHILD, row_count_mismatches(facts, parent, daily), month),
            Offending(key, PRICED, unpriced_product_months(facts, prices), month),
        ]
        yield from rule_results(offending, scope)
        last = scope.range.end if scope else dt.date.max
        months = [month for month in monthly.get_partition_keys() if dt.date.fromisoformat(month) <= last]
        yield _unknown_customer(key, sportsbar_counts(lake, instance, months, all_parent), scope)

    return evaluate


def sportsbar_months(child_facts: DataFrame, months: Sequence[str]) -> dict[str, MetadataValue]:
    """gold.fact_orders' record of the months a run wrote: SportsBar's rows and those sold to the
    unknown customer in each (zeros for a month without any), kept in the materialisation's
    metadata. It is the stored history that unknown_customer compares a month with."""
    counted = unknown_customer_by_month(child_facts)
    by_month = {}
    for month in months:
        rows, unknown = counted.get(dt.date.fromisoformat(month), (0, 0))
        by_month[month] = {"rows": rows, "unknown_customer_rows": unknown}
    return {SPORTSBAR_MONTHS: MetadataValue.json(by_month)}


def sportsbar_counts(
    lake: DeltaLakeResource, instance: DagsterInstance, months: Sequence[str], all_parent: DataFrame
) -> dict[dt.date, tuple[int, int]]:
    """SportsBar's rows and unknown-customer rows in each of ``months``, as the latest
    materialisation of the month recorded them (sportsbar_months), so that a new month does not
    reread the earlier ones. A month without that record (written by an older version, restored,
    or checked in a Pipes process, whose instance is its own) is read from the table."""
    counts = {}
    for month, record in latest_materializations(instance, tables.GOLD_FACT_ORDERS.asset_key, months).items():
        recorded = record.asset_materialization.metadata.get(SPORTSBAR_MONTHS)
        if recorded is not None and month in recorded.value:
            counted = recorded.value[month]
            counts[dt.date.fromisoformat(month)] = (counted["rows"], counted["unknown_customer_rows"])
    missing = [day for day in sorted(map(dt.date.fromisoformat, months)) if day not in counts]
    if missing:
        span = PartitionRange(tables.GOLD_FACT_ORDERS.partition_column, missing[0], missing[-1])
        facts = lake.read(tables.GOLD_FACT_ORDERS, span).where(F.col("date").isin(missing))
        parent = all_parent.where(span.sql())
        child = facts.join(parent.select(*FACT_KEY), list(FACT_KEY), "left_anti")
        counts.update(unknown_customer_by_month(child))
    return counts


def _unknown_customer(key: AssetKey, months: dict[dt.date, tuple[int, int]], scope: Scope | None) -> Outcome:
    """The share of the scope (and of each of its months) against that of the months before it;
    ``months``: SportsBar's rows and unknown-customer rows of every month up to the scope's end."""

    def share(chosen: list[dt.date]) -> tuple[int, float | None]:
        rows = sum(months[month][0] for month in chosen)
        unknown = sum(months[month][1] for month in chosen)
        return unknown, unknown / rows if rows else None

    def result(dates: PartitionRange | None) -> AssetCheckResult:
        unknown, in_scope = share([m for m in months if dates is None or dates.start <= m <= dates.end])
        _, earlier = share([m for m in months if dates is not None and m < dates.start])
        in_scope = in_scope or 0.0
        grew = earlier is not None and in_scope > UNKNOWN_CUSTOMER_GROWTH * earlier
        earlier_text = "n/a" if earlier is None else f"{earlier:.2%}"
        return AssetCheckResult(
            asset_key=key,
            check_name=UNKNOWN_CUSTOMER.name,
            passed=not grew,
            severity=UNKNOWN_CUSTOMER.severity,
            description=(
                f"{describe(dates)}: {unknown} fact rows sold to the unknown customer "
                f"({in_scope:.2%} of rows; earlier months {earlier_text})"
            ),
            metadata={
                "scope": describe(dates),
                "unknown_customer_rows": unknown,
                "unknown_customer_share": MetadataValue.float(round(in_scope, 5)),
                "earlier_share": MetadataValue.float(round(earlier, 5)) if earlier is not None else "n/a",
            },
        )

    return per_partition(scope, result)


def _view(lake: DeltaLakeResource, scope: Scope | None, _: DagsterInstance) -> Iterator[Outcome]:
    """The run's months of the view against their facts; a price without sales in any month (only
    the product codes of every month are read) is a warning on each month of the scope."""
    view = tables.GOLD_VW_FACT_ORDERS_ENRICHED
    facts = lake.read(tables.GOLD_FACT_ORDERS, _dates(scope))
    mismatches = view_row_mismatch(lake.read(view, _dates(scope)), facts, view.keys)
    sold = lake.read(tables.GOLD_FACT_ORDERS).select("product_code")
    unsold = priced_products_without_sales(lake.read(tables.GOLD_DIM_GROSS_PRICE), sold)
    offending = [
        Offending(view.asset_key, ONE_ROW_PER_FACT, mismatches, view.partition_column),
        Offending(view.asset_key, PRICES_HAVE_SALES, unsold),
    ]
    yield from rule_results(offending, scope)


def _unique_key_checks(
    table: Table, partitions_def: TimeWindowPartitionsDefinition | None = None
) -> AssetChecksDefinition:
    """One row per key; on a table by month (gold.dim_date), among the run's months."""
    rule = unique_key_rule(table.keys)

    def evaluate(lake: DeltaLakeResource, scope: Scope | None, _: DagsterInstance) -> Iterator[Outcome]:
        keys = duplicate_keys(lake.read(table, _dates(scope)), table.keys)
        yield from rule_results([Offending(table.asset_key, rule, keys, table.partition_column)], scope)

    return _gold_checks(table, [rule], evaluate, partitions_def)


def build_gold_checks(partitions: Partitions) -> list[AssetChecksDefinition]:
    return [
        _gold_checks(tables.GOLD_SB_FACT_ORDERS, [CODES_RESOLVE], _sb_fact_orders, partitions.daily),
        _gold_checks(
            tables.GOLD_FACT_ORDERS,
            [CODES_RESOLVE, CHILD_TOTALS, PARENT_PLUS_CHILD, PRICED, UNKNOWN_CUSTOMER],
            _fact_orders(partitions.monthly),
            partitions.monthly,
        ),
        _gold_checks(
            tables.GOLD_VW_FACT_ORDERS_ENRICHED,
            [ONE_ROW_PER_FACT, PRICES_HAVE_SALES],
            _view,
            partitions.monthly,
        ),
        *(_unique_key_checks(table) for table in tables.DIMENSION_TABLES),
        _unique_key_checks(tables.GOLD_DIM_DATE, partitions.monthly),
    ]
