"""Atliqon's monthly facts: typed, on the first day of a month, and the later file winning."""

import datetime as dt

from pyspark.sql import functions as F

from atliqon_platform.transforms.parent import parent_customers, parent_fact_orders
from atliqon_platform_tests.transforms.helpers import bronze_frame

COLUMNS = "date,product_code,customer_code,sold_quantity"
FULL_LOAD = "parent/full_load/fact_orders.csv"
INCREMENT = "parent/incremental_load/fact_orders_2026_01_01.csv"


def test_the_later_file_wins_and_every_other_line_says_why_it_is_out(spark):
    lines = {
        FULL_LOAD: [
            ("2025-11-01", "P1", "C1", "10"),
            ("2025-12-01", "P1", "C1", "20"),  # the increment corrects it
            ("2025-12-15", "P2", "C1", "5"),  # a monthly fact in the middle of a month
            ("2025-12-01", "P3", "C1", "ten"),
        ],
        INCREMENT: [
            ("2025-12-01", "P1", "C1", "25"),
            ("2026-01-01", "P1", "C1", "1"),
            ("2026-01-01", "P1", "C1", "2"),  # the same key again, later in the same file
        ],
    }
    bronze = None
    for name, rows in lines.items():
        part = bronze_frame(spark, COLUMNS, rows).withColumn("file_name", F.lit(name))
        bronze = part if bronze is None else bronze.unionByName(part)
    kept, rejected = parent_fact_orders(bronze)
    assert sorted((row.date, row.product_code, row.sold_quantity) for row in kept.collect()) == [
        (dt.date(2025, 11, 1), "P1", 10.0),
        (dt.date(2025, 12, 1), "P1", 25.0),
        (dt.date(2026, 1, 1), "P1", 2.0),
    ]
    reasons = sorted((row.file_name, row.line_number, row.reject_reason) for row in rejected.collect())
    assert reasons == [
        (FULL_LOAD, 3, "superseded by a later file with the same key"),
        (FULL_LOAD, 4, "date is not the first day of a month: 2025-12-15"),
        (FULL_LOAD, 5, "invalid sold_quantity: ten"),
        (INCREMENT, 3, "superseded by a later line of the same file with the same key"),
    ]


def test_a_parent_customer_without_a_code_is_rejected_with_its_reason(spark):
    bronze = bronze_frame(
        spark,
        "customer_code,customer,market,platform,channel",
        [("", "A", "India", "E", "Retailer"), ("70002017", "B", "India", "E", "Retailer")],
    )
    kept, rejected = parent_customers(bronze)
    assert [row.customer_code for row in kept.collect()] == ["70002017"]
    assert [row.reject_reason for row in rejected.collect()] == ["invalid customer_code: "]
