"""The app's pieces that need no browser: the plotly.js bundle it serves, the customers table's pages."""

import re
from pathlib import Path

from plotly.offline import get_plotlyjs_version

import atliqon_platform.dashboard
from atliqon_platform.dashboard.app import CUSTOMERS_PER_PAGE, customer_rows
from atliqon_platform_tests.dashboard.helpers import orders, row

ASSETS = Path(atliqon_platform.dashboard.__file__).parent / "assets"


def test_served_plotly_bundle_is_the_version_plotly_writes_figures_for():
    header = (ASSETS / "plotly-basic.min.js").read_text()[:200]
    assert re.search(r"plotly\.js \(basic - minified\) v(\S+)", header).group(1) == get_plotlyjs_version()


def test_customers_table_pages_are_clamped_to_range():
    many = orders(
        [row("2024-01", f"Customer {index:02}", "Retailer", "Bat", index + 1, 10.0) for index in range(23)]
    )
    first, label, page = customer_rows(many, 0)
    assert (len(first), label, page) == (CUSTOMERS_PER_PAGE, "Page 1 of 3 (23 customers)", 0)
    last, label, page = customer_rows(many, 7)
    assert (len(last), label, page) == (3, "Page 3 of 3 (23 customers)", 2)
    assert customer_rows(many, -1)[2] == 0


def test_customers_table_without_rows_says_so():
    rows, label, page = customer_rows(orders([]), 0)
    assert label == "Page 1 of 1 (0 customers)" and page == 0
    assert "No rows for these filters" in str(rows)
