import datetime as dt

import pytest

from atliqon_platform.transforms.gross_price import clean_gross_price, yearly_prices
from atliqon_platform_tests.transforms.helpers import bronze_frame

COLUMNS = "product_id,month,gross_price"


@pytest.fixture
def products(spark):
    return spark.createDataFrame([("1", "code1"), ("2", "code2")], "product_id string, product_code string")


def test_month_formats_prices_and_unknown_products(spark, products):
    bronze = bronze_frame(
        spark,
        COLUMNS,
        [
            ("1", "2025/07/01", "-84"),
            ("1", "01/08/2025", "unknown"),
            ("1", "2025-09-01", "84.5"),
            ("1", "01-10-2025", "not_available"),
            ("9", "2025-10-01", "10"),
            ("1", "July 2025", "10"),
        ],
    )
    silver, rejected = clean_gross_price(bronze, products)
    got = sorted((row.month, row.gross_price) for row in silver.collect())
    assert got == [
        (dt.date(2025, 7, 1), 84.0),
        (dt.date(2025, 8, 1), 0.0),  # dd/MM/yyyy: 01/08 is the 1st of August
        (dt.date(2025, 9, 1), 84.5),
        (dt.date(2025, 10, 1), 0.0),
    ]
    reasons = sorted(row.reject_reason for row in rejected.collect())
    assert reasons == ["unknown product_id", "unparseable month: July 2025"]


def test_yearly_price_latest_non_zero_else_latest(spark):
    rows = [
        ("code1", dt.date(2025, 7, 1), 80.0),
        ("code1", dt.date(2025, 11, 1), 83.0),
        ("code1", dt.date(2025, 12, 1), 0.0),
        ("code2", dt.date(2025, 7, 1), 0.0),
        ("code2", dt.date(2025, 8, 1), 0.0),
        ("code2", dt.date(2024, 8, 1), 12.0),
        # two product ids of one name (one code) priced for the same month: the first line's
        ("code3", dt.date(2025, 9, 1), 70.0),
        ("code3", dt.date(2025, 9, 1), 60.0),
    ]
    lines = [(*row, "gross_price.csv", line) for line, row in enumerate(rows, start=2)]
    schema = "product_code string, month date, gross_price double, file_name string, line_number long"
    for order in (lines, lines[::-1]):
        got = sorted(tuple(row) for row in yearly_prices(spark.createDataFrame(order, schema)).collect())
        assert got == [
            ("code1", 83.0, 2025),
            ("code2", 0.0, 2025),
            ("code2", 12.0, 2024),
            ("code3", 70.0, 2025),
        ]


def test_a_month_priced_twice_keeps_its_first_line_with_a_price(spark, products):
    bronze = bronze_frame(
        spark,
        COLUMNS,
        [
            ("2", "2025/11/01", "50"),
            ("2", "01/11/2025", "70"),  # the same month in another format
            ("1", "2025/11/01", "unknown"),
            ("2", "2025/12/01", "55"),
            ("1", "01-11-2025", "40"),  # a price for the month whose first line had none
        ],
    )
    silver, rejected = clean_gross_price(bronze, products)
    got = sorted((row.product_id, row.month, row.gross_price) for row in silver.collect())
    assert got == [
        ("1", dt.date(2025, 11, 1), 40.0),
        ("2", dt.date(2025, 11, 1), 50.0),
        ("2", dt.date(2025, 12, 1), 55.0),
    ]
    assert sorted((row.line_number, row.reject_reason) for row in rejected.collect()) == [
        (3, "duplicate month of product_id"),
        (4, "duplicate month of product_id"),
    ]
