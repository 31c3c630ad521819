"""The check rules on small real Spark frames: each finds the defect it is for, and nothing on clean data."""

import datetime as dt
import math

import pytest

from atliqon_platform.checks import rules

JULY, AUGUST = dt.date(2025, 7, 1), dt.date(2025, 8, 1)
CHILD = "c" * 64  # child product codes are SHA-256 digests
FACTS = "date date, product_code string, customer_code string, sold_quantity double"


@pytest.fixture
def frame(spark):
    def make(schema: str, rows: list[tuple]):
        return spark.createDataFrame(rows, schema)

    return make


def test_null_and_duplicate_keys(frame):
    table = frame("id string, other string", [("1", "a"), ("1", "b"), (None, "c"), ("2", "d")])
    assert rules.null_keys(table, ["id"]).count() == 1
    assert [row["id"] for row in rules.duplicate_keys(table, ["id"]).collect()] == ["1"]
    clean = frame("id string", [("1",), ("2",)])
    assert rules.null_keys(clean, ["id"]).count() == rules.duplicate_keys(clean, ["id"]).count() == 0


def test_codes_that_do_not_resolve(frame):
    facts = frame(FACTS, [(JULY, "P1", "C1", 1.0), (JULY, "P9", "C1", 1.0)])
    products = frame("product_code string", [("P1",)])
    assert [
        row["product_code"] for row in rules.unresolved_codes(facts, products, "product_code").collect()
    ] == ["P9"]


def test_monthly_totals_and_row_counts_against_the_daily_facts(frame):
    daily = frame(FACTS, [(dt.date(2025, 7, 2), CHILD, "9", 2.0), (dt.date(2025, 7, 9), CHILD, "9", 3.0)])
    parent = frame(FACTS, [(JULY, "P1", "C1", 7.0)])
    good = frame(FACTS, [(JULY, "P1", "C1", 7.0), (JULY, CHILD, "9", 5.0)])
    assert rules.monthly_total_mismatches(good, parent, daily).count() == 0
    assert rules.row_count_mismatches(good, parent, daily).count() == 0
    short = frame(FACTS, [(JULY, "P1", "C1", 7.0), (JULY, CHILD, "9", 4.0)])
    [month] = rules.monthly_total_mismatches(short, parent, daily).collect()
    assert (month["date"], month["daily"], month["monthly"]) == (JULY, 5.0, 4.0)
    doubled = frame(FACTS, [(JULY, "P1", "C1", 7.0), (JULY, CHILD, "9", 5.0), (JULY, CHILD, "9", 0.0)])
    [month] = rules.row_count_mismatches(doubled, parent, daily).collect()
    assert (month["fact_rows"], month["parent_rows"], month["child_rows"]) == (3, 1, 1)


def test_monthly_totals_that_differ_only_in_their_last_bits_add_up(frame):
    """Sums of fractional quantities in another order differ in their last bits: a month that adds
    up must not be held back for it, and one line more or less must still be seen."""
    daily = frame(FACTS, [(dt.date(2025, 7, 2), CHILD, "9", 12.3)] * 400)
    summed = math.fsum([12.3] * 400)
    for monthly in (math.nextafter(summed, 0.0), summed, math.nextafter(summed, math.inf)):
        written = frame(FACTS, [(JULY, CHILD, "9", monthly)])
        assert rules.monthly_total_mismatches(written, frame(FACTS, []), daily).count() == 0, monthly
    one_line_short = frame(FACTS, [(JULY, CHILD, "9", summed - 12.3)])
    assert rules.monthly_total_mismatches(one_line_short, frame(FACTS, []), daily).count() == 1


def test_prices_for_what_is_sold_and_sales_for_what_is_priced(frame):
    facts = frame(FACTS, [(JULY, "P1", "C1", 1.0), (dt.date(2024, 7, 1), "P1", "C1", 1.0)])
    prices = frame("product_code string, price_inr double, year int", [("P1", 10.0, 2025), ("P2", 5.0, 2025)])
    [missing] = rules.unpriced_product_months(facts, prices).collect()
    assert (missing["product_code"], missing["date"], missing["year"]) == ("P1", dt.date(2024, 7, 1), 2024)
    assert [row["product_code"] for row in rules.priced_products_without_sales(prices, facts).collect()] == [
        "P2"
    ]


def test_view_rows_against_fact_rows(frame):
    facts = frame(FACTS, [(JULY, "P1", "C1", 1.0), (AUGUST, "P1", "C1", 1.0)])
    keys = ["date", "product_code", "customer_code"]
    assert rules.view_row_mismatch(facts, facts, keys).count() == 0
    fanned_out = facts.unionByName(facts.limit(1))
    assert rules.view_row_mismatch(fanned_out, facts, keys).count() == 1
    assert rules.view_row_mismatch(facts.limit(1), facts, keys).count() == 1


def test_unknown_customer_counts_by_month(frame):
    facts = frame(
        FACTS, [(JULY, CHILD, "999999", 1.0), (JULY, CHILD, "1", 1.0), (AUGUST, CHILD, "999999", 1.0)]
    )
    assert rules.unknown_customer_by_month(facts) == {JULY: (2, 1), AUGUST: (1, 1)}


def test_date_rejections_and_rejected_share(frame):
    rejected = frame(
        "reject_reason string",
        [
            ("date outside the partition: 2025-07-01 in the file of 2025-07-04",),
            ("unparseable date: 31/31/2025",),
            ("null quantity",),
        ],
    )
    assert rules.date_rejections(rejected).count() == 2
    assert rules.rejected_share(3, 1) == 0.25 and rules.rejected_share(0, 0) == 0.0


def test_a_month_of_daily_facts_without_its_monthly_rows_does_not_add_up(frame):
    daily = frame(FACTS, [(dt.date(2025, 7, 2), CHILD, "9", 2.0)])
    empty = frame(FACTS, [])
    assert rules.monthly_total_mismatches(empty, empty, daily).count() == 1


def test_one_unit_missing_from_a_month_of_two_thousand_is_seen(frame):
    daily = frame(FACTS, [(dt.date(2025, 7, 2), CHILD, "9", 1.0)] * 2000)
    written = frame(FACTS, [(JULY, CHILD, "9", 1999.0)])
    assert rules.monthly_total_mismatches(written, frame(FACTS, []), daily).count() == 1
