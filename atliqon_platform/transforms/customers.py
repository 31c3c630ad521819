"""SportsBar customers: bronze.customers -> silver.customers -> gold.sb_dim_customers (rules §3)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from atliqon_platform.transforms.common import (
    blank_to_null,
    lookup,
    mark_snapshot_rows,
    split_rejected,
)

CITY_TYPOS = {
    "Bengalore": "Bengaluru",
    "Bengaluruu": "Bengaluru",
    "Hyderabadd": "Hyderabad",
    "Hyderbad": "Hyderabad",
    "NewDelhi": "New Delhi",
    "NewDheli": "New Delhi",
    "NewDelhee": "New Delhi",
}
VALID_CITIES = ("Bengaluru", "Hyderabad", "New Delhi")
# Blank cities the business confirmed by hand.
CONFIRMED_CITIES = {
    "789403": "New Delhi",
    "789420": "Bengaluru",
    "789521": "Hyderabad",
    "789603": "Hyderabad",
}
SILVER_COLUMNS = (
    "customer_id",
    "customer_name",
    "city",
    "customer",
    "market",
    "platform",
    "channel",
    "file_name",
    "line_number",
)
GOLD_COLUMNS = ("customer_id", "customer_name", "city", "customer", "market", "platform", "channel")


def standard_city(city: str) -> F.Column:
    """Typos fixed, the three known cities kept, anything else unknown (null)."""
    value = blank_to_null(city)
    fixed = F.coalesce(lookup(CITY_TYPOS)[value], value)
    return F.when(fixed.isin(*VALID_CITIES), fixed)


def clean_customers(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    """silver.customers (one row per customer_id) and the rows rejected on the way."""
    customer_id = blank_to_null("customer_id")
    confirmed = lookup(CONFIRMED_CITIES)
    marked = mark_snapshot_rows(bronze, "customer_id", {"customer_id": customer_id})
    kept, rejected = split_rejected(marked)
    city = F.coalesce(standard_city("city"), confirmed[customer_id])
    silver = (
        kept.withColumn("customer_id", customer_id)
        .withColumn("customer_name", F.initcap(F.trim("customer_name")))
        .withColumn("city", city)
        .withColumn("customer", F.concat_ws("-", "customer_name", F.coalesce("city", F.lit("Unknown"))))
        .withColumn("market", F.lit("India"))
        .withColumn("platform", F.lit("Sports Bar"))
        .withColumn("channel", F.lit("Acquisition"))
        .select(*SILVER_COLUMNS)
    )
    return silver, rejected


def sb_dim_customers(silver: DataFrame) -> DataFrame:
    return silver.select(*GOLD_COLUMNS)
