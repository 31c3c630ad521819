"""SportsBar products: bronze.products -> silver.products -> gold.sb_dim_products (rules §3)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from atliqon_platform.transforms.common import (
    blank_to_null,
    digits_or_unknown,
    lookup,
    mark_snapshot_rows,
    split_rejected,
)

DIVISION_OF_CATEGORY = {
    "Energy Bars": "Nutrition Bars",
    "Protein Bars": "Nutrition Bars",
    "Granola & Cereals": "Breakfast Foods",
    "Recovery Dairy": "Dairy & Recovery",
    "Healthy Snacks": "Healthy Snacks",
    "Electrolyte Mix": "Hydration & Electrolytes",
}
SILVER_COLUMNS = (
    "product_code",
    "product_id",
    "division",
    "category",
    "product",
    "variant",
    "file_name",
    "line_number",
)
GOLD_COLUMNS = ("product_code", "product_id", "division", "category", "product", "variant")


def fix_protein(column: Column) -> Column:
    return F.regexp_replace(column, "(?i)protien", "Protein")


def division(category: Column) -> Column:
    return F.coalesce(lookup(DIVISION_OF_CATEGORY)[category], F.lit("Other"))


def clean_products(bronze: DataFrame) -> tuple[DataFrame, DataFrame]:
    """silver.products (one row per product_id) and the rows rejected on the way.

    One row per product_id as rule 5 gives it: two ids that are not all digits are both 999999,
    and the second is a duplicate. Kept, it would fail the table's unique key and join an
    order line of product 999999 twice."""
    raw_id = blank_to_null("product_id")
    product_id = F.when(raw_id.isNotNull(), digits_or_unknown(raw_id))
    name = blank_to_null("product_name")
    marked = mark_snapshot_rows(bronze, "product_id", {"product_id": product_id, "product_name": name})
    kept, rejected = split_rejected(marked)
    silver = (
        kept.withColumn("product", fix_protein(F.trim("product_name")))
        .withColumn("category", fix_protein(F.initcap(F.trim("category"))))
        .withColumn("division", division(F.col("category")))
        .withColumn("variant", F.regexp_extract("product", r"\((.*?)\)", 1))
        .withColumn("product_code", F.sha2("product", 256))
        .withColumn("product_id", product_id)
        .select(*SILVER_COLUMNS)
    )
    return silver, rejected


def sb_dim_products(silver: DataFrame) -> DataFrame:
    return silver.select(*GOLD_COLUMNS)
