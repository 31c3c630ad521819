"""Atliqon's own exports (already conformed): typed, checked, and the increments applied.

The parent's files need no cleaning, only types; a row whose values do not fit the types
is rejected with the reason rather than dropped.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from atliqon_platform.tables import FACT_KEY
from atliqon_platform.transforms.common import (
    REJECT_REASON,
    blank_to_null,
    parse_error_reason,
    reason,
    split_rejected,
)


def _typed(
    bronze: DataFrame,
    columns: dict[str, Column],
    required: tuple[str, ...],
    later_rules: tuple[tuple[Column, str | Column], ...] = (),
) -> tuple[DataFrame, DataFrame]:
    """Cast each column (as ``_name``); a missing or uncastable required value rejects the row."""
    # One projection, not a withColumn each: every withColumn is analysed anew by Spark.
    marked = bronze.withColumns({f"_{name}": expression for name, expression in columns.items()})
    rules = [parse_error_reason()]
    for name in required:
        invalid = F.concat(F.lit(f"invalid {name}: "), F.coalesce(name, F.lit("")))
        rules.append((F.col(f"_{name}").isNull(), invalid))
    marked = marked.withColumn(REJECT_REASON, reason(*rules, *later_rules))
    kept, rejected = split_rejected(marked)
    typed = kept.select(*(F.col(f"_{name}").alias(name) for name in columns), "file_name", "line_number")
    return typed, rejected.drop(*(f"_{name}" for name in columns))


def parent_customers(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    names = ("customer_code", "customer", "market", "platform", "channel")
    return _typed(bronze, {name: blank_to_null(name) for name in names}, ("customer_code",))


def parent_products(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    names = ("product_code", "division", "category", "product", "variant")
    return _typed(bronze, {name: blank_to_null(name) for name in names}, ("product_code",))


def parent_gross_price(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    columns = {
        "product_code": blank_to_null("product_code"),
        "price_inr": blank_to_null("price_inr").try_cast("double"),
        "year": blank_to_null("year").try_cast("int"),
    }
    return _typed(bronze, columns, tuple(columns))


def parent_fact_orders(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Monthly facts, each on the first day of its month; where an increment repeats a key
    already loaded, the later file wins (files in the order of their names, which the
    increments' dates make their order of delivery), and within a file the later line."""
    columns = {
        "date": F.try_to_date(blank_to_null("date"), "yyyy-MM-dd"),
        "product_code": blank_to_null("product_code"),
        "customer_code": blank_to_null("customer_code"),
        "sold_quantity": blank_to_null("sold_quantity").try_cast("double"),
    }
    month_start = F.dayofmonth(columns["date"]) == 1
    valid = F.col("parse_error").isNull() & month_start
    for name in columns:
        valid = valid & columns[name].isNotNull()
    latest_first = Window.partitionBy(valid, *(columns[name] for name in FACT_KEY)).orderBy(
        F.col("file_name").desc(), F.col("line_number").desc()
    )
    ranked = bronze.withColumn("_rank", F.row_number().over(latest_first)).withColumn(
        "_kept_file", F.first("file_name").over(latest_first)
    )
    later = F.when(F.col("_kept_file") == F.col("file_name"), "line of the same file").otherwise("file")
    rules = (
        (~month_start, F.concat(F.lit("date is not the first day of a month: "), F.col("date"))),
        (F.col("_rank") > 1, F.concat(F.lit("superseded by a later "), later, F.lit(" with the same key"))),
    )
    typed, rejected = _typed(ranked, columns, tuple(columns), rules)
    return typed, rejected.drop("_rank", "_kept_file")
