"""SportsBar gross prices: bronze.gross_price -> silver.gross_price -> gold.sb_dim_gross_price."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from atliqon_platform.transforms.common import (
    REJECT_REASON,
    SOURCE_ORDER,
    blank_to_null,
    duplicate_rank,
    first_date_match,
    parse_error_reason,
    positive_number_or_zero,
    reason,
    split_rejected,
)

MONTH_FORMATS = ("yyyy/MM/dd", "dd/MM/yyyy", "yyyy-MM-dd", "dd-MM-yyyy")
YEARLY_COLUMNS = ("product_code", "price_inr", "year")


def clean_gross_price(bronze: DataFrame, silver_products: DataFrame) -> tuple[DataFrame, DataFrame]:
    """silver.gross_price (monthly prices of known products) and the rows rejected on the way."""
    products = silver_products.select("product_id", F.col("product_code").alias("_product_code"))
    marked = (
        bronze.withColumn("_product_id", blank_to_null("product_id"))
        .withColumn("_month", first_date_match(blank_to_null("month"), MONTH_FORMATS))
        .withColumn("_price", positive_number_or_zero("gross_price"))
        .join(products, F.col("_product_id") == products.product_id, "left")
        .drop(products.product_id)
    )
    usable = F.col("parse_error").isNull() & F.col("_month").isNotNull() & F.col("_product_code").isNotNull()
    priced_first = [(F.col("_price") == 0).asc()]  # as rule 4 prefers a price
    marked = marked.withColumn(
        "_rank", duplicate_rank(["_product_id", "_month"], usable, priced_first)
    ).withColumn(
        REJECT_REASON,
        reason(
            parse_error_reason(),
            (
                F.col("_month").isNull(),
                F.concat(F.lit("unparseable month: "), F.coalesce("month", F.lit(""))),
            ),
            (F.col("_product_code").isNull(), "unknown product_id"),
            # the same month again (in another date format, say): its first line with a price
            # stays, else its first line, so that the table keeps one price per product and month
            (F.col("_rank") > 1, "duplicate month of product_id"),
        ),
    )
    kept, rejected = split_rejected(marked.drop("_rank"))
    silver = kept.select(
        F.col("_product_id").alias("product_id"),
        F.col("_product_code").alias("product_code"),
        F.col("_month").alias("month"),
        F.col("_price").alias("gross_price"),
        "file_name",
        "line_number",
    )
    return silver, rejected.drop("_product_id", "_month", "_price", "_product_code")


def yearly_prices(silver: DataFrame) -> DataFrame:
    """One price per (product_code, year): the latest non-zero month, else the latest month (of
    two product ids with one name, the first line's)."""
    latest_first = Window.partitionBy("product_code", "year").orderBy(
        (F.col("gross_price") == 0).asc(), F.col("month").desc(), *SOURCE_ORDER
    )
    return (
        silver.withColumn("year", F.year("month"))
        .withColumn("_rank", F.row_number().over(latest_first))
        .where(F.col("_rank") == 1)
        .select("product_code", F.col("gross_price").alias("price_inr"), "year")
    )
