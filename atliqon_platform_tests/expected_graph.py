"""The platform's assets and their checks, written out from REFERENCE_RULES.md and the README's
check table rather than read from the definitions, so that a test comparing with them fails when
an asset or a check goes missing or appears unannounced."""

from __future__ import annotations

# REFERENCE_RULES.md §1-2: the child's four sources and the parent's four exports, each a bronze
# table (files as delivered) and a silver table with its quarantine.
SOURCES = (
    "customers",
    "products",
    "gross_price",
    "orders",
    "parent_customers",
    "parent_products",
    "parent_gross_price",
    "parent_fact_orders",
)
# REFERENCE_RULES.md §3: SportsBar's gold tables, then the unified model.
GOLD_DIMENSIONS = (
    "sb_dim_customers",
    "sb_dim_products",
    "sb_dim_gross_price",
    "dim_customers",
    "dim_products",
    "dim_gross_price",
    "dim_date",
)
GOLD_FACTS = ("sb_fact_orders", "fact_orders")
VIEW = "gold/vw_fact_orders_enriched"

# The README's check table, table by table (the freshness check exists in the s3 environment only).
BRONZE_CHECKS = {"files_readable", "new_columns", "not_empty", "column_schema_change"}
SILVER_CHECKS = {"keys_not_null", "key_unique", "rejected_share"}
ORDER_CHECKS = {"dates_inside_partition", "conflicting_lines"}  # silver.orders also has these
FACT_CHECKS = {
    "gold/sb_fact_orders": {"codes_resolve"},
    "gold/fact_orders": {
        "codes_resolve",
        "child_monthly_equals_daily",
        "parent_plus_child_rows",
        "unknown_customer",
        "every_product_year_priced",
    },
}
VIEW_CHECKS = {"one_row_per_fact", "priced_products_have_sales"}

CHECKS: dict[str, set[str]] = {
    **{f"bronze/{source}": BRONZE_CHECKS for source in SOURCES},
    **{f"silver/{source}": SILVER_CHECKS for source in SOURCES},
    "silver/orders": SILVER_CHECKS | ORDER_CHECKS,
    **{f"silver/{source}_rejected": {"reasons_given"} for source in SOURCES},
    **{f"gold/{dimension}": {"key_unique"} for dimension in GOLD_DIMENSIONS},
    **FACT_CHECKS,
    VIEW: VIEW_CHECKS,
}
"""Every asset of the local environment, with the names of its checks: every asset has some."""
ASSETS = set(CHECKS)
CHECK_KEYS = {(asset, check) for asset, checks in CHECKS.items() for check in checks}

# The three warnings the README names for the real dataset, about real defects of the data.
REAL_DATA_WARNINGS = {
    ("silver/orders", "conflicting_lines"),  # 16 lines: same order, day, product, customer
    ("bronze/orders", "not_empty"),  # no file for 2025-08-31 and 2025-10-31
    ("gold/vw_fact_orders_enriched", "priced_products_have_sales"),  # 8 parent products never sold
}
