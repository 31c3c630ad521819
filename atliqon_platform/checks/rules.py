"""The data-quality rules: what each check means (``Rule``), and as pure PySpark the rows that break
it (empty = passes).

No I/O here: the check definitions read the tables and turn these rows into check results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from dagster import AssetCheckSeverity, AssetCheckSpec, AssetKey, PartitionsDefinition
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from atliqon_platform.ingestion.csv_files import FILE_REFUSED
from atliqon_platform.tables import FACT_KEY
from atliqon_platform.transforms.common import REJECT_REASON, UNKNOWN_ID, reject_kind
from atliqon_platform.transforms.unified import child_monthly_facts

DATE_REJECTIONS = ("unparseable date", "date outside the partition")


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


def null_keys(frame: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Rows with a null in any key column."""
    condition = F.lit(False)
    for key in keys:
        condition = condition | F.col(key).isNull()
    return frame.where(condition)


def duplicate_keys(frame: DataFrame, keys: Sequence[str], ignore: DataFrame | None = None) -> DataFrame:
    """Keys that occur more than once, with their count; ``ignore`` rows are left out first."""
    if ignore is not None:
        frame = frame.join(ignore.select(*keys).distinct(), list(keys), "left_anti")
    return frame.groupBy(*keys).agg(F.count(F.lit(1)).alias("rows")).where(F.col("rows") > 1)


def date_rejections(rejected: DataFrame) -> DataFrame:
    """Quarantined rows whose date did not parse or belongs to another day than its file."""
    kind = reject_kind()
    return rejected.where(kind.isin(*DATE_REJECTIONS))


def refused_line() -> Column:
    """True on a quarantined line of a file refused whole (not CSV text, a header without the
    contract)."""
    return F.coalesce(F.col(REJECT_REASON).startswith(FILE_REFUSED), F.lit(False))


def rejected_share(kept_rows: int, rejected_rows: int) -> float:
    total = kept_rows + rejected_rows
    return rejected_rows / total if total else 0.0


def unresolved_codes(facts: DataFrame, dimension: DataFrame, column: str) -> DataFrame:
    """Fact rows whose ``column`` has no row in ``dimension``."""
    return facts.join(dimension.select(column).distinct(), column, "left_anti")


def unknown_customer_by_month(facts: DataFrame) -> dict[dt.date, tuple[int, int]]:
    """Fact rows of each month, and those sold to the unknown customer."""
    unknown = F.sum(F.when(F.col("customer_code") == UNKNOWN_ID, 1).otherwise(0))
    counts = facts.groupBy("date").agg(F.count(F.lit(1)).alias("rows"), unknown.alias("unknown"))
    return {row["date"]: (row["rows"], row["unknown"]) for row in counts.collect()}


# How far apart two sums of the same quantities may be, relative to their size: doubles summed in
# another order (the month's rows, then the month; or the days, in Spark's order of partitions)
# differ in their last bits, 400 lines of 12.3 by some 4e-12. A missing line moves a sum by 1e-4
# or more of itself at the sizes the business sells.
SUM_TOLERANCE = 1e-9


def monthly_total_mismatches(
    monthly_facts: DataFrame, parent_facts: DataFrame, daily_facts: DataFrame
) -> DataFrame:
    """Months where the child's monthly rows (those that are not the parent's) do not add up
    to its daily facts."""
    expected = child_monthly_facts(daily_facts).groupBy("date").agg(F.sum("sold_quantity").alias("daily"))
    actual = (
        monthly_facts.join(parent_facts.select(*FACT_KEY), list(FACT_KEY), "left_anti")
        .groupBy("date")
        .agg(F.sum("sold_quantity").alias("monthly"))
    )
    daily, monthly = F.col("daily"), F.col("monthly")
    allowed = F.lit(SUM_TOLERANCE) * F.greatest(F.abs(daily), F.abs(monthly), F.lit(1.0))
    return (
        expected.join(actual, "date", "full_outer")
        .fillna(0, ["daily", "monthly"])
        .where(F.abs(daily - monthly) > allowed)
    )


def row_count_mismatches(facts: DataFrame, parent_facts: DataFrame, daily_facts: DataFrame) -> DataFrame:
    """Months where gold.fact_orders does not hold exactly the parent's rows plus the child's."""

    def rows_by_month(frame: DataFrame, name: str) -> DataFrame:
        return frame.groupBy("date").agg(F.count(F.lit(1)).alias(name))

    return (
        rows_by_month(facts, "fact_rows")
        .join(rows_by_month(parent_facts, "parent_rows"), "date", "full_outer")
        .join(rows_by_month(child_monthly_facts(daily_facts), "child_rows"), "date", "full_outer")
        .fillna(0, ["fact_rows", "parent_rows", "child_rows"])
        .where(F.col("fact_rows") != F.col("parent_rows") + F.col("child_rows"))
    )


def unpriced_product_months(facts: DataFrame, prices: DataFrame) -> DataFrame:
    """(product_code, month) pairs sold in the facts with no price for that year."""
    sold = facts.select("product_code", "date", F.year("date").alias("year")).distinct()
    return sold.join(prices.select("product_code", "year"), ["product_code", "year"], "left_anti")


def priced_products_without_sales(prices: DataFrame, facts: DataFrame) -> DataFrame:
    """Products with a price but not one sale: a product master or price list that drifted."""
    return prices.select("product_code").distinct().join(facts, "product_code", "left_anti")


def view_row_mismatch(view: DataFrame, facts: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Fact keys whose number of rows in the view differs from the facts (lost or fanned out)."""

    def counted(frame: DataFrame, name: str) -> DataFrame:
        return frame.groupBy(*keys).agg(F.count(F.lit(1)).alias(name))

    return (
        counted(facts, "fact_rows")
        .join(counted(view, "view_rows"), list(keys), "full_outer")
        .fillna(0, ["fact_rows", "view_rows"])
        .where(F.col("fact_rows") != F.col("view_rows"))
    )
