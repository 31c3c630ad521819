import datetime as dt

from atliqon_platform.transforms import unified


def test_fact_orders_sums_the_childs_days_into_months(spark):
    parent = spark.createDataFrame(
        [(dt.date(2025, 7, 1), "P", "70002017", 10.0)],
        "date date, product_code string, customer_code string, sold_quantity double",
    )
    child = spark.createDataFrame(
        [
            ("o1", dt.date(2025, 7, 1), "1", "C", "11", 5.0),
            ("o2", dt.date(2025, 7, 30), "1", "C", "11", 7.0),
            ("o3", dt.date(2025, 8, 2), "1", "C", "11", 1.0),
        ],
        "order_id string, date date, customer_code string, product_code string, product_id string, "
        "sold_quantity double",
    )
    got = sorted(tuple(row) for row in unified.fact_orders(parent, child).collect())
    assert got == [
        (dt.date(2025, 7, 1), "C", "1", 12.0),
        (dt.date(2025, 7, 1), "P", "70002017", 10.0),
        (dt.date(2025, 8, 1), "C", "1", 1.0),
    ]


def test_dim_date_columns(spark):
    rows = unified.dim_date(spark, dt.date(2024, 12, 1), dt.date(2025, 1, 1)).collect()
    assert [tuple(row) for row in rows] == [
        (dt.date(2024, 12, 1), 202412, 2024, "December", "Dec", "Q4", "2024-Q4"),
        (dt.date(2025, 1, 1), 202501, 2025, "January", "Jan", "Q1", "2025-Q1"),
    ]


def test_unknown_customer_is_a_member_once(spark):
    parent = spark.createDataFrame(
        [("70002017", "A", "India", "E-Commerce", "Retailer")],
        ", ".join(f"{name} string" for name in unified.CUSTOMER_COLUMNS),
    )
    child = spark.createDataFrame(
        [("789201", "Fitfuel", "Bengaluru", "Fitfuel-Bengaluru", "India", "Sports Bar", "Acquisition")],
        "customer_id string, customer_name string, city string, customer string, market string, "
        "platform string, channel string",
    )
    codes = sorted(row.customer_code for row in unified.dim_customers(parent, child).collect())
    assert codes == ["70002017", "789201", "999999"]


def test_an_unknown_customer_the_parent_delivers_is_not_added_again(spark):
    parent = spark.createDataFrame(
        [("999999", "Unknown", "India", "E", "Retailer")],
        ", ".join(f"{name} string" for name in unified.CUSTOMER_COLUMNS),
    )
    child = spark.createDataFrame(
        [],
        "customer_id string, customer_name string, city string, customer string, market string, "
        "platform string, channel string",
    )
    assert [row.customer_code for row in unified.dim_customers(parent, child).collect()] == ["999999"]


def test_the_view_prices_each_fact_at_its_years_price(spark):
    july_2024, july_2025 = dt.date(2024, 7, 1), dt.date(2025, 7, 1)
    facts = spark.createDataFrame(
        [(july_2024, "P", "C", 2.0), (july_2025, "P", "C", 3.0)],
        "date date, product_code string, customer_code string, sold_quantity double",
    )
    customers = spark.createDataFrame(
        [("C", "c", "India", "E", "Retailer")], ", ".join(f"{n} string" for n in unified.CUSTOMER_COLUMNS)
    )
    products = spark.createDataFrame(
        [("P", "d", "c", "p", "v")], ", ".join(f"{n} string" for n in unified.PRODUCT_COLUMNS)
    )
    prices = spark.createDataFrame(
        [("P", 10.0, 2024), ("P", 20.0, 2025)], "product_code string, price_inr double, year int"
    )
    dates = unified.dim_date(spark, july_2024, july_2025)
    view = unified.enriched_orders(facts, dates, customers, products, prices)
    assert sorted((row.year, row.price_inr, row.total_amount_inr) for row in view.collect()) == [
        (2024, 10.0, 20.0),
        (2025, 20.0, 60.0),
    ]
