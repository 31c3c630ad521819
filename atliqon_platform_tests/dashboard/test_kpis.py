"""The dashboard's figures (REFERENCE_RULES.md §5) and their formatting, on small known rows."""

import pytest

from atliqon_platform.dashboard.charts import NO_ROWS, render
from atliqon_platform.dashboard.kpis import (
    Counters,
    Filters,
    compact_number,
    counters,
    customers_by_revenue,
    filter_options,
    formatted_counters,
    monthly_revenue,
    price_vs_quantity,
    revenue_share_by_channel,
    top_by_revenue,
)
from atliqon_platform_tests.dashboard.helpers import orders, row


def test_counters_follow_the_reference_definitions():
    figures = counters(orders())
    assert figures.total_revenue == 10 * 100 + 5 * 120 + 100 * 2.5 + 40 * 50
    assert figures.total_quantity == 10 + 5 + 100 + 40 + 2
    assert figures.unique_customers == 3
    # plain mean of price_inr over the rows that have one (SQL AVG), not revenue / quantity
    assert figures.average_selling_price == pytest.approx((100 + 120 + 2.5 + 50) / 4)


def test_no_rows_give_zeros():
    assert counters(orders([])) == Counters(0.0, 0.0, 0, 0.0)
    assert formatted_counters(counters(orders([]))) == {
        "total_revenue": "0",
        "total_quantity": "0",
        "unique_customers": "0",
        "average_selling_price": "0.00",
    }


def test_filters_select_rows_on_every_set_slicer():
    frame = orders()
    assert len(Filters().apply(frame)) == 5
    assert Filters(channel="Retailer").apply(frame)["customer"].unique().tolist() == ["Alpha"]
    assert len(Filters(year=2025, channel="Retailer").apply(frame)) == 1
    assert len(Filters(year=2025, quarter="Q3", month="August").apply(frame)) == 1
    assert Filters(year=2024, channel="Acquisition").apply(frame).empty


def test_filter_options_in_natural_order():
    options = filter_options(orders())
    assert options["year"] == [2024, 2025]
    assert options["month"] == ["January", "February", "July", "August"]  # calendar, not alphabetical
    assert options["quarter"] == ["Q1", "Q3"]
    assert options["channel"] == ["Acquisition", "Direct", "Retailer"]


def test_top_by_revenue_largest_first_limited_and_nulls_named():
    frame = orders()
    top = top_by_revenue(frame, "product")
    assert top["product"].tolist() == ["Bar", "Bat", "Ball"]
    assert top["revenue"].tolist() == [2000.0, 1600.0, 250.0]
    assert top_by_revenue(frame, "product", count=2)["product"].tolist() == ["Bar", "Bat"]
    with_null = orders([row("2024-01", "A", "Retailer", "Bat", 1, 10.0, variant=None)])
    assert top_by_revenue(with_null, "variant")["variant"].tolist() == ["(none)"]


def test_revenue_share_by_channel_adds_up_to_one():
    shares = revenue_share_by_channel(orders())
    assert shares["channel"].tolist() == ["Acquisition", "Retailer", "Direct"]
    assert shares["share"].sum() == pytest.approx(1.0)


def test_monthly_trend_keeps_years_apart():
    monthly = monthly_revenue(orders())
    assert [month.strftime("%Y-%m") for month in monthly["month"]] == [
        "2024-01",
        "2024-02",
        "2025-01",
        "2025-07",
        "2025-08",
    ]
    assert monthly["revenue"].tolist() == [1000.0, 250.0, 600.0, 2000.0, 0.0]


def test_customers_by_revenue_lists_every_customer():
    customers = customers_by_revenue(orders())
    assert customers["customer"].tolist() == ["Gamma", "Alpha", "Beta"]
    assert customers["quantity"].tolist() == [42.0, 15.0, 100.0]


def test_price_vs_quantity_one_point_per_product():
    points = price_vs_quantity(orders()).set_index("product")
    assert points.loc["Bat", ["price", "quantity", "revenue"]].tolist() == [110.0, 15.0, 1600.0]
    # the Bar row without a price has no place on a price axis
    assert points.loc["Bar", ["price", "quantity"]].tolist() == [50.0, 40.0]
    assert sorted(points.index) == ["Ball", "Bar", "Bat"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (105_340_000_000, "105.34B"),
        (34_130_000, "34.13M"),
        (7_980_000_000, "7.98B"),
        (1_950_000_000, "1.95B"),
        (2_250_000, "2.25M"),
        (999_999_999, "1.00B"),  # rounds up to the next unit, not 1000.00M
        (1_500, "1.50K"),
        (2_000_000_000_000, "2.00T"),
        (-2_500_000, "-2.50M"),
        (54, "54"),
        (999.5, "999.50"),
        (999_999, "1.00M"),
        (0, "0"),
    ],
)
def test_compact_number_like_the_reference(value, text):
    assert compact_number(value) == text


def test_counters_formatted_like_the_reference():
    assert formatted_counters(Counters(105_337_000_000, 34_128_000, 54, 4043.1649)) == {
        "total_revenue": "105.34B",
        "total_quantity": "34.13M",
        "unique_customers": "54",
        "average_selling_price": "4043.16",
    }


def test_render_without_rows_gives_empty_charts_that_say_so():
    shown = render(orders([]))
    assert shown.status.startswith(NO_ROWS)
    assert set(shown.figures) == {
        "top-products",
        "channel-share",
        "monthly-trend",
        "top-variants",
        "price-quantity",
    }
    for figure in shown.figures.values():
        assert not figure.data
        assert [note.text for note in figure.layout.annotations] == [NO_ROWS]


def test_render_with_rows_plots_every_view():
    shown = render(orders())
    assert shown.counters["unique_customers"] == "3"
    assert all(figure.data for figure in shown.figures.values())
    assert str(shown.figures["monthly-trend"].data[0].x[0]).startswith("2024-01-01")  # a date axis
    bubbles, *key = shown.figures["price-quantity"].data  # the colours' key: a division each
    assert sorted(trace.name for trace in key) == sorted(orders()["division"].unique())
    assert {trace.marker.color for trace in key} == set(bubbles.marker.color)
