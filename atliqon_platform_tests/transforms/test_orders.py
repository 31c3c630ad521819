import datetime as dt

from pyspark.sql import functions as F

from atliqon_platform.transforms.orders import clean_orders, conflicting_lines, sb_fact_orders
from atliqon_platform_tests.transforms.helpers import bronze_frame

COLUMNS = "order_id,order_placement_date,customer_id,product_id,order_qty"
DAY = dt.date(2025, 7, 1)


def run(spark, rows):
    products = spark.createDataFrame(
        [("11", "code11"), ("12", "code12")], "product_id string, product_code string"
    )
    return clean_orders(bronze_frame(spark, COLUMNS, rows, DAY), products)


def reasons(rejected):
    return sorted((row.line_number, row.reject_reason) for row in rejected.collect())


def test_every_date_format_and_the_weekday_is_stripped(spark):
    silver, rejected = run(
        spark,
        [
            ("A", "Tuesday, July 01, 2025", "1", "11", "1.0"),
            ("B", "2025/07/01", "1", "11", "2"),
            ("C", "01-07-2025", "1", "11", "3"),
            ("D", "01/07/2025", "1", "11", "4"),  # ambiguous: dd/MM/yyyy comes before any MM/dd
            ("E", "July 01, 2025", "1", "11", "5"),
        ],
    )
    assert rejected.count() == 0
    assert {row.order_date for row in silver.collect()} == {DAY}


def test_reasons_in_order(spark):
    silver, rejected = run(
        spark,
        [
            ("A", "2025/07/01", "1", "11", ""),
            ("A", "2025/07/01", "1", "11", "ten"),
            ("A", "31/31/2025", "1", "11", "1"),
            ("A", "2025/07/02", "1", "11", "1"),
            ("A", "2025/07/01", "1", "11", "150.0"),
            ("A", "01-07-2025", "1", "11", "150"),
            ("A", "2025/07/01", "1", "99", "1"),
            ("A", "2025/07/01", "CUST-X", "12", "1"),
        ],
    )
    assert reasons(rejected) == [
        (2, "null quantity"),
        (3, "non-numeric quantity: ten"),
        (4, "unparseable date: 31/31/2025"),
        (5, "date outside the partition: 2025-07-02 in the file of 2025-07-01"),
        (7, "duplicate line"),  # same line as 6 in another date format, 150 == 150.0
        (8, "unknown product_id"),
    ]
    kept = {row.line_number: row for row in silver.collect()}
    assert kept[6].order_qty == 150.0 and kept[6].product_code == "code11"
    assert kept[9].customer_id == "999999"


def test_malformed_rows_are_rejected_with_the_parser_message(spark):
    bronze = bronze_frame(spark, COLUMNS, [(None, None, None, None, None)], DAY).withColumn(
        "parse_error", F.lit("line 2: expected 5 fields, found 7")
    )
    products = spark.createDataFrame([], "product_id string, product_code string")
    _, rejected = clean_orders(bronze, products)
    assert reasons(rejected) == [(2, "malformed row: line 2: expected 5 fields, found 7")]


def test_conflicting_duplicate_lines_both_survive_and_are_reported(spark):
    silver, _ = run(spark, [("A", "2025/07/01", "1", "11", "5"), ("A", "2025/07/01", "1", "11", "7")])
    facts = sb_fact_orders(silver)
    assert sorted(row.sold_quantity for row in facts.collect()) == [5.0, 7.0]
    assert conflicting_lines(facts).count() == 2


def test_duplicates_of_any_quantity_are_found_without_failing(spark):
    """Quantities of any size, NaN and -0 are valid doubles: duplicates among them are found
    as among any others, and none stops the run."""
    silver, rejected = run(
        spark,
        [
            ("A", "2025/07/01", "1", "11", "1e40"),
            ("A", "2025/07/01", "1", "11", "1.0E40"),
            ("B", "2025/07/01", "1", "11", "NaN"),
            ("B", "2025/07/01", "1", "11", "NaN"),
            ("C", "2025/07/01", "1", "11", "-0"),
            ("C", "2025/07/01", "1", "11", "0"),
            ("D", "2025/07/01", "1", "11", "5"),
            ("D", "2025/07/01", "1", "11", "5.5"),
        ],
    )
    assert reasons(rejected) == [(3, "duplicate line"), (5, "duplicate line"), (7, "duplicate line")]
    assert sorted(row.line_number for row in silver.collect()) == [2, 4, 6, 8, 9]  # lines from 2


def test_lines_that_differ_in_order_or_customer_only_are_not_duplicates(spark):
    """Rule 4 deduplicates on the whole line: another order, or another customer, is another line."""
    kept, rejected = run(
        spark,
        [
            ("A", "2025/07/01", "1", "11", "5"),
            ("B", "2025/07/01", "1", "11", "5"),  # another order
            ("A", "2025/07/01", "2", "11", "5"),  # another customer
        ],
    )
    assert rejected.count() == 0
    assert sorted(row.line_number for row in kept.collect()) == [2, 3, 4]


def test_a_blank_customer_id_is_the_unknown_customer(spark):
    kept, _ = run(spark, [("A", "2025/07/01", "", "11", "5"), ("B", "2025/07/01", "  ", "11", "5")])
    assert [row.customer_id for row in kept.collect()] == ["999999", "999999"]


def test_a_repeated_line_of_an_unknown_product_is_a_duplicate_first(spark):
    _, rejected = run(spark, [("A", "2025/07/01", "1", "99", "5"), ("A", "2025/07/01", "1", "99", "5")])
    assert reasons(rejected) == [(2, "unknown product_id"), (3, "duplicate line")]


def test_lines_of_one_key_and_equal_quantity_do_not_conflict(spark):
    """Two product ids of one name share a product_code: their equal lines are no conflict."""
    facts = spark.createDataFrame(
        [("A", DAY, "1", "c", "11", 5.0), ("A", DAY, "1", "c", "13", 5.0)],
        "order_id string, date date, customer_code string, product_code string, product_id string, "
        "sold_quantity double",
    )
    assert conflicting_lines(facts).count() == 0
