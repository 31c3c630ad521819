"""SportsBar orders, one partition per landing day: bronze.orders -> silver.orders -> gold.sb_fact_orders."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from atliqon_platform.transforms.common import (
    REJECT_REASON,
    blank_to_null,
    digits_or_unknown,
    duplicate_rank,
    first_date_match,
    parse_error_reason,
    reason,
    split_rejected,
)

DATE_FORMATS = ("yyyy/MM/dd", "dd-MM-yyyy", "dd/MM/yyyy", "MMMM dd, yyyy")
LEADING_WEEKDAY = r"^[A-Za-z]+,\s*"
BUSINESS_KEY = ("date", "order_id", "product_code", "customer_code")
GOLD_COLUMNS = ("order_id", "date", "customer_code", "product_code", "product_id", "sold_quantity")


def order_date(raw: str) -> F.Column:
    """The weekday prefix stripped ("Tuesday, July 01, 2025"), then the first format that fits."""
    return first_date_match(F.regexp_replace(F.trim(raw), LEADING_WEEKDAY, ""), DATE_FORMATS)


def clean_orders(bronze: DataFrame, silver_products: DataFrame) -> tuple[DataFrame, DataFrame]:
    """silver.orders and silver.orders_rejected for the landing days in ``bronze``.

    Reasons are checked in this order, the first that applies is recorded: malformed row,
    null quantity, non-numeric quantity, unparseable date, date outside the landing day,
    duplicate line, unknown product.
    """
    quantity_text = blank_to_null("order_qty")
    products = silver_products.select("product_id", F.col("product_code").alias("_product_code"))
    typed = (
        bronze.withColumn("_qty", quantity_text.try_cast("double"))
        .withColumn("_date", order_date("order_placement_date"))
        .withColumn("_customer_id", digits_or_unknown("customer_id"))
        .withColumn("_product_id", F.trim("product_id"))
    )
    valid_so_far = (
        F.col("parse_error").isNull() & F.col("_qty").isNotNull() & (F.col("_date") == F.col("landing_date"))
    )
    # The quantity enters the key as text: Spark cannot push a filter on landing_date below a
    # window keyed by a double, so a month of a long range could not be computed from that
    # month's files alone (resources/delta_lake.py). Text is exact for every double, any size
    # or NaN, where a decimal cast fails; adding 0.0 makes -0.0 the same quantity as 0.0.
    same_quantity = (F.col("_qty") + F.lit(0.0)).cast("string")
    dedup_key = ["_date", "order_id", "_customer_id", "_product_id", same_quantity, "landing_date"]
    marked = (
        typed.withColumn("_rank", duplicate_rank(dedup_key, valid_so_far))
        .join(products, F.col("_product_id") == products.product_id, "left")
        .drop(products.product_id)
        .withColumn(
            REJECT_REASON,
            reason(
                parse_error_reason(),
                (quantity_text.isNull(), "null quantity"),
                (F.col("_qty").isNull(), F.concat(F.lit("non-numeric quantity: "), "order_qty")),
                (
                    F.col("_date").isNull(),
                    F.concat(F.lit("unparseable date: "), F.coalesce("order_placement_date", F.lit(""))),
                ),
                (
                    F.col("_date") != F.col("landing_date"),
                    F.concat(
                        F.lit("date outside the partition: "),
                        F.col("_date").cast("string"),
                        F.lit(" in the file of "),
                        F.col("landing_date").cast("string"),
                    ),
                ),
                (F.col("_rank") > 1, "duplicate line"),
                (F.col("_product_code").isNull(), "unknown product_id"),
            ),
        )
    )
    kept, rejected = split_rejected(marked)
    silver = kept.select(
        "order_id",
        F.col("_date").alias("order_date"),
        F.col("_customer_id").alias("customer_id"),
        F.col("_product_id").alias("product_id"),
        F.col("_product_code").alias("product_code"),
        F.col("_qty").alias("order_qty"),
        "file_name",
        "line_number",
        "landing_date",
    )
    helper_columns = ["_qty", "_date", "_customer_id", "_product_id", "_rank", "_product_code"]
    return silver, rejected.drop(*helper_columns)


def sb_fact_orders(silver: DataFrame, *carried: str) -> DataFrame:
    """Daily facts at the grain of the source lines (conflicting duplicates kept, rule 6), with
    the ``carried`` columns of silver (where a line came from, for a check's examples)."""
    return silver.select(
        "order_id",
        F.col("order_date").alias("date"),
        F.col("customer_id").alias("customer_code"),
        "product_code",
        "product_id",
        F.col("order_qty").alias("sold_quantity"),
        *carried,
    )


def conflicting_lines(facts: DataFrame) -> DataFrame:
    """Fact lines sharing a business key with another line of a different quantity."""
    window = Window.partitionBy(*BUSINESS_KEY)
    return (
        facts.withColumn("_lines", F.count(F.lit(1)).over(window))
        .withColumn("_quantities", F.size(F.collect_set("sold_quantity").over(window)))
        .where((F.col("_lines") > 1) & (F.col("_quantities") > 1))
        .drop("_lines", "_quantities")
    )
