"""The unified gold model: parent and child in one set of dims and one monthly fact (rules §3)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from atliqon_platform.transforms.common import UNKNOWN_ID

CUSTOMER_COLUMNS = ("customer_code", "customer", "market", "platform", "channel")
PRODUCT_COLUMNS = ("product_code", "division", "category", "product", "variant")
PRICE_COLUMNS = ("product_code", "price_inr", "year")
FACT_COLUMNS = ("date", "product_code", "customer_code", "sold_quantity")
ENRICHED_COLUMNS = (
    "date",
    "product_code",
    "customer_code",
    "date_key",
    "year",
    "month_name",
    "month_short_name",
    "quarter",
    "year_quarter",
    "customer",
    "market",
    "platform",
    "channel",
    "division",
    "category",
    "product",
    "variant",
    "sold_quantity",
    "price_inr",
    "total_amount_inr",
)
UNKNOWN_CUSTOMER = {
    "customer_code": UNKNOWN_ID,
    "customer": "Unknown customer",
    "market": "India",
    "platform": "Sports Bar",
    "channel": "Unknown",
}


def dim_customers(parent: DataFrame, sb_dim_customers: DataFrame) -> DataFrame:
    """Parent customers, child customers, and the unknown customer 999999 as a real member."""
    child = sb_dim_customers.select(F.col("customer_id").alias("customer_code"), *CUSTOMER_COLUMNS[1:])
    known = parent.select(*CUSTOMER_COLUMNS).unionByName(child)
    # Literals, not createDataFrame of Python rows: those would start a Python worker in the engine.
    unknown = known.sparkSession.range(1).select(
        *(F.lit(UNKNOWN_CUSTOMER[c]).alias(c) for c in CUSTOMER_COLUMNS)
    )
    return known.unionByName(unknown.join(known, "customer_code", "left_anti"))


def dim_products(parent: DataFrame, sb_dim_products: DataFrame) -> DataFrame:
    return parent.select(*PRODUCT_COLUMNS).unionByName(sb_dim_products.select(*PRODUCT_COLUMNS))


def dim_gross_price(parent: DataFrame, sb_yearly_prices: DataFrame) -> DataFrame:
    return parent.select(*PRICE_COLUMNS).unionByName(sb_yearly_prices.select(*PRICE_COLUMNS))


def child_monthly_facts(sb_fact_orders: DataFrame) -> DataFrame:
    """The child's daily facts summed to the parent's grain: month start, product, customer."""
    return (
        sb_fact_orders.groupBy(F.trunc("date", "month").alias("date"), "product_code", "customer_code")
        .agg(F.sum("sold_quantity").alias("sold_quantity"))
        .select(*FACT_COLUMNS)
    )


def fact_orders(parent_facts: DataFrame, sb_fact_orders: DataFrame) -> DataFrame:
    """gold.fact_orders for the months present in the inputs, always from all of their days."""
    return parent_facts.select(*FACT_COLUMNS).unionByName(child_monthly_facts(sb_fact_orders))


def dim_date(spark: SparkSession, first_month: dt.date, last_month: dt.date) -> DataFrame:
    """One row per month start from ``first_month`` to ``last_month``."""
    months = spark.sql(
        f"SELECT explode(sequence(DATE'{first_month:%Y-%m-01}', DATE'{last_month:%Y-%m-01}',"
        " INTERVAL 1 MONTH)) AS month_start_date"
    )
    quarter = F.concat(F.lit("Q"), F.quarter("month_start_date"))
    return months.select(
        "month_start_date",
        F.date_format("month_start_date", "yyyyMM").cast("int").alias("date_key"),
        F.year("month_start_date").alias("year"),
        F.date_format("month_start_date", "MMMM").alias("month_name"),
        F.date_format("month_start_date", "MMM").alias("month_short_name"),
        quarter.alias("quarter"),
        F.concat(F.year("month_start_date"), F.lit("-"), quarter).alias("year_quarter"),
    )


def enriched_orders(
    facts: DataFrame,
    dates: DataFrame,
    customers: DataFrame,
    products: DataFrame,
    prices: DataFrame,
) -> DataFrame:
    """vw_fact_orders_enriched: each fact row once, with its dims and its amount."""
    yearly_price = prices.select(
        F.col("product_code").alias("_price_product"), F.col("year").alias("_price_year"), "price_inr"
    )
    return (
        facts.join(dates, F.col("date") == F.col("month_start_date"), "left")
        .join(customers.select(*CUSTOMER_COLUMNS), "customer_code", "left")
        .join(products.select(*PRODUCT_COLUMNS), "product_code", "left")
        .join(
            yearly_price,
            (F.col("product_code") == F.col("_price_product")) & (F.year("date") == F.col("_price_year")),
            "left",
        )
        .withColumn("total_amount_inr", F.col("sold_quantity") * F.col("price_inr"))
        .select(*ENRICHED_COLUMNS)
    )
